"""Replaying a ledger's decisions: the same rules, on the same inputs, with the recorded LLM answers.

One pass over decisions.jsonl, a decision at a time (nothing is kept but counts and the first problems): for each,
its claim comes from the dataset (``ClaimIndex``) and must have the recorded input digest, its policy the recorded
policy digest, its cited calls come from llm_calls.jsonl (``CallLog``) and answer the rules' questions
(``RecordedAnswers``); the claim is then assessed by ``claims.pipeline.assess_claim_now`` and its draft built by
``run.outcome.decision_draft``, the functions a run uses, and compared field by field (``verdict.compare``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claim_assess.claims.decision import RULES_VERSION
from claim_assess.claims.models import Policy
from claim_assess.claims.pipeline import Assessment, assess_claim_now
from claim_assess.claims.prompts import PROMPTS_DIGEST
from claim_assess.errors import CanonicalFormError, EvidenceMissing, InvalidRecordError, LedgerError
from claim_assess.claims.dataset import ClaimEntry, DatasetSource
from claim_assess.ledger.canonical import digest
from claim_assess.ledger.filestore import DECISIONS_FILE
from claim_assess.ledger.lines import read_decision, read_decision_unchecked
from claim_assess.ledger.records import DecisionRecord
from claim_assess.replay.answers import RecordedAnswers
from claim_assess.replay.calls import CallLog
from claim_assess.replay.claims_index import ClaimIndex
from claim_assess.replay.verdict import EVIDENCE_MISSING, FAILING, REPRODUCED, RULES_CHANGED, STATUSES, Verdict, compare
from claim_assess.run.outcome import decision_draft, failed_by_engine, input_digest

MAX_LISTED = 100


@dataclass(frozen=True)
class ReplayReport:
    ok: bool
    checked: int  # decisions in scope (of the run asked for, or all)
    counts: Mapping[str, int]  # per status
    problems: tuple[Verdict, ...]  # the first MAX_LISTED that are not reproduced
    rules_version: str
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "counts": dict(self.counts),
                "rules_version": self.rules_version, "problems": [v.to_json() for v in self.problems],
                "notes": list(self.notes)}


@dataclass
class _Book:
    """The dataset's policies as the rules and the evidence checks need them."""

    dataset: DatasetSource
    claims: ClaimIndex
    calls: CallLog
    policy_digests: dict[str, str] = field(default_factory=dict)


def _entry(record: DecisionRecord, book: _Book) -> ClaimEntry:
    entry = book.claims.get(record.claim_id)
    if entry is None:
        raise EvidenceMissing(f"claim {record.claim_id} is not in the dataset")
    if input_digest(entry) != record.input_digest:
        raise EvidenceMissing(f"claim {record.claim_id}: its input digest differs from the recorded one "
                              "(the claim was changed since it was decided)")
    if record.policy_digest is not None:
        found = book.policy_digests.get(record.policy_id) if record.policy_id else None
        if found is None:
            raise EvidenceMissing(f"policy {record.policy_id} is not in the dataset")
        if found != record.policy_digest:
            raise EvidenceMissing(f"policy {record.policy_id}: its digest differs from the recorded one "
                                  "(the policy was changed since)")
    return entry


def assess_with(entry: ClaimEntry, policies: Mapping[str, Policy], policy_errors: Mapping[str, str],
                answers: Callable[..., Any]) -> Assessment:
    """The rules on ``entry`` with recorded ``answers``; EvidenceMissing (an answer that is not there) goes up."""
    try:
        return assess_claim_now(entry, policies, policy_errors, answers)
    except EvidenceMissing:
        raise
    except Exception as exc:  # as the assessor does: a bug in the rules costs the claim (FAILED), not the run
        return failed_by_engine(entry, f"internal error: {type(exc).__name__}: {exc}")


def replay_decision(record: DecisionRecord, book: _Book) -> Verdict:
    recorded_rules = record.versions.get("rules")
    if recorded_rules != RULES_VERSION:
        return Verdict(record.seq, record.run_id, record.claim_id, RULES_CHANGED,
                       message=f"decided under rules {recorded_rules}, the rules now are {RULES_VERSION}")
    try:
        entry = _entry(record, book)
        answers = RecordedAnswers(book.calls.cited(record.llm_calls))
        assessment = assess_with(entry, book.dataset.policies, book.dataset.policy_errors, answers)
    except EvidenceMissing as exc:
        message = str(exc)
        if "another request" in message and record.versions.get("prompts") != PROMPTS_DIGEST:
            message += " (the prompts changed since the decision was made)"
        return Verdict(record.seq, record.run_id, record.claim_id, EVIDENCE_MISSING, message=message)
    policy_digest = book.policy_digests.get(assessment.policy_id) if assessment.policy_id else None
    # _entry found the claim's digest equal to the recorded one: the draft need not compute it a second time
    draft = decision_draft(record.run_id, record.actor, record.versions.get("model"), entry, assessment,
                           policy_digest, known_input_digest=record.input_digest)
    return compare(record, draft, answers.asked)


def read_decisions(path: Path, run_id: str | None, *, checked: bool = True):
    """(seq position, record or Verdict for an unreadable line, or None when not of ``run_id``) per line.

    ``checked``: each record's canonical form and record_hash are checked (replay); what-if, which vouches for
    nothing, reads the records' fields only (``ledger.lines.read_decision_unchecked``)."""
    read = read_decision if checked else read_decision_unchecked
    needle = None if run_id is None else b'"run_id":"' + run_id.encode("utf-8") + b'"'
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise LedgerError(f"cannot read {path}: {exc}") from exc
    with f:
        for position, raw in enumerate(f):
            if needle is not None and needle not in raw:
                yield position, None
                continue
            try:
                yield position, read(raw)
            except (CanonicalFormError, InvalidRecordError) as exc:
                yield position, Verdict(position, None, None, EVIDENCE_MISSING,
                                        message=f"the record cannot be read ({exc}); run verify")


def replay_ledger(ledger_dir: str | Path, dataset: DatasetSource, *, run_id: str | None = None,
                  on_record: Callable[[Verdict | None], None] = lambda verdict: None) -> ReplayReport:
    """Replay every decision of ``run_id`` (or all); I/O problems raise LedgerError / DatasetError.

    ``on_record`` is told of every line read: its verdict, or None for a decision of another run."""
    directory = Path(ledger_dir)
    if not (directory / DECISIONS_FILE).is_file():
        raise LedgerError(f"no ledger at {directory}: {DECISIONS_FILE} is missing")
    counts = dict.fromkeys(STATUSES, 0)
    problems: list[Verdict] = []
    claims, calls = ClaimIndex(dataset), CallLog(directory)
    book = _Book(dataset, claims, calls, {pid: digest(raw) for pid, raw in dataset.raw_policies.items()})
    try:
        for _, item in read_decisions(directory / DECISIONS_FILE, run_id):
            verdict = item if isinstance(item, Verdict) or item is None else replay_decision(item, book)
            if verdict is not None:
                counts[verdict.status] += 1
                if verdict.status != REPRODUCED and len(problems) < MAX_LISTED:
                    problems.append(verdict)
            on_record(verdict)
    finally:
        claims.close()
        calls.close()
    return _report(counts, problems, run_id)


def _report(counts: dict[str, int], problems: list[Verdict], run_id: str | None) -> ReplayReport:
    checked = sum(counts.values())
    notes = []
    if checked == 0:
        notes.append(f"no decision of run {run_id} in the ledger" if run_id else "the ledger holds no decision")
    unlisted = sum(counts[s] for s in STATUSES if s != REPRODUCED) - len(problems)
    if unlisted > 0:
        notes.append(f"{unlisted} more decisions not reproduced are not listed")
    if counts[RULES_CHANGED]:
        notes.append(f"{counts[RULES_CHANGED]} decisions were made under other rules than {RULES_VERSION}: not "
                     "replayed (rules changed, which is not tampering)")
    ok = checked > 0 and not any(counts[s] for s in FAILING)
    return ReplayReport(ok, checked, counts, tuple(problems), RULES_VERSION, tuple(notes))
