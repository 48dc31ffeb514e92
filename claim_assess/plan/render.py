"""A Plan for people (a rich renderable) and for programs (a JSON-ready dict). Pure: nothing here reads or counts."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from claim_assess.plan.planner import COMPLETION_SHARE, Plan

MAX_INVALID_SHOWN = 20  # more would push the totals off a terminal; --json lists them all


def _duration(minutes: float) -> str:
    seconds = minutes * 60
    if seconds < 90:
        return f"{seconds:.0f} s"
    if minutes < 90:
        return f"{minutes:.1f} min"
    return f"{minutes / 60:.1f} h"


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def plan_to_json(plan: Plan) -> dict[str, Any]:
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
        "llm_calls": {"coverage": plan.coverage_calls, "assessment": plan.assessment_calls,
                      "facts_check_at_most": plan.facts_checks, "total": plan.llm_calls,
                      "reused": plan.reused_calls},
        "tokens": {"prompt": plan.prompt_tokens, "completion": plan.completion_tokens, "total": plan.tokens,
                   "completion_share_of_max": COMPLETION_SHARE},
        "limits": {"rpm": plan.rpm, "tpm": plan.tpm, "latency_s": plan.latency_s, "concurrency": plan.concurrency},
        "minutes": round(plan.minutes, 3),
        "bound": plan.bound,
        "minutes_at": {"rpm": plan.minutes_at_rpm, "tpm": plan.minutes_at_tpm, "latency": plan.minutes_at_latency},
        "price_per_million": {"input": _money(plan.price_in_per_m), "output": _money(plan.price_out_per_m)},
        "cost": _money(plan.cost),
        "cpu": None if plan.cpu is None else _cpu_json(plan),
    }


def _per_cpu_second(claims: int, seconds: float) -> float | None:
    return round(claims / seconds, 1) if seconds > 0 else None


def _cpu_json(plan: Plan) -> dict[str, Any]:
    cpu = plan.cpu
    assert cpu is not None
    return {"read_validate_s": round(cpu.read_validate_s, 3), "plan_s": round(cpu.plan_s, 3),
            "read_validate_claims_per_s": _per_cpu_second(plan.claims, cpu.read_validate_s),
            "plan_claims_per_s": _per_cpu_second(plan.to_assess, cpu.plan_s)}


def _totals(plan: Plan) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("dataset", plan.dataset)
    table.add_row("claims", f"{plan.claims:,} selected · {plan.to_assess:,} to assess · "
                            f"{len(plan.invalid):,} already failing validation")
    table.add_row("decided by rules", f"{plan.rule_decided:,} claims (a hard check fails: no LLM call)")
    table.add_row("line items", f"{plan.items_by_rule:,} classified by rule · {plan.coverage_calls:,} need the LLM")
    table.add_row("LLM calls", f"up to {plan.llm_calls:,}  ({plan.coverage_calls:,} coverage + "
                               f"{plan.assessment_calls:,} assessment + up to {plan.facts_checks:,} facts checks, "
                               "one per claim that would be paid automatically; retries not counted)")
    if plan.reused_calls:
        table.add_row("reused answers", f"{plan.reused_calls:,} calls answered from the ledger (--reuse-answers): "
                                        "not sent, not counted above")
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
    if plan.cpu is not None:
        table.add_row("this dry run", _cpu_row(plan))
    return table


def _cpu_row(plan: Plan) -> str:
    cpu = _cpu_json(plan)
    rates = [f"{cpu['read_validate_s']:.1f} CPU-s reading + validating"]
    if cpu["read_validate_claims_per_s"]:
        rates[0] += f" ({cpu['read_validate_claims_per_s']:,.0f} claims/s)"
    rates.append(f"{cpu['plan_s']:.1f} CPU-s planning")
    if cpu["plan_claims_per_s"]:
        rates[1] += f" ({cpu['plan_claims_per_s']:,.0f} claims/s)"
    return " · ".join(rates)


def _invalid(plan: Plan) -> Table:
    bad = Table(title=f"claims failing validation ({len(plan.invalid)})", title_justify="left")
    bad.add_column("claim")
    bad.add_column("where")
    bad.add_column("error", overflow="fold")
    for item in plan.invalid[:MAX_INVALID_SHOWN]:
        bad.add_row(item.claim_id, item.location, item.error)
    if len(plan.invalid) > MAX_INVALID_SHOWN:
        bad.caption = f"… and {len(plan.invalid) - MAX_INVALID_SHOWN} more (--json lists them all)"
    return bad


def render_plan(plan: Plan) -> RenderableType:
    parts: list[RenderableType] = [Text(f"Dry run: no LLM call made · model {plan.model}", style="bold"),
                                   _totals(plan)]
    if plan.invalid:
        parts.append(_invalid(plan))
    return Group(*parts)


def print_plan(plan: Plan, console: Console, *, as_json: bool) -> None:
    """The plan on stdout as JSON (--json), else rendered for people on ``console``."""
    if as_json:
        print(json.dumps(plan_to_json(plan), indent=2))
    else:
        console.print(render_plan(plan))
