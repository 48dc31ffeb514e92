"""Plan a run before spending: how many LLM calls and tokens assessing a dataset takes, and what that costs in
time and money. No Ray, no model: every claim goes through the real pipeline (claims.pipeline's steps, driven by
assess_claim_now) with a PlanningAdvisor, which notes each prompt and answers with a placeholder that changes no rule.

So the plan and a run cannot drift apart: validation and the error a FAILED claim records, the claims a hard
check decides (no LLM call at all), one coverage call per unique line item the rules cannot classify, and one
assessment call per claim that reaches the model all come from the pipeline itself.

Estimates, documented so nobody mistakes them for a bill:
- prompt tokens: llm.limiter.estimate_prompt_tokens of the real messages, as the rate limiter counts them.
  The assessment prompt depends on the coverage answers; the plan's is built with the items the placeholder
  answers give (in review, confidence 0), the same size as a real one within a few tokens.
- completion tokens: COMPLETION_SHARE (half) of each prompt's max_completion_tokens; real answers are
  usually shorter, so the cost errs high.
- retries, invalid answers and 429s are not counted.
- time: the slowest of three bounds: requests / rpm, tokens / tpm (minutes), and calls x latency /
  concurrency (the time the fleet needs even under generous limits).

The plan also says where its own CPU time went (``CpuSplit``): reading and validating the claims, which is the
part a real run's driver and assessors also do for every claim, apart from planning them, which only a dry run
does. Both are counted on the planning thread's CPU clock, so a machine's other load does not inflate them.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from claim_assess.claims.coverage import METHOD_RULE
from claim_assess.claims.dataset import ClaimEntry, Dataset
from claim_assess.claims.decision import COVERAGE_REVIEW, FAILED, LLM_REFER, REFER
from claim_assess.claims.pipeline import VALIDATED_STAGE, Assessment, assess_claim_now
from claim_assess.claims.prompts import ASSESSMENT_PURPOSE, COVERAGE_PURPOSE, FACTS_CHECK_PURPOSE
from claim_assess.errors import ConfigError
from claim_assess.llm.reuse import ReuseIndex
from claim_assess.plan.advisor import AskedCall, PlanningAdvisor
from claim_assess.plan.pricing import parse_price

COMPLETION_SHARE = 0.5
DEFAULT_LATENCY_S = 2.0  # a hosted model's typical answer time for these prompts; --dry-run's assumption
_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class InvalidClaim:
    claim_id: str
    location: str
    error: str


@dataclass(frozen=True)
class ClaimPlan:
    """What the pipeline did with one claim under the planning advisor."""

    claim_id: str
    location: str
    error: str | None  # the error the run would record when the claim is FAILED
    calls: tuple[AskedCall, ...]  # a claim can fail after its coverage calls (a total too large to record)
    items_by_rule: int  # unique line items the rules classified, counted for claims that reach the model

    @property
    def invalid(self) -> bool:
        return self.error is not None and not self.calls

    @property
    def rule_decided(self) -> bool:
        return self.error is None and not self.calls


@dataclass(frozen=True)
class CpuSplit:
    """CPU seconds the dry run spent reading + validating its claims, and planning the valid ones."""

    read_validate_s: float
    plan_s: float


class _CpuTally:
    """Splits the planning thread's CPU time at each claim's end of validation.

    Reading + validating runs from asking the stream for the next entry to the pipeline's first stage after
    validation ("reconcile"), or to the end of a claim that fails before it. Everything else (the pipeline past
    validation, the totals) is planning, so the two add up to the whole."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._started = self._mark = clock()
        self._validated: float | None = None
        self.read_validate_s = 0.0

    def next_claim(self) -> None:
        self._mark, self._validated = self._clock(), None

    def on_stage(self, stage: str) -> None:
        if stage == VALIDATED_STAGE and self._validated is None:
            self._validated = self._clock()

    def claim_done(self) -> None:
        validated = self._validated if self._validated is not None else self._clock()
        self.read_validate_s += validated - self._mark

    def split(self) -> CpuSplit:
        whole = self._clock() - self._started
        return CpuSplit(read_validate_s=self.read_validate_s, plan_s=max(0.0, whole - self.read_validate_s))


@dataclass(frozen=True)
class Plan:
    dataset: str
    model: str
    claims: int  # entries selected
    to_assess: int  # claims that pass validation and will be assessed
    invalid: tuple[InvalidClaim, ...]  # FAILED before any LLM call, with the error the run would record
    rule_decided: int  # valid claims a hard check decides: no LLM call
    items_by_rule: int  # unique line items the rules classify
    coverage_calls: int  # unique line items that need the LLM
    assessment_calls: int
    facts_checks: int  # at most this many (rule 7b asks one per claim that would be paid automatically)
    prompt_tokens: int
    completion_tokens: int
    rpm: int | None
    tpm: int | None
    latency_s: float
    concurrency: int
    minutes_at_rpm: float | None
    minutes_at_tpm: float | None
    minutes_at_latency: float
    price_in_per_m: Decimal | None
    price_out_per_m: Decimal | None
    reused_calls: int = 0  # calls --reuse-answers would answer from the ledger (not in the calls and tokens above)
    # What making this plan cost, not part of what it says: two equal plans may have taken different times.
    cpu: CpuSplit | None = dataclasses.field(default=None, compare=False)

    @property
    def llm_calls(self) -> int:
        return self.coverage_calls + self.assessment_calls + self.facts_checks

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def minutes(self) -> float:
        return max(m for m in (self.minutes_at_rpm, self.minutes_at_tpm, self.minutes_at_latency) if m is not None)

    @property
    def bound(self) -> str:
        """Which limit sets the time: "rpm", "tpm" or "latency"."""
        options = {"latency": self.minutes_at_latency, "rpm": self.minutes_at_rpm, "tpm": self.minutes_at_tpm}
        return max((k for k, v in options.items() if v is not None), key=lambda k: options[k] or 0.0)

    @property
    def cost(self) -> Decimal | None:
        if self.price_in_per_m is None or self.price_out_per_m is None:
            return None
        total = (self.prompt_tokens * self.price_in_per_m + self.completion_tokens * self.price_out_per_m) / _MILLION
        return total.quantize(Decimal("0.0001"))


def estimated_completion_tokens(call: AskedCall) -> int:
    return math.ceil(call.max_completion_tokens * COMPLETION_SHARE)


# Placeholder decisions that only the placeholder answers made (the model's REFER, or coverage left in review): with
# the real answers the claim may be paid automatically, and then rule 7b asks the facts check.
_MAY_BE_AUTO_PAID = frozenset({LLM_REFER, COVERAGE_REVIEW})


def _possible_facts_check(assessment: Assessment, calls: tuple[AskedCall, ...]) -> tuple[AskedCall, ...]:
    """The facts check a run may ask (rule 7b), counted at most once per claim the model could approve: its answers
    are unknown here. Its prompt is the assessment's without the free texts, so the assessment's size bounds it."""
    asked = [call for call in calls if call.purpose == ASSESSMENT_PURPOSE]
    # A reused assessment answer is the model's own (--reuse-answers): the pipeline then asked the check itself.
    if not asked or asked[-1].reused or assessment.decision != REFER or \
            assessment.reasons[0] not in _MAY_BE_AUTO_PAID:
        return ()
    return (dataclasses.replace(asked[-1], purpose=FACTS_CHECK_PURPOSE),)


def claim_plan(entry: ClaimEntry, assessment: Assessment, calls: tuple[AskedCall, ...]) -> ClaimPlan:
    failed = assessment.decision == FAILED
    # Counted only for claims that reach the model: there a rule match is a coverage call saved.
    by_rule = sum(1 for item in assessment.items if item.method == METHOD_RULE) if calls else 0
    calls += _possible_facts_check(assessment, calls)
    return ClaimPlan(assessment.claim_id, entry.location, assessment.error if failed else None, calls, by_rule)


def plan_claims(dataset: Dataset, entries: Iterable[ClaimEntry], tally: _CpuTally,
                advisor: PlanningAdvisor | None = None) -> Iterator[ClaimPlan]:
    """Each entry through the real pipeline, one after the other, as the entries arrive. The planning advisor's
    answers never wait, so the pipeline runs without an event loop (a task per coverage question would cost
    more than planning the claim). ``tally`` is told where each claim's reading starts and its validation ends."""
    advisor = advisor or PlanningAdvisor()
    stream = iter(entries)
    while True:
        tally.next_claim()
        entry = next(stream, None)
        if entry is None:
            return
        assessment = assess_claim_now(entry, dataset.policies, dataset.policy_errors, advisor.answer, tally.on_stage)
        tally.claim_done()
        yield claim_plan(entry, assessment, advisor.take_asked())


def plan_run(dataset: Dataset, entries: Iterable[ClaimEntry], *, rpm: int | None, tpm: int | None, model: str,
             latency_s: float = DEFAULT_LATENCY_S, concurrency: int = 1,
             price_in_per_m: float | Decimal | None = None, price_out_per_m: float | Decimal | None = None,
             clock: Callable[[], float] = time.thread_time, reuse: ReuseIndex | None = None) -> Plan:
    """Count what assessing ``entries`` will cost (``reuse``: the answers --reuse-answers would take from the ledger). Reads nothing, calls no model. ``entries`` may be any iterable,
    a stream read as it goes: it is walked once, and only the claims failing validation are kept. ``clock``
    measures the plan's own CPU time (``Plan.cpu``)."""
    if latency_s <= 0 or concurrency < 1:
        raise ConfigError("the plan needs a positive latency and a concurrency of at least 1")
    prices = parse_price(price_in_per_m, "the input price"), parse_price(price_out_per_m, "the output price")
    tally = _CpuTally(clock)
    claims = plan_claims(dataset, entries, tally, PlanningAdvisor(reuse, model))
    plan = summarize(dataset.root, model, claims, rpm=rpm, tpm=tpm,
                     latency_s=latency_s, concurrency=concurrency, prices=prices)
    return dataclasses.replace(plan, cpu=tally.split())


def summarize(dataset: str, model: str, claims: Iterable[ClaimPlan], *, rpm: int | None, tpm: int | None,
              latency_s: float, concurrency: int, prices: tuple[Decimal | None, Decimal | None]) -> Plan:
    """The totals over ``claims``, in one pass (a stream of a million claims is never held)."""
    count = rule_decided = items_by_rule = 0
    calls = coverage_calls = assessment_calls = facts_checks = prompt_tokens = completion_tokens = reused = 0
    invalid: list[InvalidClaim] = []
    for claim in claims:
        count += 1
        if claim.invalid:
            invalid.append(InvalidClaim(claim.claim_id, claim.location, claim.error or ""))
        rule_decided += claim.rule_decided
        items_by_rule += claim.items_by_rule
        for call in claim.calls:
            if call.reused:
                reused += 1
                continue
            calls += 1
            coverage_calls += call.purpose == COVERAGE_PURPOSE
            assessment_calls += call.purpose == ASSESSMENT_PURPOSE
            facts_checks += call.purpose == FACTS_CHECK_PURPOSE
            prompt_tokens += call.prompt_tokens
            completion_tokens += estimated_completion_tokens(call)
    tokens = prompt_tokens + completion_tokens
    return Plan(
        dataset=dataset,
        model=model,
        claims=count,
        to_assess=count - len(invalid),
        invalid=tuple(invalid),
        rule_decided=rule_decided,
        items_by_rule=items_by_rule,
        coverage_calls=coverage_calls,
        assessment_calls=assessment_calls,
        facts_checks=facts_checks,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        rpm=rpm,
        tpm=tpm,
        latency_s=latency_s,
        concurrency=concurrency,
        minutes_at_rpm=calls / rpm if rpm else None,
        minutes_at_tpm=tokens / tpm if tpm else None,
        minutes_at_latency=calls * latency_s / concurrency / 60,
        price_in_per_m=prices[0],
        price_out_per_m=prices[1],
        reused_calls=reused,
    )
