"""The tamper-evident audit ledger: canonical JSON, records, the writer, recovery, verification."""

from ledger.checkpoints import CheckpointInfo
from ledger.prove import InclusionReport, prove_claim
from ledger.records import DecisionDraft, DecisionRecord
from ledger.store import FileLedger, Ledger, MemoryLedger
from ledger.verify import VerifyReport, verify_ledger

__all__ = [
    "CheckpointInfo",
    "DecisionDraft",
    "DecisionRecord",
    "FileLedger",
    "InclusionReport",
    "Ledger",
    "MemoryLedger",
    "VerifyReport",
    "prove_claim",
    "verify_ledger",
]
