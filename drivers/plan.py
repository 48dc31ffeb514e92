"""Plan a run before spending: what ``drivers.assess --dry-run`` prints (no Ray, no LLM call).

Every claim goes through the real pipeline pieces that need no model: claim validation
(``claims.models``), reconciliation, screening, and coverage by rule. That tells, claim by claim, how many
LLM calls the run will make (spec 2.3 and the pipeline: one coverage call per unique line item the rules
cannot classify, plus one assessment call; none at all when a hard check decides), and the prompts the
run would send are built with ``claims.prompts`` to count their tokens the way the limiter does.

Estimates, documented so nobody mistakes them for a bill:
- prompt tokens: ``llm.limiter.estimate_prompt_tokens`` of the real messages. The assessment prompt
  depends on the coverage answers; the plan builds it with those items as ``not_assessed`` (same fields,
  same size within a few tokens).
- completion tokens: ``COMPLETION_SHARE`` (half) of each prompt's ``max_completion_tokens``; real answers
  are usually shorter, so the cost errs high.
- retries, invalid answers and 429s are not counted.
- time: the slowest of the three bounds: requests / rpm, tokens / tpm (minutes), and
  calls × latency / concurrency (the time the fleet needs even under generous limits).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from claim_assess.errors import ClaimInputError, ConfigError
from claim_assess.claims.coverage import match_by_rule, not_assessed
from claim_assess.claims.dataset import ClaimEntry, Dataset
from claim_assess.claims.decision import hard_check_decides
from claim_assess.claims.models import parse_claim
from claim_assess.claims.payout import compute_payout
from claim_assess.claims.prompts import assessment_prompt, coverage_prompt
from claim_assess.claims.reconcile import reconcile
from claim_assess.claims.screening import screen
from claim_assess.llm.limiter import estimate_prompt_tokens

COMPLETION_SHARE = 0.5
DEFAULT_LATENCY_S = 2.0  # a hosted model's typical answer time for these prompts; --dry-run's assumption
MAX_INVALID_SHOWN = 20
_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class InvalidClaim:
    claim_id: str
    location: str
    error: str


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

    @property
    def llm_calls(self) -> int:
        return self.coverage_calls + self.assessment_calls

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


def _price(value: float | Decimal | str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    price = Decimal(str(value))
    if not price.is_finite() or price < 0:
        raise ConfigError(f"{name} must be a non-negative number, got {value}")
    return price


def _completion(max_tokens: int) -> int:
    return math.ceil(max_tokens * COMPLETION_SHARE)


def plan_run(dataset: Dataset, entries: Iterable[ClaimEntry], *, rpm: int | None, tpm: int | None, model: str,
             latency_s: float = DEFAULT_LATENCY_S, concurrency: int = 1,
             price_in_per_m: float | Decimal | None = None, price_out_per_m: float | Decimal | None = None) -> Plan:
    """Count what assessing ``entries`` will cost. Pure: reads nothing, calls nothing."""
    if latency_s <= 0 or concurrency < 1:
        raise ConfigError("the plan needs a positive latency and a concurrency of at least 1")
    entries = list(entries)
    invalid: list[InvalidClaim] = []
    rule_decided = items_by_rule = coverage_calls = assessment_calls = prompt_tokens = completion_tokens = 0
    for entry in entries:
        # The same checks, in the same order, as claims.pipeline.assess_claim before its first LLM call.
        if entry.error is not None or entry.raw is None:
            invalid.append(InvalidClaim(entry.claim_id, entry.location,
                                        entry.error or f"{entry.location}: not a JSON object"))
            continue
        try:
            claim = parse_claim(entry.raw, f"claim {entry.claim_id}")
        except ClaimInputError as exc:
            invalid.append(InvalidClaim(entry.claim_id, entry.location, str(exc)))
            continue
        if claim.policy_id in dataset.policy_errors:
            invalid.append(InvalidClaim(claim.claim_id, entry.location, f"policy_id {claim.policy_id!r}: invalid "
                                        f"policy: {dataset.policy_errors[claim.policy_id]}"))
            continue
        policy = dataset.policies.get(claim.policy_id)
        if policy is None:
            invalid.append(InvalidClaim(claim.claim_id, entry.location,
                                        f"policy_id {claim.policy_id!r} names no policy in policies.jsonl"))
            continue
        reconciliation = reconcile(claim)
        screening = screen(claim, policy)
        if hard_check_decides(screening):
            rule_decided += 1
            continue
        coverage = []
        for item in reconciliation.unique_items:
            by_rule = match_by_rule(item, policy)
            if by_rule is not None:
                items_by_rule += 1
                coverage.append(by_rule)
                continue
            prompt = coverage_prompt(policy, item)
            coverage_calls += 1
            prompt_tokens += estimate_prompt_tokens(prompt.messages)
            completion_tokens += _completion(prompt.max_completion_tokens)
            coverage.append(not_assessed(item))
        covered_total = sum((c.total for c in coverage if c.status == "covered"), Decimal("0.00"))
        payout = compute_payout(covered_total, claim.odometer_km, policy)
        prompt = assessment_prompt(claim, policy, reconciliation, screening, coverage, payout)
        assessment_calls += 1
        prompt_tokens += estimate_prompt_tokens(prompt.messages)
        completion_tokens += _completion(prompt.max_completion_tokens)

    calls, tokens = coverage_calls + assessment_calls, prompt_tokens + completion_tokens
    return Plan(
        dataset=dataset.root,
        model=model,
        claims=len(entries),
        to_assess=len(entries) - len(invalid),
        invalid=tuple(invalid),
        rule_decided=rule_decided,
        items_by_rule=items_by_rule,
        coverage_calls=coverage_calls,
        assessment_calls=assessment_calls,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        rpm=rpm,
        tpm=tpm,
        latency_s=latency_s,
        concurrency=concurrency,
        minutes_at_rpm=calls / rpm if rpm else None,
        minutes_at_tpm=tokens / tpm if tpm else None,
        minutes_at_latency=calls * latency_s / concurrency / 60,
        price_in_per_m=_price(price_in_per_m, "the input price"),
        price_out_per_m=_price(price_out_per_m, "the output price"),
    )


def load_pricing(path: str | Path, model: str) -> tuple[Decimal, Decimal]:
    """(input, output) price per million tokens for ``model`` from a JSON file
    ``{"model": {"input_per_m": x, "output_per_m": y}, ...}``."""
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--pricing {path}: cannot read it: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--pricing {path}: not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(table, Mapping):
        raise ConfigError(f"--pricing {path}: expected a JSON object of models")
    entry = table.get(model)
    if not isinstance(entry, Mapping):
        known = ", ".join(sorted(map(str, table))) or "none"
        raise ConfigError(f"--pricing {path}: no prices for model {model!r} (models listed: {known})")
    prices = []
    for key in ("input_per_m", "output_per_m"):
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"--pricing {path}: {model}.{key} must be a number")
        try:
            price = _price(value, f"{model}.{key}")
        except ArithmeticError as exc:  # decimal.InvalidOperation for text that is not a number
            raise ConfigError(f"--pricing {path}: {model}.{key} must be a number, got {value!r}") from exc
        prices.append(price)
    return prices[0], prices[1]  # type: ignore[return-value]


def resolve_prices(model: str, *, price_input: float | None, price_output: float | None,
                   pricing_file: str | Path | None) -> tuple[Decimal | None, Decimal | None]:
    """Flags win over the file; a file without the flags supplies both prices."""
    from_file: tuple[Decimal | None, Decimal | None] = (None, None)
    if pricing_file is not None:
        from_file = load_pricing(pricing_file, model)
    return (_price(price_input, "--price-input") if price_input is not None else from_file[0],
            _price(price_output, "--price-output") if price_output is not None else from_file[1])


def _duration(minutes: float) -> str:
    seconds = minutes * 60
    if seconds < 90:
        return f"{seconds:.0f} s"
    if minutes < 90:
        return f"{minutes:.1f} min"
    return f"{minutes / 60:.1f} h"


def plan_to_json(plan: Plan) -> dict[str, Any]:
    money = lambda v: None if v is None else str(v)  # noqa: E731
    return {
        "dry_run": True,
        "dataset": plan.dataset,
        "model": plan.model,
        "claims": plan.claims,
        "to_assess": plan.to_assess,
        "failing_validation": len(plan.invalid),
        "invalid": [{"claim_id": i.claim_id, "location": i.location, "error": i.error} for i in plan.invalid],
        "rule_decided": plan.rule_decided,
        "items_by_rule": plan.items_by_rule,
        "llm_calls": {"coverage": plan.coverage_calls, "assessment": plan.assessment_calls, "total": plan.llm_calls},
        "tokens": {"prompt": plan.prompt_tokens, "completion": plan.completion_tokens, "total": plan.tokens,
                   "completion_share_of_max": COMPLETION_SHARE},
        "limits": {"rpm": plan.rpm, "tpm": plan.tpm, "latency_s": plan.latency_s, "concurrency": plan.concurrency},
        "minutes": round(plan.minutes, 3),
        "bound": plan.bound,
        "minutes_at": {"rpm": plan.minutes_at_rpm, "tpm": plan.minutes_at_tpm, "latency": plan.minutes_at_latency},
        "price_per_million": {"input": money(plan.price_in_per_m), "output": money(plan.price_out_per_m)},
        "cost": money(plan.cost),
    }


def render_plan(plan: Plan) -> RenderableType:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("dataset", plan.dataset)
    table.add_row("claims", f"{plan.claims:,} selected · {plan.to_assess:,} to assess · "
                            f"{len(plan.invalid):,} already failing validation")
    table.add_row("decided by rules", f"{plan.rule_decided:,} claims (a hard check fails: no LLM call)")
    table.add_row("line items", f"{plan.items_by_rule:,} classified by rule · {plan.coverage_calls:,} need the LLM")
    table.add_row("LLM calls", f"{plan.llm_calls:,}  ({plan.coverage_calls:,} coverage + "
                               f"{plan.assessment_calls:,} assessment; retries not counted)")
    table.add_row("tokens", f"{plan.tokens:,}  ({plan.prompt_tokens:,} prompt + ~{plan.completion_tokens:,} "
                            f"completion, estimated at {COMPLETION_SHARE:.0%} of max_completion_tokens)")
    limits = ", ".join(part for part in (f"{plan.rpm:,} requests/min" if plan.rpm else "",
                                         f"{plan.tpm:,} tokens/min" if plan.tpm else "") if part) or "none given"
    table.add_row("limits", limits)
    why = {"rpm": "the requests/min limit", "tpm": "the tokens/min limit",
           "latency": f"{plan.latency_s:g} s per call with {plan.concurrency} claims in flight"}[plan.bound]
    table.add_row("time", f"about {_duration(plan.minutes)} (set by {why})")
    cost = plan.cost
    if cost is None:
        table.add_row("cost", "give --price-input/--price-output or --pricing FILE")
    else:
        amount = f"{cost:,.2f}" if cost >= 1 else f"{cost:.4f}"
        table.add_row("cost", f"about {amount} at {plan.price_in_per_m}/M input and {plan.price_out_per_m}/M "
                              f"output tokens ({plan.model}; retries not counted)")
    parts: list[RenderableType] = [Text(f"Dry run: no LLM call made · model {plan.model}", style="bold"), table]
    if plan.invalid:
        bad = Table(title=f"claims failing validation ({len(plan.invalid)})", title_justify="left")
        bad.add_column("claim")
        bad.add_column("where")
        bad.add_column("error", overflow="fold")
        for item in plan.invalid[:MAX_INVALID_SHOWN]:
            bad.add_row(item.claim_id, item.location, item.error)
        if len(plan.invalid) > MAX_INVALID_SHOWN:
            bad.caption = f"… and {len(plan.invalid) - MAX_INVALID_SHOWN} more (--json lists them all)"
        parts.append(bad)
    return Group(*parts)


def dry_run(dataset: Dataset, entries: Iterable[ClaimEntry], settings: Any, *, price_input: float | None,
            price_output: float | None, pricing_file: str | Path | None,
            latency_s: float = DEFAULT_LATENCY_S) -> Plan:
    """The plan for a run's settings (anything with model, rpm, tpm, actors, claims_per_actor, like
    drivers.assess.RunSettings). Raises ConfigError for bad prices or a pricing file without the model."""
    price_in, price_out = resolve_prices(settings.model, price_input=price_input, price_output=price_output,
                                         pricing_file=pricing_file)
    return plan_run(dataset, entries, rpm=settings.rpm, tpm=settings.tpm, model=settings.model, latency_s=latency_s,
                    concurrency=settings.actors * settings.claims_per_actor, price_in_per_m=price_in,
                    price_out_per_m=price_out)


def print_plan(plan: Plan, console: Any, *, as_json: bool) -> None:
    """The plan on stdout as JSON (``--json``), else rendered for people on ``console``."""
    if as_json:
        print(json.dumps(plan_to_json(plan), indent=2))
    else:
        console.print(render_plan(plan))
