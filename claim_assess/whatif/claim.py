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
class Sources:
    """Where a decision's claim and evidence come from, and what counts as the same claim."""

    claims: ClaimIndex
    calls: CallLog
    book: PolicyBook
    dataset_policy_digests: Mapping[str, str]  # policy id -> H(the dataset's policy as read)
    changed_dataset: bool  # the user named the dataset (--input): a claim changed since the run is compared


def claim_change(record: DecisionRecord, sources: Sources) -> ClaimChange:
    """The decision ``record`` under the new terms (see the module docstring for the statuses)."""
    base = dict(seq=record.seq, claim_id=record.claim_id, policy_id=record.policy_id, currency=record.currency,
                before=record.decision, before_payout=Decimal(record.payout))
    rules = record.versions.get("rules")
    if rules != RULES_VERSION:
        return ClaimChange(**base, status=NOT_COMPARABLE,
                           reason=f"decided under rules {rules}, the rules now are {RULES_VERSION}")
    entry = sources.claims.get(record.claim_id)
    if entry is None:
        return ClaimChange(**base, status=NOT_COMPARABLE, reason="the claim is not in the dataset")
    changed_input = input_digest(entry) != record.input_digest
    problem = None if sources.changed_dataset else _changed_since(record, changed_input, sources)
    if problem is not None:
        return ClaimChange(**base, status=NOT_COMPARABLE, reason=problem)
    try:
        answers = AssumedAnswers(sources.calls.cited(record.llm_calls))
    except EvidenceMissing as exc:
        return ClaimChange(**base, status=NOT_COMPARABLE, reason=str(exc))
    base.update(changed_input=changed_input)
    try:
        assessment = assess_with(entry, sources.book.policies, sources.book.policy_errors, answers)
    except EvidenceMissing:
        asked = tuple(answers.questions)
        missing = [q for q in asked if q.how == NEEDS_NEW_CALL]
        what = ", ".join(q.purpose + (f" of line item {q.item_id}" if q.item_id else "") for q in missing)
        return ClaimChange(**base, status=NEEDS_NEW_CALLS, questions=asked, reason=f"no recorded answer: {what}")
    asked = tuple(answers.questions)
    status = APPROXIMATE if any(q.how == ASSUMED for q in asked) else EXACT
    return ClaimChange(**{**base, "currency": assessment.currency or record.currency}, status=status,
                       after=assessment.decision, after_payout=assessment.payout, questions=asked,
                       unasked_calls=len(answers.unasked()))


def _changed_since(record: DecisionRecord, changed_input: bool, sources: Sources) -> str | None:
    """Why the run's own dataset no longer holds what was decided (a what-if on it must not mix in other edits)."""
    if changed_input:
        return "changed claim: its input differs from the one decided (pass --input to compare it on purpose)"
    if record.policy_digest is not None and record.policy_id is not None:
        found = sources.dataset_policy_digests.get(record.policy_id)
        if found != record.policy_digest:
            return f"policy {record.policy_id} in the dataset differs from the one the decision was made under"
    return None
