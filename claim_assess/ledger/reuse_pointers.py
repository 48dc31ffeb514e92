"""Verify's check of ``reused_from``: a call answered from an earlier record must name a record that is there.

A reused answer's own record is cited by its decision like any call (and checked like one); its ``reused_from``
pointer is what keeps the trail complete: the answer was received once, by the call it names. So that call must be
in llm_calls.jsonl, intact, with the record_hash the pointer holds. A pointer to nothing (the original deleted or
rewritten, or a pointer made up) is a verification failure.

The pointers are collected while verify reads the file anyway, and resolved in one more streaming pass at the end,
only when there are any: the original of a reuse usually lies in another run, far from where the merge walk is.
Memory: one small entry per reused record (not per call); a line is parsed in that pass only when its call_id is
pointed to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import IO, Any

from claim_assess.errors import CanonicalFormError
from claim_assess.ledger.canonical import parse_sealed
from claim_assess.ledger.records import REUSED_FROM, is_call_pointer

# The first "call_id" member of a canonical call line is the top-level one: only "attempt" (an int) sorts before it.
_CALL_ID = re.compile(rb'"call_id":"(call_[0-9a-f]{16})"')
Report = Callable[[str, str], None]  # (where, what is wrong)


class ReusePointers:
    def __init__(self, report: Report, calls_file: str) -> None:
        self._report = report
        self._file = calls_file
        self._wanted: dict[str, list[tuple[str, str, str]]] = {}  # pointed call_id -> [(record_hash, where, by)]

    def __len__(self) -> int:
        return sum(map(len, self._wanted.values()))

    def seen(self, where: str, record: Mapping[str, Any]) -> None:
        """An intact call record was read: remember its pointer, if it has one."""
        if REUSED_FROM not in record:
            return
        pointer = record[REUSED_FROM]
        if not is_call_pointer(pointer):
            self._report(where, f"{REUSED_FROM} of {record.get('call_id')} is not a {{call_id, record_hash}} pointer")
            return
        self._wanted.setdefault(pointer["call_id"], []).append((pointer["record_hash"], where, record["call_id"]))

    def resolve(self, f: IO[bytes]) -> None:
        """One pass over llm_calls.jsonl: every pointer must find its record, intact, with its hash."""
        if not self._wanted:
            return
        f.seek(0)
        found: dict[str, str | None] = {}  # call_id -> its record_hash (None: the record is damaged)
        for raw in f:
            match = _CALL_ID.search(raw)
            if match is None or match.group(1).decode("ascii") not in self._wanted:
                continue
            try:
                value, computed = parse_sealed(raw, "request")
            except CanonicalFormError:
                continue
            call_id = value.get("call_id")
            if call_id in self._wanted and call_id not in found:
                found[call_id] = value.get("record_hash") if computed == value.get("record_hash") else None
        for call_id, wanted in self._wanted.items():
            for record_hash, where, by in wanted:
                self._check(call_id, record_hash, found.get(call_id, ""), where, by)

    def _check(self, call_id: str, record_hash: str, have: str | None, where: str, by: str) -> None:
        named = f"{by} was answered from {call_id} ({REUSED_FROM})"
        if have == "":
            self._report(where, f"{named}, which has no record in {self._file} (a dangling pointer)")
        elif have is None:
            self._report(where, f"{named}, whose record in {self._file} is damaged")
        elif have != record_hash:
            self._report(where, f"{named}, but that record's record_hash differs from the pointer's "
                                "(the original call record was changed)")
