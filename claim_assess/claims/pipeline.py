"""Assessing one claim end to end, with the LLM injected as an ``Advisor`` (no Ray, no HTTP here).

Bad input and LLM failures never raise: they become a FAILED Assessment whose ``error`` names the field
or the step. Two things do propagate: QuotaExhausted (the run must stop and leave the claim undecided,
not mark it FAILED) and asyncio.CancelledError.

Deviation from a literal reading of spec 2.3, documented: when a hard check has failed, rule 1 decides
DENY whatever coverage says, so items that would need the LLM are marked ``not_assessed`` / ``skipped``
and no LLM call is made at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeVar

from claim_assess.errors import ClaimInputError, InvalidOutputError, LLMError, QuotaExhausted
from claim_assess.claims.coverage import ItemCoverage, from_llm_answer, match_by_rule, not_assessed
from claim_assess.claims.dataset import ClaimEntry
from claim_assess.claims.decision import FAILED, decide, hard_check_decides
from claim_assess.claims.models import MAX_MONEY, Claim, LineItem, Policy, is_identifier, parse_claim
from claim_assess.claims.payout import compute_payout
from claim_assess.claims.prompts import (
    AssessmentAnswer,
    CoverageAnswer,
    PromptSpec,
    assessment_prompt,
    coverage_prompt,
    parse_assessment_answer,
    parse_coverage_answer,
)
from claim_assess.claims.reconcile import reconcile
from claim_assess.claims.screening import screen

T = TypeVar("T")

STAGES = ("reconcile", "screen", "coverage", "payout", "assessment", "decide")


class Advisor(Protocol):
    async def ask(self, prompt: PromptSpec, parse: Callable[[str], T]) -> T:
        """The parsed answer. Raises InvalidOutputError when answers stayed invalid after its retries,
        QuotaExhausted to stop the run, another LLMError when the call could not be made."""
        ...


@dataclass(frozen=True)
class Assessment:
    claim_id: str
    policy_id: str | None
    decision: str
    reasons: tuple[str, ...]
    payout: Decimal
    currency: str | None
    claimed_total: Decimal | None
    covered_total: Decimal | None
    confidence: float | None
    gate: str | None
    items: tuple[ItemCoverage, ...]
    error: str | None
    answer: AssessmentAnswer | None


def failed(claim_id: str, policy_id: str | None, error: str, currency: str | None = None) -> Assessment:
    return Assessment(claim_id, policy_id, FAILED, (), Decimal("0.00"), currency, None, None, None, None, (), error,
                      None)


class _ClaimFailed(Exception):
    """Internal: a step failed in a way that makes this claim FAILED (never leaves this module)."""


async def _classify(item: LineItem, policy: Policy, advisor: Advisor) -> ItemCoverage:
    answer: CoverageAnswer | None
    try:
        answer = await advisor.ask(coverage_prompt(policy, item), parse_coverage_answer)
    except InvalidOutputError:
        answer = None  # becomes review / LLM_INVALID_OUTPUT
    except QuotaExhausted:
        raise
    except LLMError as exc:
        raise _ClaimFailed(f"coverage of line item {item.item_id}: {exc}") from exc
    return from_llm_answer(item, policy, answer)


async def _coverage(items: tuple[LineItem, ...], policy: Policy, advisor: Advisor,
                    skip_llm: bool) -> tuple[ItemCoverage, ...]:
    results: list[ItemCoverage | None] = [match_by_rule(item, policy) for item in items]
    pending = [i for i, r in enumerate(results) if r is None]
    if skip_llm:
        for i in pending:
            results[i] = not_assessed(items[i])
    elif pending:
        # return_exceptions: every sibling call finishes (no orphaned requests), then we pick the outcome.
        outcomes = await asyncio.gather(*(_classify(items[i], policy, advisor) for i in pending),
                                        return_exceptions=True)
        for exc in outcomes:
            if isinstance(exc, (QuotaExhausted, asyncio.CancelledError)):
                raise exc
        for exc in outcomes:
            if isinstance(exc, BaseException):
                raise exc
        for i, outcome in zip(pending, outcomes):
            results[i] = outcome  # type: ignore[assignment]
    return tuple(r for r in results if r is not None)


def _raw_policy_id(raw: dict | None) -> str | None:
    value = raw.get("policy_id") if isinstance(raw, dict) else None
    return value if is_identifier(value) else None


async def assess_claim(entry: ClaimEntry, dataset_policies: Mapping[str, Policy], policy_errors: Mapping[str, str],
                       advisor: Advisor, on_stage: Callable[[str], None] = lambda stage: None) -> Assessment:
    policy_id = _raw_policy_id(entry.raw)
    known = dataset_policies.get(policy_id) if policy_id else None
    currency = known.currency if known else None
    if entry.error is not None or entry.raw is None:
        return failed(entry.claim_id, policy_id, entry.error or f"{entry.location}: not a JSON object", currency)
    try:
        claim = parse_claim(entry.raw, f"claim {entry.claim_id}")
    except ClaimInputError as exc:
        return failed(entry.claim_id, policy_id, str(exc), currency)
    if claim.policy_id in policy_errors:
        return failed(claim.claim_id, claim.policy_id,
                      f"policy_id {claim.policy_id!r}: invalid policy: {policy_errors[claim.policy_id]}")
    policy = dataset_policies.get(claim.policy_id)
    if policy is None:
        return failed(claim.claim_id, claim.policy_id,
                      f"policy_id {claim.policy_id!r} names no policy in policies.jsonl")

    try:
        return await _assess_valid(claim, policy, advisor, on_stage)
    except _ClaimFailed as exc:
        return failed(claim.claim_id, claim.policy_id, str(exc), policy.currency)


async def _assess_valid(claim: Claim, policy: Policy, advisor: Advisor,
                        on_stage: Callable[[str], None]) -> Assessment:
    on_stage("reconcile")
    reconciliation = reconcile(claim)
    on_stage("screen")
    screening = screen(claim, policy)
    decided_by_rule_1 = hard_check_decides(screening)
    on_stage("coverage")
    items = await _coverage(reconciliation.unique_items, policy, advisor, skip_llm=decided_by_rule_1)
    on_stage("payout")
    covered_total = sum((c.total for c in items if c.status == "covered"), Decimal("0.00"))
    payout = compute_payout(covered_total, claim.odometer_km, policy)
    # Sums of valid amounts can outgrow the results' decimal128(12, 2); fail this claim, not the whole write.
    for name, amount in (("claimed_total", reconciliation.claimed_total), ("payout", payout.payout)):
        if amount > MAX_MONEY:
            raise _ClaimFailed(f"{name}: {amount} exceeds the largest amount a result can hold ({MAX_MONEY})")

    answer: AssessmentAnswer | None = None
    if not decided_by_rule_1:
        on_stage("assessment")
        prompt = assessment_prompt(claim, policy, reconciliation, screening, items, payout)
        try:
            answer = await advisor.ask(prompt, parse_assessment_answer)
        except QuotaExhausted:
            raise
        except InvalidOutputError as exc:
            raise _ClaimFailed(f"assessment: invalid output: {exc}") from exc
        except LLMError as exc:
            raise _ClaimFailed(f"assessment: {exc}") from exc

    on_stage("decide")
    decision = decide(reconciliation, screening, items, payout, answer, policy)
    return Assessment(
        claim_id=claim.claim_id,
        policy_id=claim.policy_id,
        decision=decision.decision,
        reasons=decision.reasons,
        payout=decision.payout,
        currency=policy.currency,
        claimed_total=reconciliation.claimed_total,
        covered_total=payout.covered_total,
        confidence=decision.confidence,
        gate=reconciliation.gate,
        items=items,
        error=None,
        answer=answer,
    )
