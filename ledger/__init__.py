"""The tamper-evident audit ledger: canonical JSON, records, the writer, recovery, verification."""

from ledger.records import DecisionDraft, DecisionRecord
from ledger.store import FileLedger, Ledger, MemoryLedger
from ledger.verify import VerifyReport, verify_ledger

__all__ = ["DecisionDraft", "DecisionRecord", "FileLedger", "Ledger", "MemoryLedger", "VerifyReport", "verify_ledger"]
