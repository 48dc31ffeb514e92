"""The pure part of appending: turn a batch of drafts into chained records, no I/O.

Both ledgers plan a batch here, then persist it their own way (a list, or one write + one fsync
per file), then commit the plan to their in-memory state. Planning first means a bad record in a
batch rejects the whole batch before any byte is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from claim_assess.errors import InvalidRecordError
from claim_assess.ledger.records import (
    FAILED,
    CallRef,
    DecisionDraft,
    DecisionRecord,
    format_timestamp,
    hashed_call,
    make_decision,
)

Batch = Sequence[tuple[DecisionDraft, Sequence[Mapping[str, Any]]]]


class IdempotencyIndex:
    """idempotency_key -> (seq, decision) of the record ``get`` should return.

    A non-FAILED record, once present, pins the key; otherwise the latest FAILED one is kept.
    Two small values per key keep a restarted writer's memory flat however long the ledger is.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, str]] = {}

    def note(self, key: str, seq: int, decision: str) -> None:
        current = self._entries.get(key)
        if current is not None and current[1] != FAILED:
            return
        self._entries[key] = (seq, decision)

    def lookup(self, key: str) -> tuple[int, str] | None:
        return self._entries.get(key)

    def __len__(self) -> int:
        return len(self._entries)

    def snapshot(self) -> dict[str, tuple[int, str]]:
        return dict(self._entries)


@dataclass(frozen=True)
class BatchPlan:
    call_records: tuple[dict[str, Any], ...]  # with record_hash, in write order
    call_lines: tuple[bytes, ...]
    new_records: tuple[DecisionRecord, ...]  # records to append, in seq order
    decision_lines: tuple[bytes, ...]
    results: tuple[DecisionRecord | int, ...]  # per batch entry: a new record, or the seq of an existing one
    head_hash: str


def plan_batch(
    batch: Batch,
    *,
    ledger_id: str,
    height: int,
    head_hash: str,
    index: IdempotencyIndex,
    clock: Callable[[], datetime],
) -> BatchPlan:
    """Chain ``batch`` after (height, head_hash); raises InvalidRecordError before anything is written."""
    call_records: list[dict[str, Any]] = []
    call_lines: list[bytes] = []
    decision_lines: list[bytes] = []
    seen_calls: set[str] = set()
    new_records: list[DecisionRecord] = []
    results: list[DecisionRecord | int] = []
    pending: dict[str, DecisionRecord] = {}  # keys pinned by a non-FAILED record in this batch
    created_at = format_timestamp(clock())
    for draft, calls in batch:
        if not isinstance(draft, DecisionDraft):
            raise InvalidRecordError(f"expected a DecisionDraft, got {type(draft).__name__}")
        refs = []
        for call in calls:
            logged, line = hashed_call(call)
            call_id, call_hash = logged["call_id"], logged["record_hash"]
            call_records.append(logged)
            if call_id in seen_calls:
                raise InvalidRecordError(f"call_id {call_id} appears twice in one batch")
            seen_calls.add(call_id)
            call_lines.append(line)
            refs.append(CallRef(call_id, call_hash))
        key = draft.idempotency_key
        if key in pending:
            results.append(pending[key])
            continue
        existing = index.lookup(key)
        if existing is not None and existing[1] != FAILED:
            results.append(existing[0])
            continue
        record, line = make_decision(
            draft,
            ledger_id=ledger_id,
            seq=height + len(new_records),
            previous_hash=head_hash,
            created_at=created_at,
            calls=tuple(refs),
        )
        head_hash = record.record_hash
        new_records.append(record)
        decision_lines.append(line)
        results.append(record)
        if record.decision != FAILED:
            pending[key] = record
    return BatchPlan(
        tuple(call_records), tuple(call_lines), tuple(new_records), tuple(decision_lines), tuple(results), head_hash
    )


def plan_calls(calls: Sequence[Mapping[str, Any]]) -> tuple[tuple[dict[str, Any], ...], tuple[bytes, ...]]:
    """Hashed records and lines of LLM calls that no decision references (a claim cut short by a run-wide stop,
    a preflight); raises InvalidRecordError before anything is written."""
    records, lines, seen = [], [], set()
    for call in calls:
        logged, line = hashed_call(call)
        if logged["call_id"] in seen:
            raise InvalidRecordError(f"call_id {logged['call_id']} appears twice in one batch")
        seen.add(logged["call_id"])
        records.append(logged)
        lines.append(line)
    return tuple(records), tuple(lines)


def filter_run(records: Iterator[DecisionRecord], run_id: str | None) -> Iterator[DecisionRecord]:
    for record in records:
        if run_id is None or record.run_id == run_id:
            yield record
