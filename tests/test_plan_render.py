"""The plan rendered for people and as JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from claim_assess.claims.dataset import read_dataset
from claim_assess.plan import plan_run
from claim_assess.plan.render import plan_to_json, render_plan

SAMPLE = Path(__file__).resolve().parent.parent / "claim_assess" / "data" / "sample"


def _render(plan) -> str:
    out = io.StringIO()
    Console(file=out, width=140, force_terminal=False).print(render_plan(plan))
    return out.getvalue()


def test_render_and_json() -> None:
    dataset = read_dataset(SAMPLE)
    plan = plan_run(dataset, dataset.entries, rpm=600, tpm=None, model="gpt-x", latency_s=2.0, concurrency=32,
                    price_in_per_m=0.15, price_out_per_m=0.6)
    text = _render(plan)
    assert "no LLM call made" in text and f"{plan.llm_calls:,}" in text and "requests/min limit" in text
    assert "0.15/M input" in text
    data = plan_to_json(plan)
    assert data["llm_calls"] == {"coverage": plan.coverage_calls, "assessment": plan.assessment_calls,
                                 "facts_check_at_most": plan.facts_checks, "total": plan.llm_calls,
                                 "reused": 0}  # no --reuse-answers: nothing reused
    assert f"up to {plan.facts_checks:,} facts checks" in text
    assert data["bound"] == "rpm" and data["cost"] == str(plan.cost) and data["limits"]["rpm"] == 600
    json.dumps(data)
