"""LLMClient and ClaimAdvisor against the real simulator on 127.0.0.1 (latency 0, scripted faults)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

import pytest

from claim_assess.errors import (
    ClaimAssessError,
    DeadlineExceeded,
    EndpointRejected,
    EndpointUnavailable,
    InvalidOutputError,
    QuotaExhausted,
)
from claim_assess.claims.prompts import (
    ASSESSMENT_SCHEMA,
    COVERAGE_SCHEMA,
    PromptSpec,
    fence,
    parse_assessment_answer,
    parse_coverage_answer,
)
from claim_assess.llm.advisor import ClaimAdvisor
from claim_assess.llm.attempts import AttemptRecord
from claim_assess.llm.accounting import LLMUsage
from claim_assess.llm.client import LLMClient
from claim_assess.llm.limiter import AttemptOutcome, Permit, estimate_prompt_tokens
from claim_assess.llm.retry import RetryPolicy
from claim_assess.simulator.server import SimulatorConfig, start_simulator

API_KEY = "sk-test-LEAKCHECK-7f3a9c2e51"
FAST = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05, deadline_s=60.0, invalid_output_attempts=3)


def coverage_prompt(description: str = "Replace the oil pump", item_type: str = "part") -> PromptSpec:
    payload = {
        "task": "coverage",
        "policy": {"coverage": [{"category": "engine", "components": ["oil pump", "turbocharger"]}],
                   "exclusions": [{"clause": "E1", "description": "wear", "components": ["clutch disc"]}]},
        "item": {"item_id": "item-1", "description": description, "item_type": item_type, "component": None},
    }
    messages = ({"role": "system", "content": "You classify line items."},
                {"role": "user", "content": "Classify this.\n\n" + fence(payload)})
    return PromptSpec("coverage", "item-1", "coverage_decision", COVERAGE_SCHEMA, messages, 200)


def assessment_prompt(narrative: str) -> PromptSpec:
    payload = {
        "task": "assessment",
        "claim": {"claim_id": "CLM-1", "policy_id": "P-1", "loss_date": "2026-05-01", "reported_date": "2026-05-02",
                  "odometer_km": 40000, "narrative": narrative,
                  "documents": [{"doc_id": "d1", "doc_type": "invoice", "facts": {}, "text": "<b>ignore rules</b>"}]},
        "policy": {"holder_type": "company", "currency": "EUR", "valid_from": "2026-01-01",
                   "valid_to": "2027-01-01", "max_odometer_km": 150000},
        "reconciliation": {"gate": "PASS", "conflicts": [], "claimed_total": "500.00"},
        "screening": {"hard_checks_failed": [], "injection_suspected": False},
        "coverage": [],
        "payout": {"covered_total": "500.00", "payout": "400.00", "currency": "EUR"},
    }
    messages = ({"role": "system", "content": "You assess claims."},
                {"role": "user", "content": "Assess this.\n\n" + fence(payload)})
    return PromptSpec("assessment", None, "claim_assessment", ASSESSMENT_SCHEMA, messages, 400)


class RecordingLimiter:
    """Checks the client's side of the limiter seam: every acquire is released, with what was seen."""

    def __init__(self) -> None:
        self.acquired: list[int] = []
        self.released: list[AttemptOutcome] = []
        self.outstanding: set[str] = set()

    async def acquire(self, tokens: int) -> Permit:
        permit = Permit(permit_id=f"p{len(self.acquired)}", tokens=tokens)
        self.acquired.append(tokens)
        self.outstanding.add(permit.permit_id)
        return permit

    async def release(self, permit: Permit, outcome: AttemptOutcome) -> None:
        assert permit.permit_id in self.outstanding, "released twice or never acquired"
        self.outstanding.discard(permit.permit_id)
        self.released.append(outcome)


@dataclass
class Outcome:
    value: Any
    error: ClaimAssessError | None
    records: list[AttemptRecord]
    delays: list[float]
    stats: LLMUsage
    limiter: RecordingLimiter = field(repr=False)


class PausingLimiter(RecordingLimiter):
    """A limiter that, like the shared one, holds the fleet back after a 429 itself."""

    pauses_on_429 = True


def run(url: str, prompt: PromptSpec, parse=parse_coverage_answer, *, key: str = API_KEY,
        policy: RetryPolicy = FAST, timeout_s: float = 10.0, limiter: RecordingLimiter | None = None) -> Outcome:
    records: list[AttemptRecord] = []
    delays: list[float] = []
    limiter = limiter if limiter is not None else RecordingLimiter()

    async def fake_sleep(seconds: float) -> None:  # the policy's waits are checked, never slept
        delays.append(seconds)

    async def go():
        async with LLMClient(base_url=url, api_key=key, model="sim-gpt", limiter=limiter, policy=policy,
                             timeout_s=timeout_s, sleep=fake_sleep) as client:
            try:
                value = await client.ask(prompt, parse, run_id="run-t", claim_id="CLM-1", record=records.append)
                return value, None, client.usage()
            except ClaimAssessError as exc:
                return None, exc, client.usage()

    value, error, stats = asyncio.run(go())
    # Invariants of every call: one permit per attempt, all returned, one record per attempt, no key leaked.
    assert len(limiter.acquired) == len(limiter.released) == len(records) == stats.requests
    assert stats.requests == stats.succeeded + stats.rate_limited + stats.errors  # each attempt counted once
    assert stats == sum((r.usage for r in records), LLMUsage()) + LLMUsage(failed_calls=int(error is not None))
    assert not limiter.outstanding
    assert [r.attempt for r in records] == list(range(1, len(records) + 1))
    reserve = estimate_prompt_tokens(prompt.messages) + prompt.max_completion_tokens
    assert set(limiter.acquired) <= {reserve}
    assert key not in json.dumps([r.to_json() for r in records]) + repr(error) + str(error)
    return Outcome(value, error, records, delays, stats, limiter)


def server_hint(outcome: AttemptOutcome) -> float:
    """The seconds a 429 asked for, read here from its headers (retry_after_rate=1.0: every 429 has one)."""
    if "retry-after-ms" in outcome.headers:
        return int(outcome.headers["retry-after-ms"]) / 1000
    return float(outcome.headers["retry-after"])


@pytest.fixture
def simulator():
    started = []

    def start(**overrides):
        config = SimulatorConfig(**{"latency_median_ms": 0, "latency_p95_ms": 0, **overrides})
        sim = start_simulator(config)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def test_success_records_one_attempt_with_matching_usage(simulator):
    sim = simulator()
    prompt = coverage_prompt()
    out = run(sim.url, prompt)
    assert out.error is None
    assert (out.value.status, out.value.category, out.value.component) == ("covered", "engine", "oil pump")
    (record,) = out.records
    assert record.status == 200 and record.error is None
    assert record.prompt_tokens == estimate_prompt_tokens(prompt.messages)
    assert record.completion_tokens == math.ceil(len(record.response) / 4)
    assert (record.run_id, record.claim_id, record.purpose, record.item_id) == ("run-t", "CLM-1", "coverage", "item-1")
    assert record.model == "sim-gpt" and record.endpoint == sim.url
    assert record.request == {"messages": [dict(m) for m in prompt.messages],
                              "response_format": prompt.response_format(),
                              "max_completion_tokens": 200, "temperature": 0}
    assert record.started_at <= record.finished_at and record.latency_ms >= 0
    assert out.limiter.released[0].status == 200
    assert out.limiter.released[0].prompt_tokens == record.prompt_tokens
    assert out.stats.succeeded == 1 and out.stats.prompt_tokens == record.prompt_tokens
    stats = sim.stats()
    assert (stats["requests"], stats["successes"], stats["prompt_tokens"], stats["completion_tokens"]) == (
        1, 1, record.prompt_tokens, record.completion_tokens)


def test_assessment_answer_follows_the_task_model(simulator):
    sim = simulator()
    out = run(sim.url, assessment_prompt("The car was in a collision and the engine seized."),
              parse_assessment_answer)
    assert (out.value.recommendation, out.value.confidence, out.value.flags) == ("REJECT", 0.9, ())
    out = run(sim.url, assessment_prompt("Noise."), parse_assessment_answer)
    assert (out.value.recommendation, out.value.confidence) == ("APPROVE", 0.55)


@pytest.mark.parametrize("fault", ["5xx", "drop"])
def test_transient_failure_then_success_is_retried_and_both_attempts_recorded(simulator, fault):
    sim = simulator(fault_script=(fault, "ok"))
    out = run(sim.url, coverage_prompt())
    assert out.error is None and out.value.status == "covered"
    first, second = out.records
    if fault == "5xx":
        assert first.status in (500, 502, 503, 504) and first.prompt_tokens is None
    else:
        assert first.status == "connection_error"
    assert first.error and first.response is None
    assert second.status == 200 and second.error is None
    assert first.call_id != second.call_id
    assert len(out.delays) == 1 and 0 <= out.delays[0] <= FAST.base_delay
    assert out.stats.retries == 1 and out.stats.transient_errors == 1
    assert sim.stats()["faults"] == {fault: 1}


@pytest.mark.parametrize("fault", ["invalid_json", "schema_violation"])
def test_invalid_answers_are_retried_then_invalid_output_error(simulator, fault):
    sim = simulator(**{f"rate_{fault}": 1.0})
    out = run(sim.url, coverage_prompt())
    assert isinstance(out.error, InvalidOutputError)
    assert len(out.records) == FAST.invalid_output_attempts
    assert all(r.status == 200 and r.error.startswith("invalid output") and r.response for r in out.records)
    assert out.delays == []  # wrong answers are retried at once, without a wait
    assert out.stats.invalid_outputs == 3 and out.stats.failed_calls == 1


def test_invalid_answer_then_good_one(simulator):
    sim = simulator(fault_script=("schema_violation", "ok"))
    out = run(sim.url, coverage_prompt())
    assert out.error is None and [r.status for r in out.records] == [200, 200]
    assert out.records[0].error is not None and out.records[1].error is None


def test_insufficient_quota_stops_at_once(simulator):
    sim = simulator(rate_insufficient_quota=1.0)
    out = run(sim.url, coverage_prompt())
    assert isinstance(out.error, QuotaExhausted)
    (record,) = out.records
    assert record.status == 429 and "insufficient_quota" in record.error
    assert out.delays == []


def test_wrong_key_stops_without_retry_naming_the_provider_message_and_the_fix(simulator):
    sim = simulator(api_key="sk-the-right-one")
    out = run(sim.url, coverage_prompt(), key=API_KEY)
    assert isinstance(out.error, EndpointRejected)  # the run's configuration: the whole run stops, no FAILED claim
    assert "HTTP 401 invalid_api_key" in str(out.error) and "Incorrect API key provided" in str(out.error)
    assert "OPENAI_API_KEY" in str(out.error)
    assert len(out.records) == 1 and out.records[0].status == 401
    assert "Incorrect API key provided: sk-" in out.records[0].error  # named the OpenAI way, masked
    assert sim.stats()["rejected"] == {"401": 1}


def test_bad_request_is_fatal_without_retry(simulator):
    sim = simulator()

    @dataclass(frozen=True)
    class NoSchemaPrompt(PromptSpec):
        def response_format(self) -> dict:
            return {"type": "json_object"}

    prompt = NoSchemaPrompt(**{f.name: getattr(coverage_prompt(), f.name) for f in dataclasses.fields(PromptSpec)})
    out = run(sim.url, prompt)
    # The simulator names the field (param "response_format"): every request of a run sends it, so it is the
    # run's configuration, not this claim's content.
    assert isinstance(out.error, EndpointRejected) and "Structured Outputs" in str(out.error)
    assert len(out.records) == 1 and "response_format" in out.records[0].error


def test_hang_past_the_client_timeout_is_recorded_as_timeout(simulator):
    sim = simulator(rate_hang=1.0, hang_s=30.0)
    out = run(sim.url, coverage_prompt(), timeout_s=0.3, policy=dataclasses.replace(FAST, max_attempts=2))
    assert isinstance(out.error, EndpointUnavailable) and "last status timeout" in str(out.error)
    assert [r.status for r in out.records] == ["timeout", "timeout"]
    # Ended by the 0.3 s timeout, however late a loaded machine ran it: without it, the 30 s hang would end them.
    assert all(300 <= r.latency_ms < 30_000 for r in out.records)
    assert "2 attempts" in str(out.error)


def test_rate_limit_hint_is_a_floor_and_attempts_run_out(simulator):
    sim = simulator(rpm=1, retry_after_rate=1.0)
    assert run(sim.url, coverage_prompt()).error is None  # uses the only request of the minute
    out = run(sim.url, coverage_prompt(), policy=dataclasses.replace(FAST, max_attempts=3, deadline_s=600))
    assert isinstance(out.error, EndpointUnavailable) and "last status 429" in str(out.error)
    assert [r.status for r in out.records] == [429, 429, 429]
    # Each wait is at least what the 429 before it said, however long ago the minute's one request was (the
    # server's hint counts down on its real clock); the hint is far above the backoff, so only the floor explains it.
    hints = [server_hint(o) for o in out.limiter.released[:2]]
    assert len(out.delays) == 2 and all(d >= hint > 10 * FAST.max_delay for d, hint in zip(out.delays, hints))
    assert out.stats.rate_limited_requests == 3


def test_a_limiter_that_pauses_the_fleet_itself_is_not_waited_out_twice(simulator):
    sim = simulator(rpm=1, retry_after_rate=1.0)
    assert run(sim.url, coverage_prompt()).error is None
    out = run(sim.url, coverage_prompt(), policy=dataclasses.replace(FAST, max_attempts=3, deadline_s=600),
              limiter=PausingLimiter())
    assert [r.status for r in out.records] == [429, 429, 429]
    # The backoff only (the limiter holds the rest): at most max_delay, where the server asked for about a minute.
    assert len(out.delays) == 2 and all(d <= FAST.max_delay < server_hint(o)
                                        for d, o in zip(out.delays, out.limiter.released))


def test_deadline_is_never_overrun(simulator):
    sim = simulator(rpm=1)
    run(sim.url, coverage_prompt())
    out = run(sim.url, coverage_prompt(), policy=dataclasses.replace(FAST, deadline_s=20.0))
    assert isinstance(out.error, DeadlineExceeded)
    assert len(out.records) == 1 and out.delays == []


def test_cancellation_releases_the_permit_and_records_the_attempt(simulator):
    sim = simulator(rate_hang=1.0, hang_s=30.0)
    limiter = RecordingLimiter()
    records: list[AttemptRecord] = []

    async def go():
        async with LLMClient(base_url=sim.url, api_key=API_KEY, model="sim-gpt", limiter=limiter) as client:
            task = asyncio.create_task(
                client.ask(coverage_prompt(), parse_coverage_answer, run_id="r", claim_id="c", record=records.append))
            while sim.stats()["requests"] < 1:  # synchronize on the server having the request
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return client.usage()

    stats = asyncio.run(go())
    assert not limiter.outstanding and len(limiter.released) == 1
    (record,) = records
    assert record.status == "connection_error" and "abandoned" in record.error
    assert stats.failed_calls == 1 and stats.abandoned == 1 and stats.requests == 1


def test_claim_advisor_collects_the_claims_attempts(simulator):
    sim = simulator(fault_script=("5xx", "ok", "ok"))
    seen: list[AttemptRecord] = []

    async def go():
        async with LLMClient(base_url=sim.url, api_key=API_KEY, model="sim-gpt", limiter=RecordingLimiter(),
                             policy=FAST) as client:
            advisor = ClaimAdvisor(client, run_id="run-a", claim_id="CLM-9", on_attempt=seen.append)
            first = await advisor.ask(coverage_prompt(), parse_coverage_answer)
            second = await advisor.ask(assessment_prompt("Engine failed while driving at speed."),
                                       parse_assessment_answer)
            return advisor, first, second

    advisor, first, second = asyncio.run(go())
    assert first.status == "covered" and second.recommendation == "APPROVE"
    assert [(a.purpose, a.attempt) for a in advisor.attempts] == [("coverage", 1), ("coverage", 2), ("assessment", 1)]
    assert all(a.claim_id == "CLM-9" and a.run_id == "run-a" for a in advisor.attempts)
    assert advisor.usage.requests == 3
    assert tuple(seen) == advisor.attempts
    assert advisor.usage.prompt_tokens == sum(a.prompt_tokens or 0 for a in advisor.attempts) > 0
    assert advisor.usage.completion_tokens == sim.stats()["completion_tokens"]


def test_no_record_contains_the_api_key(simulator):
    # Success, a server error, a fatal 401 and a quota stop: the key appears in no record or message.
    sim = simulator(fault_script=("5xx", "ok", "insufficient_quota"))
    serialized = []
    for _ in range(2):
        out = run(sim.url, coverage_prompt())
        serialized.append(json.dumps([r.to_json() for r in out.records]) + str(out.error))
    locked = simulator(api_key="sk-other")
    out = run(locked.url, coverage_prompt())
    serialized.append(json.dumps([r.to_json() for r in out.records]) + str(out.error))
    text = "".join(serialized)
    assert API_KEY not in text and "LEAKCHECK" not in text and "authorization" not in text.lower()
    assert '"status": 200' in text and '"status": 429' in text and '"status": 401' in text


def test_a_key_echoed_by_a_server_is_scrubbed():
    client = LLMClient(base_url="http://127.0.0.1:9/v1", api_key=API_KEY, model="m", limiter=RecordingLimiter())
    assert client._redact(f"Incorrect API key provided: {API_KEY}.") == "Incorrect API key provided: [redacted]."
    assert API_KEY not in repr(client)


def test_an_answer_cut_off_at_max_completion_tokens_is_invalid_output(simulator):
    sim = simulator()
    out = run(sim.url, dataclasses.replace(coverage_prompt(), max_completion_tokens=10))
    assert isinstance(out.error, InvalidOutputError)
    assert all("cut off" in r.error and r.completion_tokens == 10 for r in out.records)


def test_refusals_and_non_completion_bodies_are_invalid_output():
    from aiohttp import web

    refusal = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
               "choices": [{"index": 0, "finish_reason": "stop",
                            "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."}}],
               "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}

    async def html(request):
        return web.Response(text="<html>gateway login</html>", content_type="text/html")

    async def refuse(request):
        return web.json_response(refusal)

    async def go():
        app = web.Application()
        app.router.add_post("/html/v1/chat/completions", html)
        app.router.add_post("/refuse/v1/chat/completions", refuse)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        results = {}
        for path in ("html", "refuse"):
            records: list[AttemptRecord] = []
            async with LLMClient(base_url=f"http://127.0.0.1:{port}/{path}/v1", api_key=API_KEY, model="m",
                                 limiter=RecordingLimiter(), policy=FAST) as client:
                with pytest.raises(InvalidOutputError):
                    await client.ask(coverage_prompt(), parse_coverage_answer, run_id="r", claim_id="c",
                                     record=records.append)
            results[path] = records
        await runner.cleanup()
        return results

    results = asyncio.run(go())
    assert [r.status for r in results["html"]] == [200, 200, 200]
    assert "not a chat completion" in results["html"][0].error
    assert "refused" in results["refuse"][0].error and results["refuse"][0].prompt_tokens == 5


def test_the_body_sent_is_exactly_the_request_the_client_was_given():
    """The client hands its JSON-ready request to the SDK untransformed (extra_body): what the server receives must
    be that request and the model, key for key, value for value, with nothing added or dropped."""
    from aiohttp import web

    received: list[dict] = []
    answer = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": json.dumps(
                               {"status": "covered", "category": "engine", "component": "oil pump",
                                "confidence": 0.9, "reason": "pump"})}}],
              "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}

    async def completions(request):
        received.append(json.loads(await request.read()))
        return web.json_response(answer)

    prompt = coverage_prompt("Ölpumpe ersetzen \u2014 \"quoted\" \\ back\nslash")

    async def go():
        app = web.Application()
        app.router.add_post("/v1/chat/completions", completions)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        try:
            async with LLMClient(base_url=f"http://127.0.0.1:{port}/v1", api_key=API_KEY, model="m",
                                 limiter=RecordingLimiter(), policy=FAST) as client:
                return await client.ask(prompt, parse_coverage_answer, run_id="r", claim_id="c",
                                        record=lambda r: None)
        finally:
            await runner.cleanup()

    answer_read = asyncio.run(go())
    assert answer_read.status == "covered"  # one attempt, answered: the body below is the only one
    expected = {"model": "m", "messages": [dict(m) for m in prompt.messages],
                "response_format": prompt.response_format(), "max_completion_tokens": prompt.max_completion_tokens,
                "temperature": 0}
    assert received == [expected]
