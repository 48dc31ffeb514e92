"""The tamper-evident audit ledger: canonical JSON, records, the writer, recovery, verification."""

from claim_assess.ledger.checkpoints import CheckpointInfo
from claim_assess.ledger.prove import InclusionReport, prove_claim
from claim_assess.ledger.records import DecisionDraft, DecisionRecord
from claim_assess.ledger.store import FileLedger, Ledger, MemoryLedger
from claim_assess.ledger.verify import VerifyReport, verify_ledger

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
