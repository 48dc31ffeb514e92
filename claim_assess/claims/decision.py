"""The decision table (spec 2.6): first matching rule wins. No LLM; the LLM's answer is one input.

``reasons`` is the deciding code, then every other code that applied, without repeats, in this order:
other failed hard checks, the reconciliation codes (conflict kinds, MISSING_*, DUPLICATE_LINE_ITEM),
FLAG_* codes, and the second rule-6 code when both LLM_REFER and LOW_CONFIDENCE hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from claim_assess.claims.coverage import COVERED, NOT_COVERED, REVIEW, ItemCoverage
from claim_assess.claims.models import Policy
from claim_assess.claims.payout import PayoutBreakdown
from claim_assess.claims.prompts import AssessmentAnswer
from claim_assess.claims.reconcile import GATE_FAIL, Reconciliation
from claim_assess.claims.screening import SUSPECTED_INJECTION, Screening

APPROVE, PARTIAL, DENY, REFER, FAILED = "APPROVE", "PARTIAL", "DENY", "REFER", "FAILED"

NOT_COVERED_CODE = "NOT_COVERED"
RECONCILIATION_FAILED = "RECONCILIATION_FAILED"
COVERAGE_REVIEW = "COVERAGE_REVIEW"
LLM_REFER = "LLM_REFER"
LOW_CONFIDENCE = "LOW_CONFIDENCE"
LLM_DISAGREES = "LLM_DISAGREES"
HIGH_VALUE = "HIGH_VALUE"
ZERO_PAYOUT = "ZERO_PAYOUT"
PARTIALLY_COVERED = "PARTIALLY_COVERED"
COVERED_CODE = "COVERED"

MIN_ASSESSMENT_CONFIDENCE = 0.6
# The version of these rules (the decision table, payout, coverage order) recorded with every decision.
RULES_VERSION = "claims-rules/1"
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
           payout: PayoutBreakdown, answer: AssessmentAnswer | None, policy: Policy) -> Decision:
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
    rule6 = ([LLM_REFER] if answer.recommendation == "REFER" else []) + (
        [LOW_CONFIDENCE] if answer.confidence < MIN_ASSESSMENT_CONFIDENCE else [])
    if rule6:  # 6
        return result(REFER, rule6, answer.confidence)
    if answer.recommendation == "REJECT":  # 7
        return result(REFER, [LLM_DISAGREES], answer.confidence)
    if payout.payout > policy.auto_approve_limit:  # 8
        return result(REFER, [HIGH_VALUE], answer.confidence)
    if payout.payout == 0:  # 9
        return result(DENY, [ZERO_PAYOUT], answer.confidence)
    if NOT_COVERED in statuses:  # 10
        return result(PARTIAL, [PARTIALLY_COVERED], answer.confidence)
    return result(APPROVE, [COVERED_CODE], answer.confidence)  # 11
