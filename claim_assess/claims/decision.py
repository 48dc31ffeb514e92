"""The decision table (spec 2.6): first matching rule wins. No LLM; the LLM's answer is one input.

``reasons`` is the deciding code, then every other code that applied, without repeats, in this order:
other failed hard checks, the reconciliation codes (conflict kinds, MISSING_*, DUPLICATE_LINE_ITEM),
FLAG_* codes, and the second rule-6 code when both LLM_REFER and LOW_CONFIDENCE hold.

Deviation from spec 2.6, documented in docs/rules-and-formats.md: rule 5b, right after the flags rule, sends
the claim to a human (LLM_COVERAGE_UNVERIFIED) when line items the model (not a rule) judged covered raise
the payout well above what the rule-covered items alone would pay. It is a second line of defence against
prompt injection that does not depend on recognising the text: it caps what the model's coverage answers can
add without a person looking.

Second deviation, rule 7b (FACTS_DISAGREE): the other way an order the screening missed moves money is an
assessment swayed to APPROVE a claim it would have referred (rules 6-7 then do not fire). So a claim the table
would pay automatically (APPROVE or PARTIAL) is first asked once more, on its facts alone (``facts_check_prompt``:
no narrative, no document text, no line description, so no text of the claimant's can reach that call), and goes
to a person unless that check recommends APPROVE too. Only the check's recommendation counts: it sees less by
design, so its confidence and flags (a model without the documents' texts may rightly be unsure, or call the
documentation thin) are no sign that a text swayed the full assessment. Both deviations and what the corpus
measures of them are in docs/rules-and-formats.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from claim_assess.claims.coverage import COVERED, METHOD_RULE, NOT_COVERED, REVIEW, ItemCoverage
from claim_assess.claims.models import Policy
from claim_assess.claims.payout import PayoutBreakdown, payout_at_rate
from claim_assess.claims.prompts import AssessmentAnswer
from claim_assess.claims.reconcile import GATE_FAIL, Reconciliation
from claim_assess.claims.screening import SUSPECTED_INJECTION, Screening

APPROVE, PARTIAL, DENY, REFER, FAILED = "APPROVE", "PARTIAL", "DENY", "REFER", "FAILED"

NOT_COVERED_CODE = "NOT_COVERED"
RECONCILIATION_FAILED = "RECONCILIATION_FAILED"
COVERAGE_REVIEW = "COVERAGE_REVIEW"
LLM_COVERAGE_UNVERIFIED = "LLM_COVERAGE_UNVERIFIED"
LLM_REFER = "LLM_REFER"
LOW_CONFIDENCE = "LOW_CONFIDENCE"
LLM_DISAGREES = "LLM_DISAGREES"
FACTS_DISAGREE = "FACTS_DISAGREE"
HIGH_VALUE = "HIGH_VALUE"
ZERO_PAYOUT = "ZERO_PAYOUT"
PARTIALLY_COVERED = "PARTIALLY_COVERED"
COVERED_CODE = "COVERED"

MIN_ASSESSMENT_CONFIDENCE = 0.6
# Rule 5b: what the model's coverage answers may add to the payout before a person looks, in the policy's
# currency (CHF and EUR, near parity: one figure serves both). Both bounds must be passed to refer:
# - the amount: below it a review costs about what it could save, and the claims under it are the common
#   case (a gasket set, an hour of labour the garage left without a component: half the synthetic book's
#   LLM-covered claims add less than 100);
# - the share: the model adds more than half of what the rules alone pay (a third of the payout or more), so a
#   claim whose rule-covered repair dwarfs a few LLM-covered extras stays automatic. An order to cover
#   something big is caught either way: it passes both bounds, or it lifts the payout over the policy's
#   auto_approve_limit (rule 8).
# On the synthetic book (2,000 claims, the simulator's model) this refers about 1.5 % more claims; see
# docs/rules-and-formats.md for the measurement.
LLM_COVERAGE_MAX_ADDED = Decimal("500.00")
LLM_COVERAGE_MAX_SHARE = Decimal("0.5")
# The version of these rules (the decision table, payout, coverage order, and the injection patterns whose flag is a
# row of the table) recorded with every decision.
RULES_VERSION = "claims-rules/4"
AUTO_PAID = (APPROVE, PARTIAL)  # the decisions that pay without a person looking
_ZERO_MONEY = Decimal("0.00")


@dataclass(frozen=True)
class Decision:
    decision: str
    reasons: tuple[str, ...]
    payout: Decimal
    confidence: float | None


def flag_codes(screening: Screening, answer: AssessmentAnswer | None) -> tuple[str, ...]:
    codes = [f"FLAG_{SUSPECTED_INJECTION}"] if screening.injection_suspected else []
    if answer is not None:
        codes += [f"FLAG_{flag.upper()}" for flag in answer.flags]
    return tuple(dict.fromkeys(codes))


def hard_check_decides(screening: Screening) -> bool:
    """Rule 1: when true, no LLM call is needed (the outcome is DENY whatever it would say)."""
    return bool(screening.hard_checks_failed)


def decide(reconciliation: Reconciliation, screening: Screening, coverage: Sequence[ItemCoverage],
           payout: PayoutBreakdown, answer: AssessmentAnswer | None, policy: Policy,
           facts_check: AssessmentAnswer | None = None) -> Decision:
    """The table's decision. ``facts_check`` is the facts-only answer (rule 7b), asked only when the decision
    without it is one of AUTO_PAID (``needs_facts_check``)."""
    flags = flag_codes(screening, answer)
    applied = list(screening.hard_checks_failed) + list(reconciliation.reason_codes()) + list(flags)

    def result(decision: str, codes: Sequence[str], confidence: float | None) -> Decision:
        amount = _ZERO_MONEY if decision == DENY else payout.payout
        return Decision(decision, tuple(dict.fromkeys([*codes, *applied])), amount, confidence)

    statuses = {item.status for item in coverage}
    if screening.hard_checks_failed:  # 1
        return result(DENY, screening.hard_checks_failed[:1], 1.0)
    if COVERED not in statuses and REVIEW not in statuses:  # 2
        return result(DENY, [NOT_COVERED_CODE], 1.0)
    if answer is None:
        raise ValueError("decide: the assessment answer is required unless a hard check failed")
    if reconciliation.gate == GATE_FAIL:  # 3
        return result(REFER, [RECONCILIATION_FAILED], answer.confidence)
    if REVIEW in statuses:  # 4
        return result(REFER, [COVERAGE_REVIEW], answer.confidence)
    if flags:  # 5
        return result(REFER, flags[:1], answer.confidence)
    if llm_coverage_unverified(coverage, payout, policy):  # 5b
        return result(REFER, [LLM_COVERAGE_UNVERIFIED], answer.confidence)
    rule6 = ([LLM_REFER] if answer.recommendation == "REFER" else []) + (
        [LOW_CONFIDENCE] if answer.confidence < MIN_ASSESSMENT_CONFIDENCE else [])
    if rule6:  # 6
        return result(REFER, rule6, answer.confidence)
    if answer.recommendation == "REJECT":  # 7
        return result(REFER, [LLM_DISAGREES], answer.confidence)
    if facts_check is not None and facts_check.recommendation != "APPROVE":  # 7b
        return result(REFER, [FACTS_DISAGREE], answer.confidence)
    if payout.payout > policy.auto_approve_limit:  # 8
        return result(REFER, [HIGH_VALUE], answer.confidence)
    if payout.payout == 0:  # 9
        return result(DENY, [ZERO_PAYOUT], answer.confidence)
    if NOT_COVERED in statuses:  # 10
        return result(PARTIAL, [PARTIALLY_COVERED], answer.confidence)
    return result(APPROVE, [COVERED_CODE], answer.confidence)  # 11


def needs_facts_check(decision: Decision) -> bool:
    """Rule 7b asks the facts check of every claim the table would otherwise pay automatically."""
    return decision.decision in AUTO_PAID


def rule_covered_payout(coverage: Sequence[ItemCoverage], payout: PayoutBreakdown, policy: Policy) -> Decimal:
    """The payout the items a rule judged covered would give alone: the same arithmetic as ``payout`` (spec
    2.4), at the same reimbursement rate, over their totals only."""
    total = sum((item.total for item in coverage if item.status == COVERED and item.method == METHOD_RULE),
                _ZERO_MONEY)
    return payout_at_rate(total, payout.rate_percent, policy).payout


def llm_coverage_unverified(coverage: Sequence[ItemCoverage], payout: PayoutBreakdown, policy: Policy) -> bool:
    """Rule 5b, on the claim's coverage and payout."""
    return adds_too_much(payout.payout, rule_covered_payout(coverage, payout, policy))


def adds_too_much(payout: Decimal, rule_covered: Decimal) -> bool:
    """Rule 5b: what the model's coverage answers add to the payout (``payout`` less the payout of the
    rule-covered items alone) is more than LLM_COVERAGE_MAX_ADDED and more than LLM_COVERAGE_MAX_SHARE of
    the rule-covered payout."""
    added = payout - rule_covered
    return added > LLM_COVERAGE_MAX_ADDED and added > LLM_COVERAGE_MAX_SHARE * rule_covered
