"""One recorded decision decided again under the what-if's terms: what it was, what it becomes, and how sure that is.

``EXACT``: every question the rules asked was answered by a recorded call that sent exactly that request, so the
new decision is what the run would have decided under the new terms. ``APPROXIMATE``: some request differs (the
assessment prompt shows the payout, the coverage prompt the policy's terms) and its recorded answer was assumed to
hold. ``NEEDS_NEW_CALLS``: a question no recorded call answers (the claim is kept out of the comparison: only the
model could say). ``NOT_COMPARABLE``: the claim is not in the dataset, or was changed since the run when the run's
own dataset is used, or its policy was, or a cited call is missing, or the decision was made under other rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from claim_assess.claims.dataset import ClaimEntry
from claim_assess.claims.decision import RULES_VERSION
from claim_assess.errors import EvidenceMissing
from claim_assess.ledger.records import DecisionRecord
from claim_assess.replay.answers import ASSUMED, NEEDS_NEW_CALL, AskedQuestion, AssumedAnswers
from claim_assess.replay.calls import CallLog
from claim_assess.replay.claims_index import ClaimIndex
from claim_assess.replay.replay import assess_with
from claim_assess.run.outcome import input_digest
from claim_assess.whatif.terms import PolicyBook

EXACT, APPROXIMATE, NEEDS_NEW_CALLS, NOT_COMPARABLE = "exact", "approximate", "needs_new_calls", "not_comparable"
CLAIM_STATUSES = (EXACT, APPROXIMATE, NEEDS_NEW_CALLS, NOT_COMPARABLE)
COMPARED = frozenset({EXACT, APPROXIMATE})


@dataclass(frozen=True)
class ClaimChange:
    seq: int | None
    claim_id: str | None
    policy_id: str | None
    currency: str | None
    status: str  # one of CLAIM_STATUSES
    before: str  # the recorded decision
    before_payout: Decimal
    after: str | None = None  # the decision under the new terms (None unless compared)
    after_payout: Decimal | None = None
    questions: tuple[AskedQuestion, ...] = ()
    changed_input: bool = False  # the claim differs from the one decided (a changed dataset given on purpose)
    unasked_calls: int = 0  # recorded attempts the rules no longer ask for
    reason: str | None = None  # why not comparable, or which questions need new calls


@dataclass(frozen=True)
class Terms:
    """What deciding again needs besides the claim and its calls (picklable: worker processes get it once)."""

    book: PolicyBook
    dataset_policy_digests: Mapping[str, str]  # policy id -> H(the dataset's policy as read)
    changed_dataset: bool  # the user named the dataset (--input): a claim changed since the run is compared


@dataclass(frozen=True)
class Evidence:
    """One decision with its claim and the calls it cites, ready to be decided again: only what that needs, since
    it is pickled to a worker (a whole DecisionRecord and whole call records took a third of the workers' time)."""

    seq: int
    claim_id: str
    policy_id: str | None
    currency: str | None
    decision: str
    payout: str
    input_digest: str | None
    policy_digest: str | None
    entry: ClaimEntry
    calls: list[dict[str, Any]]  # each with CALL_FIELDS only


CALL_FIELDS = ("call_id", "purpose", "item_id", "request", "response", "status", "error")  # what answers read


def _was(record: DecisionRecord | Evidence) -> dict[str, Any]:
    return dict(seq=record.seq, claim_id=record.claim_id, policy_id=record.policy_id, currency=record.currency,
                before=record.decision, before_payout=Decimal(record.payout))


def gather(record: DecisionRecord, claims: ClaimIndex, calls: CallLog) -> Evidence | ClaimChange:
    """The decision's claim and cited calls (read in ledger order: the call log is walked forward), or why it
    cannot be compared."""
    rules = record.versions.get("rules")
    if rules != RULES_VERSION:
        return ClaimChange(**_was(record), status=NOT_COMPARABLE,
                           reason=f"decided under rules {rules}, the rules now are {RULES_VERSION}")
    entry = claims.get(record.claim_id)
    if entry is None:
        return ClaimChange(**_was(record), status=NOT_COMPARABLE, reason="the claim is not in the dataset")
    try:
        cited = [{k: call[k] for k in CALL_FIELDS} for call in calls.cited(record.llm_calls)]
    except EvidenceMissing as exc:
        return ClaimChange(**_was(record), status=NOT_COMPARABLE, reason=str(exc))
    return Evidence(record.seq, record.claim_id, record.policy_id, record.currency, record.decision, record.payout,
                    record.input_digest, record.policy_digest, entry, cited)


def decide_again(evidence: Evidence, terms: Terms) -> ClaimChange:
    """The decision under the new terms (see the module docstring for the statuses)."""
    record, entry = evidence, evidence.entry
    was = _was(record)
    changed_input = input_digest(entry) != record.input_digest
    problem = None if terms.changed_dataset else _changed_since(record, changed_input, terms)
    if problem is not None:
        return ClaimChange(**was, status=NOT_COMPARABLE, reason=problem)
    answers = AssumedAnswers(evidence.calls)
    try:
        assessment = assess_with(entry, terms.book.policies, terms.book.policy_errors, answers)
    except EvidenceMissing:
        asked = tuple(answers.questions)
        missing = [q for q in asked if q.how == NEEDS_NEW_CALL]
        what = ", ".join(q.purpose + (f" of line item {q.item_id}" if q.item_id else "") for q in missing)
        return ClaimChange(**was, status=NEEDS_NEW_CALLS, questions=asked, changed_input=changed_input,
                           reason=f"no recorded answer: {what}")
    asked = tuple(answers.questions)
    status = APPROXIMATE if any(q.how == ASSUMED for q in asked) else EXACT
    return ClaimChange(**{**was, "currency": assessment.currency or record.currency}, status=status,
                       after=assessment.decision, after_payout=assessment.payout, questions=asked,
                       changed_input=changed_input, unasked_calls=len(answers.unasked()))


def _changed_since(record: Evidence, changed_input: bool, terms: Terms) -> str | None:
    """Why the run's own dataset no longer holds what was decided (a what-if on it must not mix in other edits)."""
    if changed_input:
        return "changed claim: its input differs from the one decided (pass --input to compare it on purpose)"
    if record.policy_digest is not None and record.policy_id is not None:
        found = terms.dataset_policy_digests.get(record.policy_id)
        if found != record.policy_digest:
            return f"policy {record.policy_id} in the dataset differs from the one the decision was made under"
    return None
