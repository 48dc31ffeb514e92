"""Offline verification of a ledger directory (spec §6), streaming.

verify_ledger reads llm_calls.jsonl once (keeping only call_id -> record_hash), then streams
decisions.jsonl through a list of checkers. Each checker sees every line's position, raw bytes and
parsed record (None when the line is unreadable), so checks that need more state (checkpoints,
Merkle roots over line bytes) are added as further checkers without touching the loop.

Positions: line i of decisions.jsonl (from 0) is where seq i belongs. A problem is reported at the
position where the file stops being an intact chain, so every record before ``first_bad_seq`` forms
a valid chain from genesis. A record rewritten with its record_hash recomputed is therefore caught
at the NEXT position (whose previous_hash no longer matches) — a plain chain cannot tell more;
signed checkpoints (a later issue) close that gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from claim_assess.errors import CanonicalFormError, InvalidRecordError, LedgerError
from ledger.canonical import parse_canonical, parse_canonical_hashed
from ledger.filestore import CALLS_FILE, DECISIONS_FILE, META_FILE
from ledger.lines import iter_lines, read_decision
from ledger.records import CALL_SCHEMA, FAILED, DecisionRecord, credential_key_path, genesis_hash

MAX_LISTED_PROBLEMS = 100


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    decisions: int
    llm_calls: int
    problems: tuple[tuple[str, str], ...]  # (where, what), first problem first
    first_bad_seq: int | None
    unanchored: int  # decision records after the last checkpoint
    checkpoints: int = 0
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "decisions": self.decisions,
            "llm_calls": self.llm_calls,
            "problems": [{"where": w, "message": m} for w, m in self.problems],
            "first_bad_seq": self.first_bad_seq,
            "unanchored": self.unanchored,
            "checkpoints": self.checkpoints,
            "notes": list(self.notes),
        }


class DecisionCheck(Protocol):
    """One check over the stream of decision lines."""

    def check(self, position: int, raw: bytes, record: DecisionRecord | None) -> Iterable[str]:
        """Problems with the line at ``position`` (record is None if the line could not be read)."""

    def finish(self, lines: int) -> Iterable[tuple[str, str]]:
        """Problems visible only at the end, as (where, message)."""


class ChainCheck:
    """Contiguous seq, this ledger's id, and previous_hash links from genesis."""

    def __init__(self, ledger_id: str | None) -> None:
        self._ledger_id = ledger_id
        self._expected_seq = 0
        self._previous: str | None = genesis_hash(ledger_id) if ledger_id else None

    def check(self, position: int, raw: bytes, record: DecisionRecord | None) -> Iterable[str]:
        if record is None:
            self._expected_seq += 1
            self._previous = None  # unknown: the unreadable line was already reported
            return []
        problems = []
        expected = self._expected_seq
        if record.seq > expected:
            missing = f"seq {expected}" if record.seq == expected + 1 else f"seq {expected}..{record.seq - 1}"
            problems.append(f"holds seq {record.seq} where seq {expected} belongs ({missing} missing or moved)")
        elif record.seq < expected:
            problems.append(f"holds seq {record.seq} where seq {expected} belongs (out of order or repeated)")
        elif self._previous is not None and record.previous_hash != self._previous:
            if record.seq == 0:
                problems.append("previous_hash is not this ledger's genesis hash")
            else:
                before = record.seq - 1
                problems.append(
                    f"previous_hash does not match record_hash of seq {before} "
                    f"(seq {before} or seq {record.seq} was altered)"
                )
        if self._ledger_id is not None and record.ledger_id != self._ledger_id:
            problems.append(f"ledger_id {record.ledger_id} is not this ledger's {self._ledger_id}")
        # follow the highest seq seen, so one missing or moved record is one or two problems,
        # not one per later line
        if record.seq >= expected:
            self._expected_seq = record.seq + 1
            self._previous = record.record_hash
        return problems

    def finish(self, lines: int) -> Iterable[tuple[str, str]]:
        return []


class CallRefCheck:
    """Every llm_calls entry of a decision exists in llm_calls.jsonl with the same record_hash."""

    def __init__(self, calls: dict[str, tuple[str | None, int]]) -> None:
        self._calls = calls  # call_id -> (record_hash, or None if that record is itself bad; line)

    def check(self, position: int, raw: bytes, record: DecisionRecord | None) -> Iterable[str]:
        if record is None:
            return []
        problems = []
        for ref in record.llm_calls:
            found = self._calls.get(ref.call_id)
            if found is None:
                problems.append(f"llm_calls entry {ref.call_id} has no record in {CALLS_FILE}")
            elif found[0] is None:
                problems.append(f"llm_calls entry {ref.call_id}: its record ({CALLS_FILE} line {found[1]}) is damaged")
            elif found[0] != ref.record_hash:
                problems.append(
                    f"llm_calls entry {ref.call_id}: record_hash differs from {CALLS_FILE} line {found[1]} "
                    "(the call record was changed)"
                )
        return problems

    def finish(self, lines: int) -> Iterable[tuple[str, str]]:
        return []


class SingleDecisionCheck:
    """At most one non-FAILED decision per idempotency_key."""

    def __init__(self) -> None:
        self._decided: dict[str, int] = {}

    def check(self, position: int, raw: bytes, record: DecisionRecord | None) -> Iterable[str]:
        if record is None or record.decision == FAILED:
            return []
        first = self._decided.setdefault(record.idempotency_key, record.seq)
        if first != record.seq:
            return [f"second non-FAILED decision for {record.idempotency_key} (the first is seq {first})"]
        return []

    def finish(self, lines: int) -> Iterable[tuple[str, str]]:
        return []


class _Problems:
    def __init__(self) -> None:
        self.listed: list[tuple[str, str]] = []
        self.total = 0
        self.first_bad_seq: int | None = None

    def add(self, where: str, message: str, position: int | None = None) -> None:
        self.total += 1
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            self.listed.append((where, message))
        if position is not None and (self.first_bad_seq is None or position < self.first_bad_seq):
            self.first_bad_seq = position


def _read_ledger_id(directory: Path, problems: _Problems) -> str | None:
    path = directory / META_FILE
    try:
        meta = parse_canonical(path.read_bytes())
    except FileNotFoundError as exc:
        raise LedgerError(f"{directory} is not a ledger: {META_FILE} is missing") from exc
    except OSError as exc:
        raise LedgerError(f"cannot read {path}: {exc}") from exc
    except CanonicalFormError as exc:
        problems.add(META_FILE, str(exc))
        return None
    ledger_id = meta.get("ledger_id")
    if not isinstance(ledger_id, str) or len(ledger_id) != 32:
        problems.add(META_FILE, "has no 32-hex ledger_id")
        return None
    return ledger_id


def _open(path: Path, problems: _Problems):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        problems.add(path.name, "file is missing")
        return None
    except OSError as exc:
        raise LedgerError(f"cannot read {path}: {exc}") from exc


def _index_calls(directory: Path, problems: _Problems) -> tuple[dict[str, tuple[str | None, int]], int]:
    index: dict[str, tuple[str | None, int]] = {}
    count = 0
    f = _open(directory / CALLS_FILE, problems)
    if f is None:
        return index, 0
    with f:
        for number, _offset, raw, last in iter_lines(f):
            count += 1
            where = f"{CALLS_FILE} line {number}"
            if not raw.endswith(b"\n"):
                problems.add(where, "last line has no newline (a torn write; the writer sets it aside on start)")
            try:
                value, computed = parse_canonical_hashed(raw)
            except CanonicalFormError as exc:
                problems.add(where, str(exc))
                continue
            call_id, stored = value.get("call_id"), value.get("record_hash")
            if value.get("schema") != CALL_SCHEMA or not isinstance(call_id, str) or not isinstance(stored, str):
                problems.add(where, f"not an {CALL_SCHEMA} record with call_id and record_hash")
                continue
            good = computed == stored
            secret = credential_key_path(value)
            if secret is not None:
                problems.add(where, f"call record holds a credential-like key {secret}")
            if not good:
                problems.add(where, f"record_hash of {call_id} does not match the record (it was changed)")
            previous = index.get(call_id)
            if previous is None:
                index[call_id] = (stored if good else None, number)
            elif previous[0] is not None and (not good or previous[0] != stored):
                # a re-logged identical record is harmless (a retried append); anything else is not
                if good:
                    problems.add(where, f"call_id {call_id} already appears at line {previous[1]} with other content")
                index[call_id] = (None, number)
    return index, count


def verify_ledger(directory: str | Path) -> VerifyReport:
    """Check a ledger directory; integrity problems go in the report, I/O problems raise LedgerError."""
    directory = Path(directory)
    if not directory.is_dir():
        raise LedgerError(f"no ledger directory at {directory}")
    problems = _Problems()
    ledger_id = _read_ledger_id(directory, problems)
    calls, call_count = _index_calls(directory, problems)
    checks: list[DecisionCheck] = [ChainCheck(ledger_id), CallRefCheck(calls), SingleDecisionCheck()]
    lines = 0
    f = _open(directory / DECISIONS_FILE, problems)
    if f is not None:
        with f:
            for number, _offset, raw, _last in iter_lines(f):
                position = number - 1
                lines += 1
                record: DecisionRecord | None = None
                try:
                    record = read_decision(raw)
                except (CanonicalFormError, InvalidRecordError) as exc:
                    problems.add(f"{DECISIONS_FILE} seq {position} (line {number})", str(exc), position)
                if record is None or record.seq == position:
                    where = f"{DECISIONS_FILE} seq {position}"
                else:
                    where = f"{DECISIONS_FILE} line {number}"  # the line holds another seq: name both
                for check in checks:
                    for message in check.check(position, raw, record):
                        problems.add(where, message, position)
    for check in checks:
        for where, message in check.finish(lines):
            problems.add(where, message)
    notes = ["no checkpoints yet: checkpoints are not written by this version, so no record is anchored"]
    if problems.total > len(problems.listed):
        notes.append(f"{problems.total - len(problems.listed)} more problems not listed")
    return VerifyReport(
        ok=problems.total == 0,
        decisions=lines,
        llm_calls=call_count,
        problems=tuple(problems.listed),
        first_bad_seq=problems.first_bad_seq,
        unanchored=lines,
        checkpoints=0,
        notes=tuple(notes),
    )
