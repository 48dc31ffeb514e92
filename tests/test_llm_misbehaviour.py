"""LLM misbehaviour end to end (issue 5, point 6): invalid JSON, schema violations, refusals, empty content and
answers cut off at max_completion_tokens are retried within the policy's bounds, then handled as the claims
spec says: a coverage answer that stays invalid makes its item ``review`` with LLM_INVALID_OUTPUT (the claim
goes to a human, COVERAGE_REVIEW); an assessment answer that stays invalid makes the claim FAILED with a
clear error. Everything runs through assess_claim -> ClaimAdvisor -> LLMClient over HTTP on 127.0.0.1:
the real simulator for the faults it can inject, a small scripted server for the ones it cannot.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from claim_assess.errors import EndpointUnavailable, InvalidOutputError
from claim_assess.claims.dataset import ClaimEntry
from claim_assess.claims.pipeline import Assessment, assess_claim
from claim_assess.claims.prompts import extract_payload, parse_assessment_answer, parse_coverage_answer
from claim_assess.llm.advisor import ClaimAdvisor
from claim_assess.llm.client import LLMClient
from claim_assess.llm.limiter import NoLimit
from claim_assess.llm.retry import RetryPolicy
from claim_assess.simulator.tasks import answer
from claim_assess.simulator.server import SimulatorConfig, start_simulator
from test_claims_fixtures import claim_dict, doc, item, make_policy

POLICY = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05, deadline_s=60.0, invalid_output_attempts=3)


def one_llm_item_claim() -> dict[str, Any]:
    """L1 is covered by rule; L2 names no component, so exactly one coverage call precedes the assessment."""
    return claim_dict(
        documents=[doc("D1", "invoice", {"odometer_km": 20000, "loss_date": "2026-03-01"})],
        line_items=[item("L1", description="Turbocharger", unit_price="1000.00", total="1000.00"),
                    item("L2", description="Replace oil pump", component=None, unit_price="300.00", total="300.00")],
    )


def rule_only_claim() -> dict[str, Any]:
    return claim_dict(line_items=[item("L1", description="Turbocharger", unit_price="1000.00", total="1000.00")])


async def assess_over(url: str, raw: dict[str, Any], retry: RetryPolicy = POLICY) -> tuple[Assessment, ClaimAdvisor]:
    policy = make_policy()
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:  # the policy's waits are recorded, never slept
        waits.append(seconds)

    async with LLMClient(base_url=url, api_key="sk-misbehaviour-test-key", model="sim-gpt", limiter=NoLimit(),
                         policy=retry, sleep=no_sleep, timeout_s=10.0) as client:
        advisor = ClaimAdvisor(client, run_id="run-mis", claim_id=raw["claim_id"])
        entry = ClaimEntry(0, "claims.jsonl line 1", raw["claim_id"], raw, None)
        result = await assess_claim(entry, {policy.policy_id: policy}, {}, advisor)
    assert len(waits) < max(1, len(advisor.attempts))  # at most one wait between two attempts of a call
    return result, advisor


def with_simulator(raw: dict[str, Any], retry: RetryPolicy = POLICY, **config: Any) -> tuple[Assessment, ClaimAdvisor]:
    with start_simulator(SimulatorConfig(latency_median_ms=0, latency_p95_ms=0, **config)) as sim:
        return asyncio.run(assess_over(sim.url, raw, retry))


def purposes(advisor: ClaimAdvisor) -> list[str]:
    return [a.purpose for a in advisor.attempts]


def item_of(result: Assessment, item_id: str):
    return next(c for c in result.items if c.item_id == item_id)


@pytest.fixture(scope="module")
def clean():
    result, advisor = with_simulator(one_llm_item_claim())
    # paid automatically: rule 7b's facts check follows the assessment
    assert result.decision == "APPROVE" and purposes(advisor) == ["coverage", "assessment", "facts_check"]
    assert item_of(result, "L2").status == "covered"
    return result


# --- the simulator's faults ----------------------------------------------------------------------------


@pytest.mark.parametrize("faults", [("invalid_json",) * 3, ("schema_violation",) * 3,
                                    ("invalid_json", "schema_violation", "invalid_json"),
                                    ("5xx", "invalid_json", "drop", "schema_violation", "invalid_json")])
def test_coverage_that_stays_invalid_becomes_review_and_the_claim_is_referred(clean, faults):
    result, advisor = with_simulator(one_llm_item_claim(), fault_script=faults)
    l2 = item_of(result, "L2")
    assert (l2.status, l2.method, l2.reason) == ("review", "llm", "LLM_INVALID_OUTPUT")
    assert result.decision == "REFER" and result.reasons[0] == "COVERAGE_REVIEW"
    # Bounded: exactly as many attempts as the faults (3 invalid answers end the call), then the assessment.
    assert purposes(advisor) == ["coverage"] * len(faults) + ["assessment"]
    assert sum(1 for a in advisor.attempts if a.error and "invalid output" in a.error) == 3
    # The item in review is out of the covered total: the proposal covers L1 only.
    assert result.covered_total == Decimal("1000.00") < clean.covered_total
    assert result.error is None


@pytest.mark.parametrize("faults", [("invalid_json", "ok"), ("schema_violation", "invalid_json", "ok")])
def test_invalid_coverage_answers_then_a_good_one_decide_as_if_clean(clean, faults):
    result, advisor = with_simulator(one_llm_item_claim(), fault_script=faults)
    assert (result.decision, result.reasons, result.payout) == (clean.decision, clean.reasons, clean.payout)
    assert purposes(advisor) == ["coverage"] * len(faults) + ["assessment", "facts_check"]


@pytest.mark.parametrize("fault", ["rate_invalid_json", "rate_schema_violation"])
def test_an_assessment_that_stays_invalid_fails_the_claim_with_a_clear_error(fault):
    result, advisor = with_simulator(rule_only_claim(), **{fault: 1.0})
    assert result.decision == "FAILED"
    assert result.error.startswith("assessment: invalid output: ")
    assert "3 time(s)" in result.error and "claim C-1" in result.error
    assert result.payout == Decimal("0.00") and result.confidence is None
    assert purposes(advisor) == ["assessment"] * 3


def test_a_model_that_never_answers_validly_fails_the_claim_after_bounded_attempts():
    result, advisor = with_simulator(one_llm_item_claim(), rate_invalid_json=1.0)
    assert result.decision == "FAILED" and "assessment: invalid output" in result.error
    assert purposes(advisor) == ["coverage"] * 3 + ["assessment"] * 3


def test_retries_used_up_on_a_mix_of_faults_leave_the_claim_undecided_not_failed():
    # Six attempts (max_attempts) that failed for the endpoint's reasons, not the claim's: the claim had no fair
    # try, so it gets no decision at all (the run retries it later, or a resume does).
    faults = ("invalid_json", "5xx", "5xx", "drop", "5xx", "5xx")
    with pytest.raises(EndpointUnavailable, match="gave up after 6 attempts: coverage call for claim"):
        with_simulator(one_llm_item_claim(), fault_script=faults)


# --- what the simulator cannot do: refusals, empty content, cut-off answers ------------------------------


class ScriptedModel:
    """An OpenAI-shaped server that misbehaves as scripted per schema, then answers like the task model."""

    def __init__(self, script: dict[str, list[str]]):
        self.script = {name: deque(steps) for name, steps in script.items()}
        self.served: list[tuple[str, str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        schema = body["response_format"]["json_schema"]["name"]
        steps = self.script.get(schema)
        step = steps.popleft() if steps else "ok"
        self.served.append((schema, step))
        _, reply = answer(schema, extract_payload(body["messages"]))
        content: str | None = json.dumps(reply)
        refusal, finish = None, "stop"
        if step == "refusal":
            content, refusal = None, "I'm sorry, I can't help with that request."
        elif step == "empty":
            content = ""
        elif step == "whitespace":
            content = "  \n "
        elif step == "length":
            content, finish = content[: len(content) // 3], "length"
        elif step == "length_complete":  # a full answer still flagged as cut off must not be trusted
            finish = "length"
        elif step == "prose":
            content = "Sure! Here is my assessment: " + content
        elif step == "huge_number":  # Python refuses ints of more than 4300 digits with a bare ValueError
            content = content.replace('"confidence": 0.9', '"confidence": ' + "1" * 5000)
        return web.json_response({
            "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                         "message": {"role": "assistant", "content": content, "refusal": refusal}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        })


def with_scripted(raw: dict[str, Any], script: dict[str, list[str]]) -> tuple[Assessment, ClaimAdvisor,
                                                                                list[tuple[str, str]]]:
    model = ScriptedModel(script)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", model.handle)

    async def go():
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            return await assess_over(str(server.make_url("/v1")), raw)
        finally:
            await server.close()

    result, advisor = asyncio.run(go())
    return result, advisor, model.served


@pytest.mark.parametrize("steps", [["refusal"] * 3, ["empty"] * 3, ["length"] * 3, ["huge_number"] * 3,
                                   ["refusal", "whitespace", "length_complete"], ["prose", "empty", "refusal"]])
def test_coverage_refused_empty_or_cut_off_becomes_review(steps):
    result, advisor, served = with_scripted(one_llm_item_claim(), {"coverage_decision": steps})
    assert [s for _, s in served] == steps + ["ok"]
    l2 = item_of(result, "L2")
    assert (l2.status, l2.reason) == ("review", "LLM_INVALID_OUTPUT")
    assert result.decision == "REFER" and result.reasons[0] == "COVERAGE_REVIEW"
    errors = [a.error for a in advisor.attempts if a.purpose == "coverage"]
    assert len(errors) == 3 and all(e and e.startswith("invalid output: ") for e in errors)


@pytest.mark.parametrize("steps,fragment", [
    (["refusal"] * 3, "model refused"),
    (["empty"] * 3, "empty content"),
    (["length"] * 3, "cut off at max_completion_tokens"),
    (["whitespace", "empty", "length_complete"], "cut off at max_completion_tokens"),
])
def test_assessment_refused_empty_or_cut_off_fails_the_claim(steps, fragment):
    result, advisor, served = with_scripted(rule_only_claim(), {"claim_assessment": steps})
    assert [s for _, s in served] == steps
    assert result.decision == "FAILED" and result.error.startswith("assessment: invalid output: ")
    assert fragment in result.error
    assert len(advisor.attempts) == 3


@pytest.mark.parametrize("steps", [["refusal", "ok"], ["empty", "length"], ["length", "refusal"]])
def test_misbehaviour_within_the_bound_then_a_good_answer_is_assessed(steps):
    result, advisor, served = with_scripted(rule_only_claim(), {"claim_assessment": steps})
    assert result.decision == "APPROVE" and result.error is None
    assessment = len(steps) if steps[-1] == "ok" else len(steps) + 1
    assert len(advisor.attempts) == len(served) == assessment + 1  # and the facts check, answered at once
    assert served[-1] == ("claim_facts_check", "ok")


# --- whatever the model returns, only InvalidOutputError comes out of the answer parsers -------------------

_ANSWER_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["covered", "review", "APPROVE", "suspected_injection"]),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.sampled_from(["status", "category", "component", "confidence", "reason", "recommendation", "rationale",
                         "flags", "extra"]), kids, max_size=6),
    max_leaves=10)
_ANSWER_TEXTS = st.one_of(
    _ANSWER_VALUES.map(lambda v: json.dumps(v, allow_nan=True)),
    st.text(max_size=60),
    st.sampled_from(["", " ", "{", "[" * 5000, '{"confidence": ' + "9" * 5000 + "}", "NaN", '{"a": 1, "a": 2}',
                     '{"flags": ["\\ud800"]}']),
)


@pytest.mark.slow  # 200 examples
@settings(max_examples=200, deadline=None)
@given(text=_ANSWER_TEXTS)
def test_answer_parsers_raise_only_invalid_output_error(text):
    for parse in (parse_coverage_answer, parse_assessment_answer):
        try:
            parse(text)
        except InvalidOutputError as exc:
            str(exc).encode("utf-8")
