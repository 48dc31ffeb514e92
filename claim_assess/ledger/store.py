"""The ledger contract (one Protocol), its two implementations, and how a writer process opens one.

MemoryLedger keeps everything in lists; FileLedger is the durable one. The same contract test runs
against both (tests/test_ledger_store.py), and the ``ledger`` actor takes a factory (``OpenFileLedger`` or
``MemoryLedger`` itself), so the in-memory ledger drives the actor in its contract test too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from claim_assess.ledger.checkpoints import CheckpointInfo
from claim_assess.ledger.filestore import FileLedger
from claim_assess.ledger.memory import MemoryLedger
from claim_assess.ledger.records import DecisionDraft, DecisionRecord

__all__ = ["Ledger", "MemoryLedger", "FileLedger", "OpenFileLedger"]


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

    def append_calls(self, calls: Sequence[Mapping[str, Any]]) -> int:
        """Log ``calls`` that no decision references (a claim cut short by a run-wide stop, a preflight); returns
        how many. One write and one fsync."""

    def get(self, idempotency_key: str) -> DecisionRecord | None:
        """The non-FAILED record for the key if any, else the latest FAILED one, else None."""

    def decisions(self, run_id: str | None = None) -> Iterator[DecisionRecord]:
        """Records in seq order, optionally only one run's."""

    def checkpoint(self) -> CheckpointInfo | None:
        """Sign the current tree if records follow the newest checkpoint; the newest one (None when empty)."""

    @property
    def newest_checkpoint(self) -> CheckpointInfo | None:
        """The newest signed checkpoint, None before the first."""

    def close(self) -> None:
        """Release files and the writer lock."""


@dataclass(frozen=True)
class OpenFileLedger:
    """Opens the FileLedger in ``directory`` when called: what the ledger actor is given (it is picklable,
    and a restarted actor calls it again, which runs the ledger's recovery)."""

    directory: str
    signing_key_path: str | None = None
    checkpoint_every: int = 1000

    def __call__(self) -> FileLedger:
        return FileLedger.open(self.directory, signing_key_path=self.signing_key_path,
                               checkpoint_every=self.checkpoint_every)
