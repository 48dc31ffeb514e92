"""The dry-run planner: counts on the sample checked against an independent count made here from the raw
claims, the errors of claims the pipeline would fail, and the time and cost arithmetic."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import math
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from claim_assess.errors import ConfigError
from claim_assess.claims.dataset import read_dataset
from claim_assess.claims.decision import FAILED
from claim_assess.claims.pipeline import assess_claim
from claim_assess.claims.prompts import ASSESSMENT_MAX_TOKENS, COVERAGE_MAX_TOKENS
from claim_assess.plan import Plan, dry_run, plan_run, print_plan
from claim_assess.plan.render import plan_to_json, render_plan
from claim_assess.run.settings import RunSettings

SAMPLE = Path(__file__).resolve().parent.parent / "claim_assess" / "data" / "sample"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def independent_count(directory: Path) -> tuple[int, int, int]:
    """(claims decided by a hard check, coverage calls, assessment calls), straight from spec 2.3 / 2.5
    on the raw JSON: no pipeline code involved."""
    policies = {p["policy_id"]: p for p in _jsonl(directory / "policies.jsonl")}
    hard = coverage = assessment = 0
    for claim in _jsonl(directory / "claims.jsonl"):
        policy = policies[claim["policy_id"]]
        loss = dt.date.fromisoformat(claim["loss_date"])
        start, end = dt.date.fromisoformat(policy["valid_from"]), dt.date.fromisoformat(policy["valid_to"])
        inactive = not start <= loss <= end
        over = policy.get("max_odometer_km") is not None and claim["odometer_km"] > policy["max_odometer_km"]
        if inactive or over:
            hard += 1
            continue
        known = {_norm(c) for cat in policy["coverage"] for c in cat["components"]}
        known |= {_norm(c) for ex in policy["exclusions"] for c in ex["components"]}
        seen = set()
        for item in claim["line_items"]:
            key = (item["doc_id"], _norm(item["description"]), Decimal(item["total"]))
            if key in seen:
                continue  # a duplicate line item is assessed once
            seen.add(key)
            if item["component"] is None or _norm(item["component"]) not in known:
                coverage += 1
        assessment += 1
    return hard, coverage, assessment


def test_sample_counts_match_an_independent_count() -> None:
    dataset = read_dataset(SAMPLE)
    plan = plan_run(dataset, dataset.entries, rpm=None, tpm=None, model="m", latency_s=1.0, concurrency=10)
    hard, coverage, assessment = independent_count(SAMPLE)
    assert (plan.rule_decided, plan.coverage_calls, plan.assessment_calls) == (hard, coverage, assessment)
    assert plan.claims == plan.to_assess == len(_jsonl(SAMPLE / "claims.jsonl")) and plan.invalid == ()
    # the hard checks are the claims expected.jsonl says a policy-period or mileage rule denies
    denied_by_hard_check = [x for x in _jsonl(SAMPLE / "expected.jsonl")
                            if x["reason"] in ("POLICY_INACTIVE", "MILEAGE_EXCEEDED")]
    assert hard == len(denied_by_hard_check) > 0
    # Rule 7b asks a facts check of every claim paid automatically; the plan cannot know the model's answers, so
    # it counts one per claim the model could approve: never one that a rule refers whatever the model says.
    referred_by_rule = sum(x["reason"] in ("RECONCILIATION_FAILED", "FLAG_SUSPECTED_INJECTION")
                           for x in _jsonl(SAMPLE / "expected.jsonl"))
    assert referred_by_rule > 0 and 0 < plan.facts_checks <= assessment - referred_by_rule
    assert plan.llm_calls == coverage + assessment + plan.facts_checks
    assert plan.completion_tokens == ((coverage * math.ceil(COVERAGE_MAX_TOKENS / 2))
                                      + (assessment + plan.facts_checks) * math.ceil(ASSESSMENT_MAX_TOKENS / 2))
    # every prompt carries the policy terms, so it is far longer than a few hundred characters
    assert plan.prompt_tokens > plan.llm_calls * 150
    assert plan.bound == "latency" and plan.minutes == pytest.approx(plan.llm_calls * 1.0 / 10 / 60)
    assert plan.cost is None


def test_time_at_the_limits_and_cost() -> None:
    dataset = read_dataset(SAMPLE)
    base = plan_run(dataset, dataset.entries, rpm=None, tpm=None, model="m")
    by_rpm = plan_run(dataset, dataset.entries, rpm=10, tpm=10_000_000, model="m", latency_s=0.1, concurrency=64)
    assert by_rpm.bound == "rpm" and by_rpm.minutes == pytest.approx(base.llm_calls / 10)
    by_tpm = plan_run(dataset, dataset.entries, rpm=100_000, tpm=1000, model="m", latency_s=0.1, concurrency=64,
                      price_in_per_m=2.5, price_out_per_m="10")
    assert by_tpm.bound == "tpm" and by_tpm.minutes == pytest.approx(base.tokens / 1000)
    expected = (Decimal(base.prompt_tokens) * Decimal("2.5") + Decimal(base.completion_tokens) * 10) / 1_000_000
    assert by_tpm.cost == expected.quantize(Decimal("0.0001"))
    with pytest.raises(ConfigError):
        plan_run(dataset, dataset.entries, rpm=None, tpm=None, model="m", price_in_per_m=-1, price_out_per_m=1)


def test_invalid_claims_are_counted_with_their_errors(tmp_path: Path) -> None:
    (tmp_path / "policies.jsonl").write_text((SAMPLE / "policies.jsonl").read_text())
    claims = _jsonl(SAMPLE / "claims.jsonl")[:3]
    unknown = {**claims[1], "claim_id": "C-UNKNOWN-POLICY", "policy_id": "POL-NOPE-0001"}
    bad_field = {**claims[2], "claim_id": "C-BAD-ODOMETER", "odometer_km": -5}
    lines = [json.dumps(claims[0]), json.dumps(unknown), json.dumps(bad_field), "{not json"]
    (tmp_path / "claims.jsonl").write_text("\n".join(lines) + "\n")
    dataset = read_dataset(tmp_path)
    plan = plan_run(dataset, dataset.entries, rpm=60, tpm=None, model="m")
    assert plan.claims == 4 and plan.to_assess == 1 and len(plan.invalid) == 3
    errors = {i.claim_id: i.error for i in plan.invalid}
    assert "names no policy" in errors["C-UNKNOWN-POLICY"]
    assert "odometer_km" in errors["C-BAD-ODOMETER"]
    assert any("not valid JSON" in e for e in errors.values())
    text = _render(plan)
    assert "3 already failing validation" in text and "C-BAD-ODOMETER" in text
    data = plan_to_json(plan)
    assert data["failing_validation"] == 3 and len(data["invalid"]) == 3 and data["dry_run"] is True


def _render(plan) -> str:
    out = io.StringIO()
    Console(file=out, width=140, force_terminal=False).print(render_plan(plan))
    return out.getvalue()


def test_dry_run_takes_a_runs_settings(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    dataset = read_dataset(SAMPLE)
    settings = RunSettings(input=str(SAMPLE), workspace=str(tmp_path), run_id="r1", model="gpt-x", rpm=None,
                           tpm=500, actors=2, claims_per_actor=4)
    plan = dry_run(dataset, dataset.entries, settings, price_input=0.5, price_output=None, pricing_file=None)
    assert isinstance(plan, Plan)
    assert plan.concurrency == 8 and plan.tpm == 500 and plan.bound == "tpm" and plan.cost is None
    print_plan(plan, Console(file=io.StringIO()), as_json=True)
    assert json.loads(capsys.readouterr().out)["limits"]["tpm"] == 500


class NeverAsked:
    """An advisor for claims that must fail before any LLM call."""

    async def ask(self, prompt, parse):
        raise AssertionError(f"a failing claim asked for {prompt.purpose}")


def _pipeline_errors(dataset, entries) -> dict[str, str]:
    async def assess_all():
        return [await assess_claim(e, dataset.policies, dataset.policy_errors, NeverAsked()) for e in entries]

    return {a.claim_id: a.error for a in asyncio.run(assess_all()) if a.decision == FAILED}


def test_a_claim_the_pipeline_fails_carries_the_pipelines_error(tmp_path: Path) -> None:
    policies = _jsonl(SAMPLE / "policies.jsonl")
    broken_policy = {**policies[0], "policy_id": "POL-BROKEN-0001", "currency": 5}
    (tmp_path / "policies.jsonl").write_text("\n".join(json.dumps(p) for p in [*policies, broken_policy]) + "\n")
    hard_checked = {x["claim_id"] for x in _jsonl(SAMPLE / "expected.jsonl")
                    if x["reason"] in ("POLICY_INACTIVE", "MILEAGE_EXCEEDED")}
    claim = next(c for c in _jsonl(SAMPLE / "claims.jsonl") if c["claim_id"] not in hard_checked)
    policy = next(p for p in policies if p["policy_id"] == claim["policy_id"])
    covered = policy["coverage"][0]["components"][0]
    huge = [{"item_id": f"L{n}", "doc_id": claim["line_items"][0]["doc_id"], "description": f"part {n}",
             "item_type": "part", "component": covered, "quantity": "1", "unit_price": "9000000000.00",
             "total": "9000000000.00"} for n in (1, 2)]
    failing = [
        {**claim, "claim_id": "C-UNKNOWN-POLICY", "policy_id": "POL-NOPE-0001"},
        {**claim, "claim_id": "C-BROKEN-POLICY", "policy_id": "POL-BROKEN-0001"},
        {**claim, "claim_id": "C-NO-NARRATIVE", "narrative": None},
        # every item classified by rule, and together more than a result can hold: FAILED after the rules
        {**claim, "claim_id": "C-TOO-LARGE", "line_items": huge},
    ]
    lines = [json.dumps(claim), *map(json.dumps, failing), "[1, 2]", "{not json"]
    (tmp_path / "claims.jsonl").write_text("\n".join(lines) + "\n")
    dataset = read_dataset(tmp_path)
    expected = _pipeline_errors(dataset, dataset.entries[1:])
    assert len(expected) == 6 and "exceeds the largest amount" in expected["C-TOO-LARGE"]

    plan = plan_run(dataset, dataset.entries, rpm=None, tpm=None, model="m")
    assert {i.claim_id: i.error for i in plan.invalid} == expected
    assert {i.location for i in plan.invalid} == {e.location for e in dataset.entries[1:]}
    assert plan.to_assess == 1 and plan.rule_decided == 0 and plan.assessment_calls == 1


def test_claims_are_planned_without_an_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # The planning advisor never waits: a loop (or a task per coverage question) would cost more than the claim.
    loops = []
    real_run = asyncio.run
    monkeypatch.setattr(asyncio, "run", lambda main: loops.append(main) or real_run(main))
    dataset = read_dataset(SAMPLE)
    plan = plan_run(dataset, dataset.entries, rpm=None, tpm=None, model="m")
    assert plan.claims == len(dataset.entries) > 1 and loops == []


def test_entries_are_a_stream_walked_once() -> None:
    dataset = read_dataset(SAMPLE)
    walked = []

    def stream():  # no len(), no second pass
        for entry in dataset.entries:
            walked.append(entry.claim_id)
            yield entry

    plan = plan_run(dataset, stream(), rpm=None, tpm=None, model="m")
    assert plan == plan_run(dataset, dataset.entries, rpm=None, tpm=None, model="m")
    assert walked == [e.claim_id for e in dataset.entries]


class _TickClock:
    """A CPU clock that moves one tick per reading, so every split is counted in readings of the clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_the_plan_splits_its_cpu_time_between_reading_and_validating_and_planning():
    dataset = read_dataset(SAMPLE)
    clock = _TickClock()
    plan = plan_run(dataset, dataset.entries, rpm=None, tpm=None, model="m", clock=clock)
    assert plan.cpu is not None
    # the two parts add up to the whole span the clock saw: from the tally's first reading to its last
    assert plan.cpu.read_validate_s + plan.cpu.plan_s == clock.now - 1.0
    # each claim is read (a reading before it is asked for) and validated (a reading at the end of validation or
    # of the claim): the claims that reach the rules are counted apart from those failing before them
    assert plan.cpu.read_validate_s == plan.claims
    assert plan.cpu.plan_s > 0
    data = plan_to_json(plan)["cpu"]
    assert data["read_validate_claims_per_s"] == 1.0 and data["plan_claims_per_s"] > 0


def test_validation_failures_count_as_reading_and_validating_only(tmp_path):
    (tmp_path / "policies.jsonl").write_text((SAMPLE / "policies.jsonl").read_text())
    (tmp_path / "claims.jsonl").write_text('{"claim_id": "C-1"}\n{"claim_id": "C-2", "policy_id": 7}\n')
    dataset = read_dataset(tmp_path)
    plan = plan_run(dataset, dataset.entries, rpm=None, tpm=None, model="m", clock=_TickClock())
    assert plan.cpu is not None and len(plan.invalid) == 2
    assert plan.cpu.read_validate_s == 2 * 1.0
