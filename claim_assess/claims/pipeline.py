"""Assessing one claim end to end, with the LLM injected as an ``Advisor`` (no Ray, no HTTP here).

Bad input and LLM failures never raise: they become a FAILED Assessment whose ``error`` names the field
or the step. Two things do propagate: EndpointError (the endpoint, not the claim, failed: quota, a refused
configuration, an endpoint that stayed unavailable; the claim had no fair try and is left undecided,
not mark it FAILED) and asyncio.CancelledError.

Deviation from a literal reading of spec 2.3, documented: when a hard check has failed, rule 1 decides
DENY whatever coverage says, so items that would need the LLM are marked ``not_assessed`` / ``skipped``
and no LLM call is made at all.

The steps themselves never wait: ``assessment_steps`` is a generator that yields the questions it needs answered
(``Questions``) and is sent the outcomes, so the one claim's logic serves two drivers: ``assess_claim`` asks an
async ``Advisor`` (a claim's coverage questions concurrently), and ``assess_claim_now`` asks a plain function, for
callers whose answers need no waiting (the dry-run planner: no event loop, no task per question).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from claim_assess.errors import ClaimInputError, EndpointError, InvalidOutputError, LLMError
from claim_assess.claims.coverage import ItemCoverage, from_llm_answer, match_by_rule, not_assessed
from claim_assess.claims.dataset import ClaimEntry
from claim_assess.claims.decision import FAILED, decide, hard_check_decides, needs_facts_check
from claim_assess.claims.models import MAX_MONEY, Claim, LineItem, Policy, is_identifier, parse_claim
from claim_assess.claims.payout import compute_payout
from claim_assess.claims.prompts import (
    AssessmentAnswer,
    PromptSpec,
    assessment_prompt,
    coverage_prompt,
    facts_check_prompt,
    parse_assessment_answer,
    parse_coverage_answer,
)
from claim_assess.claims.reconcile import reconcile
from claim_assess.claims.screening import screen

T = TypeVar("T")

STAGES = ("reconcile", "screen", "coverage", "payout", "assessment", "facts_check", "decide")
VALIDATED_STAGE = STAGES[0]  # announced once the claim and its policy have passed validation


class Advisor(Protocol):
    async def ask(self, prompt: PromptSpec, parse: Callable[[str], T]) -> T:
        """The parsed answer. Raises InvalidOutputError when answers stayed invalid after its retries,
        EndpointError when the endpoint failed for a reason outside the claim, another LLMError when the
        request itself was refused."""
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
    failure: str | None = None  # why a FAILED claim failed: one of FAILURE_CAUSES (None unless FAILED)


# What a FAILED decision was about: the claim's input, the model's answers or a refusal of the claim's request,
# or the engine (a bug, assessors that kept dying). Only "input" lets a run count as clean (exit code 0).
FAILURE_CAUSES = ("input", "llm", "engine")


def failed(claim_id: str, policy_id: str | None, error: str, currency: str | None = None,
           cause: str = "input") -> Assessment:
    return Assessment(claim_id, policy_id, FAILED, (), Decimal("0.00"), currency, None, None, None, None, (), error,
                      None, cause)


class _ClaimFailed(Exception):
    """Internal: a step failed in a way that makes this claim FAILED (never leaves this module)."""

    def __init__(self, message: str, cause: str = "llm"):
        super().__init__(message)
        self.cause = cause


@dataclass(frozen=True)
class Questions:
    """What the steps need answered before they go on: the one assessment question, or a claim's coverage
    questions, which are independent (``together``: asked concurrently, every one settled before the claim goes on).
    The steps are sent back one outcome per question, in order: the parsed answer, or the exception asking raised."""

    asked: tuple[tuple[PromptSpec, Callable[[str], Any]], ...]
    together: bool


Outcome = Any  # the parsed answer, or the BaseException that asking raised
Steps = Generator[Questions, list[Outcome], Assessment]


def _coverage_outcome(item: LineItem, policy: Policy, outcome: Outcome) -> ItemCoverage | BaseException:
    if isinstance(outcome, InvalidOutputError):
        outcome = None  # becomes review / LLM_INVALID_OUTPUT
    elif isinstance(outcome, EndpointError):
        return outcome
    elif isinstance(outcome, LLMError):
        failure = _ClaimFailed(f"coverage of line item {item.item_id}: {outcome}")
        failure.__cause__ = outcome
        return failure
    elif isinstance(outcome, BaseException):
        return outcome
    try:
        return from_llm_answer(item, policy, outcome)
    except Exception as exc:  # as if raised where the answer was asked for: settled with its siblings below
        return exc


def _coverage(items: tuple[LineItem, ...], policy: Policy,
              skip_llm: bool) -> Generator[Questions, list[Outcome], tuple[ItemCoverage, ...]]:
    results: list[ItemCoverage | None] = [match_by_rule(item, policy) for item in items]
    pending = [i for i, r in enumerate(results) if r is None]
    if skip_llm:
        for i in pending:
            results[i] = not_assessed(items[i])
    elif pending:
        answers = yield Questions(tuple((coverage_prompt(policy, items[i]), parse_coverage_answer) for i in pending),
                                  together=True)
        # Every sibling question was settled (no orphaned requests); now pick the outcome.
        outcomes = [_coverage_outcome(items[i], policy, answer) for i, answer in zip(pending, answers)]
        for exc in outcomes:
            if isinstance(exc, (EndpointError, asyncio.CancelledError)):
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
    steps = assessment_steps(entry, dataset_policies, policy_errors, on_stage)
    try:
        questions = next(steps)
        while True:
            if questions.together:
                answers = await asyncio.gather(*(advisor.ask(prompt, parse) for prompt, parse in questions.asked),
                                               return_exceptions=True)
            else:
                answers = []
                for prompt, parse in questions.asked:
                    try:
                        answers.append(await advisor.ask(prompt, parse))
                    except Exception as exc:  # the steps decide; CancelledError goes straight up
                        answers.append(exc)
            questions = steps.send(list(answers))
    except StopIteration as done:
        return done.value


def assess_claim_now(entry: ClaimEntry, dataset_policies: Mapping[str, Policy], policy_errors: Mapping[str, str],
                     answer: Callable[[PromptSpec, Callable[[str], T]], T],
                     on_stage: Callable[[str], None] = lambda stage: None) -> Assessment:
    """``assess_claim`` with answers that need no waiting: ``answer(prompt, parse)`` is called for each question
    in order, as an advisor's ``ask`` would be, and may raise what ``ask`` may raise."""
    steps = assessment_steps(entry, dataset_policies, policy_errors, on_stage)
    try:
        questions = next(steps)
        while True:
            answers: list[Outcome] = []
            for prompt, parse in questions.asked:
                try:
                    answers.append(answer(prompt, parse))
                except Exception as exc:
                    answers.append(exc)
            questions = steps.send(answers)
    except StopIteration as done:
        return done.value


def assessment_steps(entry: ClaimEntry, dataset_policies: Mapping[str, Policy], policy_errors: Mapping[str, str],
                     on_stage: Callable[[str], None] = lambda stage: None) -> Steps:
    """One claim's assessment as a generator of the Questions it needs answered (see the module docstring)."""
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
        return (yield from _assess_valid(claim, policy, on_stage))
    except _ClaimFailed as exc:
        return failed(claim.claim_id, claim.policy_id, str(exc), policy.currency, exc.cause)


def _ask_assessment(prompt: PromptSpec, step: str) -> Generator[Questions, list[Outcome], AssessmentAnswer]:
    """One assessment-shaped question; its failures fail the claim under ``step``'s name."""
    try:
        (outcome,) = yield Questions(((prompt, parse_assessment_answer),), together=False)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome
    except EndpointError:
        raise
    except InvalidOutputError as exc:
        raise _ClaimFailed(f"{step}: invalid output: {exc}") from exc
    except LLMError as exc:
        raise _ClaimFailed(f"{step}: {exc}") from exc


def _assess_valid(claim: Claim, policy: Policy, on_stage: Callable[[str], None]) -> Steps:
    on_stage(VALIDATED_STAGE)
    reconciliation = reconcile(claim)
    on_stage("screen")
    screening = screen(claim, policy)
    decided_by_rule_1 = hard_check_decides(screening)
    on_stage("coverage")
    items = yield from _coverage(reconciliation.unique_items, policy, skip_llm=decided_by_rule_1)
    on_stage("payout")
    covered_total = sum((c.total for c in items if c.status == "covered"), Decimal("0.00"))
    payout = compute_payout(covered_total, claim.odometer_km, policy)
    # Sums of valid amounts can outgrow the results' decimal128(12, 2); fail this claim, not the whole write.
    for name, amount in (("claimed_total", reconciliation.claimed_total), ("payout", payout.payout)):
        if amount > MAX_MONEY:
            raise _ClaimFailed(f"{name}: {amount} exceeds the largest amount a result can hold ({MAX_MONEY})",
                               "input")

    answer: AssessmentAnswer | None = None
    if not decided_by_rule_1:
        on_stage("assessment")
        answer = yield from _ask_assessment(
            assessment_prompt(claim, policy, reconciliation, screening, items, payout), "assessment")
    decision = decide(reconciliation, screening, items, payout, answer, policy)
    if answer is not None and needs_facts_check(decision):
        on_stage("facts_check")
        check = yield from _ask_assessment(
            facts_check_prompt(claim, policy, reconciliation, screening, items, payout), "facts check")
        decision = decide(reconciliation, screening, items, payout, answer, policy, check)

    on_stage("decide")
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
