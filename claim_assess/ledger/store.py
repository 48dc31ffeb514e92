"""The ledger contract (one Protocol) and its two implementations.

MemoryLedger keeps everything in lists; FileLedger is the durable one. The same contract test runs
against both (tests/test_ledger_store.py), so the actor can be tested with either.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from claim_assess.ledger.filestore import FileLedger
from claim_assess.ledger.memory import MemoryLedger
from claim_assess.ledger.records import DecisionDraft, DecisionRecord

__all__ = ["Ledger", "MemoryLedger", "FileLedger"]


@runtime_checkable
class Ledger(Protocol):
    ledger_id: str

    @property
    def height(self) -> int:
        """Number of decision records."""

    @property
    def head_hash(self) -> str:
        """record_hash of the last record (the genesis hash when empty)."""

    @property
    def root(self) -> str:
        """RFC 6962 Merkle root over the decision lines (hex); SHA-256 of b"" when empty."""

    def append(self, decision: DecisionDraft, calls: Sequence[Mapping[str, Any]] = ()) -> DecisionRecord:
        """Log ``calls`` (record_hash added), then chain the decision; idempotent per key."""

    def append_many(
        self, batch: Sequence[tuple[DecisionDraft, Sequence[Mapping[str, Any]]]]
    ) -> list[DecisionRecord]:
        """append() for many at once: one write and one fsync per file (group commit)."""

    def get(self, idempotency_key: str) -> DecisionRecord | None:
        """The non-FAILED record for the key if any, else the latest FAILED one, else None."""

    def decisions(self, run_id: str | None = None) -> Iterator[DecisionRecord]:
        """Records in seq order, optionally only one run's."""

    def close(self) -> None:
        """Release files and the writer lock."""
