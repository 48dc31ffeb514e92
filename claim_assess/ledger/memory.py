"""MemoryLedger: the ledger contract without files (tests, dry runs).

Its checkpoints are signed with a key made for it and kept in memory: the same Merkle root and signature as a
FileLedger's, so a contract test can compare the two; nothing of it outlives the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from claim_assess.errors import LedgerError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from claim_assess.ledger.chain import Batch, IdempotencyIndex, filter_run, plan_batch, plan_calls
from claim_assess.ledger.checkpoints import Checkpoint, CheckpointInfo, make_checkpoint
from claim_assess.ledger.keys import SigningKey, key_id_of
from claim_assess.ledger.merkle import MerkleFrontier
from claim_assess.ledger.records import (
    DecisionDraft,
    DecisionRecord,
    format_timestamp,
    genesis_hash,
    new_ledger_id,
    utc_now,
)


IN_MEMORY = "(in memory)"


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
        private = Ed25519PrivateKey.generate()
        self._key = SigningKey(private, key_id_of(private.public_key()), Path(IN_MEMORY))
        self.checkpoints: list[Checkpoint] = []

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

    def append_calls(self, calls: Sequence[Mapping[str, Any]]) -> int:
        records, _ = plan_calls(calls)
        with self._lock:
            if self._closed:
                raise LedgerError("ledger is closed")
            self._calls.extend(records)
        return len(records)

    def get(self, idempotency_key: str) -> DecisionRecord | None:
        entry = self._index.lookup(idempotency_key)
        return None if entry is None else self._records[entry[0]]

    def decisions(self, run_id: str | None = None) -> Iterator[DecisionRecord]:
        return filter_run(iter(list(self._records)), run_id)

    def calls(self) -> Iterator[dict[str, Any]]:
        """The logged call records, with record_hash (copies)."""
        return iter([dict(c) for c in self._calls])

    def checkpoint(self) -> CheckpointInfo | None:
        with self._lock:
            if not self._records:
                return None
            newest = self.checkpoints[-1] if self.checkpoints else None
            if newest is None or newest.tree_size < len(self._records):
                self.checkpoints.append(make_checkpoint(
                    self._key, ledger_id=self.ledger_id, tree_size=len(self._records), root=self.root,
                    head_hash=self._head_hash, created_at=format_timestamp(self._clock())))
            return self.newest_checkpoint

    @property
    def newest_checkpoint(self) -> CheckpointInfo | None:
        return self.checkpoints[-1].info(IN_MEMORY, IN_MEMORY) if self.checkpoints else None

    def close(self) -> None:
        self._closed = True
