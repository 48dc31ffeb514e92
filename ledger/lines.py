"""Reading ledger lines one at a time: shared by recovery on start and by verify.

Failures come in two kinds, and the difference matters on the last line of a file:
- CanonicalFormError: the bytes do not parse, are not canonical, or do not match their own
  record_hash (or lack the final newline). On the last line this is what a torn write looks like.
- InvalidRecordError: the bytes are a well-formed, self-consistent record of the wrong shape.
  No crash produces that, so it is corruption wherever it appears.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from claim_assess.errors import CanonicalFormError, InvalidRecordError
from ledger.canonical import parse_canonical_hashed
from ledger.records import CALL_SCHEMA, DecisionRecord


def iter_lines(f: IO[bytes]) -> Iterator[tuple[int, int, bytes, bool]]:
    """(line number from 1, byte offset, raw line with its newline if any, is_last) per line."""
    previous: tuple[int, int, bytes] | None = None
    offset = 0
    number = 0
    for raw in f:
        if previous is not None:
            yield (*previous, False)
        number += 1
        previous = (number, offset, raw)
        offset += len(raw)
    if previous is not None:
        yield (*previous, True)


def _parse_hashed(raw: bytes) -> dict[str, Any]:
    if not raw.endswith(b"\n"):
        raise CanonicalFormError("line has no terminating newline")
    value, computed = parse_canonical_hashed(raw)
    stored = value.get("record_hash")
    if not isinstance(stored, str):
        raise CanonicalFormError("record has no record_hash string to check")
    if computed != stored:
        raise CanonicalFormError("record_hash does not match the record's canonical bytes")
    return value


def read_decision(raw: bytes) -> DecisionRecord:
    """One decisions.jsonl line -> record, checking canonical form, record_hash and shape."""
    return DecisionRecord.from_json(_parse_hashed(raw))


def read_call(raw: bytes) -> dict[str, Any]:
    """One llm_calls.jsonl line -> record, checking canonical form, record_hash and schema."""
    value = _parse_hashed(raw)
    if value.get("schema") != CALL_SCHEMA:
        raise InvalidRecordError(f"schema is {value.get('schema')!r}, not {CALL_SCHEMA!r}")
    if not isinstance(value.get("call_id"), str):
        raise InvalidRecordError("call record has no call_id string")
    return value
