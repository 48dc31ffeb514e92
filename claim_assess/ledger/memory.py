"""MemoryLedger: the ledger contract without files (tests, dry runs)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from claim_assess.errors import LedgerError
from claim_assess.ledger.chain import Batch, IdempotencyIndex, filter_run, plan_batch
from claim_assess.ledger.merkle import MerkleFrontier
from claim_assess.ledger.records import DecisionDraft, DecisionRecord, genesis_hash, new_ledger_id, utc_now


class MemoryLedger:
    def __init__(self, ledger_id: str | None = None, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.ledger_id = ledger_id or new_ledger_id()
        self._clock = clock
        self._records: list[DecisionRecord] = []
        self._calls: list[dict[str, Any]] = []
        self._index = IdempotencyIndex()
        self._head_hash = genesis_hash(self.ledger_id)
        self._frontier = MerkleFrontier()
        self._lock = threading.Lock()
        self._closed = False

    @property
    def height(self) -> int:
        return len(self._records)

    @property
    def head_hash(self) -> str:
        return self._head_hash

    @property
    def root(self) -> str:
        """RFC 6962 root over the decision lines so far (what a checkpoint of this tree would sign)."""
        return self._frontier.root().hex()

    @property
    def calls_count(self) -> int:
        return len(self._calls)

    def append(self, decision: DecisionDraft, calls: Sequence[Mapping[str, Any]] = ()) -> DecisionRecord:
        return self.append_many([(decision, calls)])[0]

    def append_many(self, batch: Batch) -> list[DecisionRecord]:
        with self._lock:
            if self._closed:
                raise LedgerError("ledger is closed")
            plan = plan_batch(
                batch,
                ledger_id=self.ledger_id,
                height=self.height,
                head_hash=self._head_hash,
                index=self._index,
                clock=self._clock,
            )
            self._calls.extend(plan.call_records)
            for record, line in zip(plan.new_records, plan.decision_lines):
                self._frontier.append_data(line[:-1])
                self._records.append(record)
                self._index.note(record.idempotency_key, record.seq, record.decision)
            self._head_hash = plan.head_hash
            return [r if isinstance(r, DecisionRecord) else self._records[r] for r in plan.results]

    def get(self, idempotency_key: str) -> DecisionRecord | None:
        entry = self._index.lookup(idempotency_key)
        return None if entry is None else self._records[entry[0]]

    def decisions(self, run_id: str | None = None) -> Iterator[DecisionRecord]:
        return filter_run(iter(list(self._records)), run_id)

    def calls(self) -> Iterator[dict[str, Any]]:
        """The logged call records, with record_hash (copies)."""
        return iter([dict(c) for c in self._calls])

    def close(self) -> None:
        self._closed = True
