"""What-if over one run: its decisions read from the ledger one at a time, each decided again under new terms.

The same streaming as replay (``replay.replay.read_decisions`` for the decisions, ``ClaimIndex`` for the claims by
id, ``CallLog`` for the cited calls, all read-only), the same rules (``replay.replay.assess_with``), and an advisor
that never calls out (``replay.answers.AssumedAnswers``). Nothing is written to the ledger: the files are opened
for reading only, and the claims' spool is a temporary directory elsewhere.

The records are read for their fields, without re-deriving each one's canonical form and hash (a quarter of the
time on 20,000 claims): a what-if vouches for nothing, ``claim-assess verify`` is what proves the ledger intact. A
cited call must still carry the record_hash its decision cites.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from claim_assess.claims.dataset import DatasetSource
from claim_assess.errors import LedgerError
from claim_assess.ledger.canonical import digest
from claim_assess.ledger.filestore import DECISIONS_FILE
from claim_assess.replay.calls import CallLog
from claim_assess.replay.claims_index import ClaimIndex
from claim_assess.replay.replay import read_decisions
from claim_assess.replay.verdict import Verdict
from claim_assess.whatif.claim import NOT_COMPARABLE, ClaimChange, Evidence, Terms, gather
from claim_assess.whatif.report import WhatIfReport, build_report
from claim_assess.whatif.tally import ZERO, Tally
from claim_assess.whatif.terms import PolicyBook, dataset_book
from claim_assess.whatif.workers import decided


def what_if(ledger_dir: str | Path, dataset: DatasetSource, run_id: str, *, book: PolicyBook | None = None,
            policies_file: str | None = None, changed_dataset: bool = False, jobs: int = 1,
            on_record: Callable[[], None] = lambda: None) -> WhatIfReport:
    """Every decision of ``run_id`` decided again under ``book`` (default: the dataset's own policies), in ``jobs``
    processes (``workers``).

    ``changed_dataset``: the dataset was named on purpose, so a claim or policy that differs from the decided one
    is compared (and counted as changed) instead of set aside. I/O problems raise LedgerError / DatasetError."""
    directory = Path(ledger_dir)
    if not (directory / DECISIONS_FILE).is_file():
        raise LedgerError(f"no ledger at {directory}: {DECISIONS_FILE} is missing")
    book = book or dataset_book(dataset)
    terms = Terms(book, {pid: digest(raw) for pid, raw in dataset.raw_policies.items()}, changed_dataset)
    tally = Tally()
    claims, calls = ClaimIndex(dataset), CallLog(directory, checked=False)
    try:
        for change in decided(_gathered(directory, run_id, claims, calls), terms, jobs):
            tally.add(change)
            on_record()
    finally:
        claims.close()
        calls.close()
    notes = () if sum(tally.claims.values()) else (f"no decision of run {run_id} in the ledger",)
    return build_report(tally, run_id=run_id, ledger=str(directory), input=str(dataset.root),
                        policies=policies_file, changed_policies=book.changed, notes=notes)


def _gathered(directory: Path, run_id: str, claims: ClaimIndex, calls: CallLog) -> Iterator[Evidence | ClaimChange]:
    for _, item in read_decisions(directory / DECISIONS_FILE, run_id, checked=False):
        if item is None:
            continue  # another run's decision
        yield _unreadable(item) if isinstance(item, Verdict) else gather(item, claims, calls)


def _unreadable(verdict: Verdict) -> ClaimChange:
    return ClaimChange(verdict.seq, None, None, None, NOT_COMPARABLE, "?", ZERO, reason=verdict.message)
