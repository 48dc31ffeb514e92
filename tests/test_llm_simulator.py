"""The simulator as a server: limits, 429 shapes, headers, /stats, /v1/models, latency, the driver's flags."""

from __future__ import annotations

import asyncio
import json
import math
import re
import socket
import statistics
import urllib.request

import pytest

from claim_assess.errors import ClaimAssessError
from claim_assess.claims.prompts import COVERAGE_SCHEMA, PromptSpec, fence, parse_coverage_answer
from claim_assess.drivers.simulate import build_parser, config_from_args, main
from claim_assess.llm.client import LLMClient
from claim_assess.llm.limiter import AttemptOutcome, Permit, estimate_prompt_tokens
from claim_assess.llm.retry import ErrorKind, RetryPolicy, classify, parse_duration, retry_hint
from claim_assess.simulator.server import SimulatedModel, SimulatorConfig, start_simulator

ONE_SHOT = RetryPolicy(max_attempts=1)


def prompt(description: str = "Replace the oil pump") -> PromptSpec:
    payload = {"task": "coverage",
               "policy": {"coverage": [{"category": "engine", "components": ["oil pump"]}], "exclusions": []},
               "item": {"item_id": "i1", "description": description, "item_type": "part", "component": None}}
    messages = ({"role": "system", "content": "You classify."}, {"role": "user", "content": "Go.\n\n" + fence(payload)})
    return PromptSpec("coverage", "i1", "coverage_decision", COVERAGE_SCHEMA, messages, 200)


class OutcomeLog:
    def __init__(self) -> None:
        self.outcomes: list[AttemptOutcome] = []

    async def acquire(self, tokens: int) -> Permit:
        return Permit(permit_id="p", tokens=tokens)

    async def release(self, permit: Permit, outcome: AttemptOutcome) -> None:
        self.outcomes.append(outcome)


def send(url: str, n: int, *, concurrent: bool = True) -> list[AttemptOutcome]:
    """n single-attempt calls; what each HTTP attempt saw."""
    log = OutcomeLog()

    async def go():
        async with LLMClient(base_url=url, api_key="sk-test", model="sim-gpt", limiter=log, policy=ONE_SHOT) as client:
            async def one():
                try:
                    await client.ask(prompt(), parse_coverage_answer, run_id="r", claim_id="c", record=lambda r: None)
                except ClaimAssessError:
                    pass
            if concurrent:
                await asyncio.gather(*(one() for _ in range(n)))
            else:
                for _ in range(n):
                    await one()

    asyncio.run(go())
    return log.outcomes


def get_json(url: str) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy
    with opener.open(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def simulator():
    started = []

    def start(**overrides):
        sim = start_simulator(SimulatorConfig(**{"latency_median_ms": 0, "latency_p95_ms": 0, **overrides}))
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


RPM_MESSAGE = re.compile(
    r"Rate limit reached for sim-gpt in organization org-sim on requests per min \(RPM\): Limit 5, Used 5, "
    r"Requested 1\. Please try again in (\S+)\. Visit https://platform\.openai\.com/account/rate-limits to learn more\.")


def test_rpm_is_enforced_and_429s_are_openai_shaped(simulator):
    sim = simulator(rpm=5)
    outcomes = send(sim.url, 12)
    ok = [o for o in outcomes if o.status == 200]
    limited = [o for o in outcomes if o.status == 429]
    assert len(ok) == 5 and len(limited) == 7  # refill is 1 per 12 s: none within this test
    for o in limited:
        body = json.loads(o.error_body)
        assert set(body) == {"error"}
        assert (body["error"]["type"], body["error"]["code"], body["error"]["param"]) == (
            "requests", "rate_limit_exceeded", None)
        match = RPM_MESSAGE.fullmatch(body["error"]["message"])
        assert match, body["error"]["message"]
        assert 0 < parse_duration(match.group(1)) <= 12.0
        assert classify(429, o.error_body) is ErrorKind.RATE_LIMIT_REQUESTS
    stats = sim.stats()
    assert (stats["requests"], stats["successes"], stats["rate_limited"]) == (12, 5, {"requests": 7, "tokens": 0})
    assert sum(s["admitted"] for s in stats["per_second"]) == 5


def test_tpm_charges_max_completion_tokens_on_arrival(simulator):
    charge = estimate_prompt_tokens(prompt().messages) + 200
    sim = simulator(tpm=charge * 2 + 10)
    outcomes = send(sim.url, 3, concurrent=False)
    assert [o.status for o in outcomes] == [200, 200, 429]
    body = json.loads(outcomes[2].error_body)["error"]
    assert body["type"] == "tokens" and "tokens per min (TPM)" in body["message"]
    assert f"Limit {charge * 2 + 10}, Used {charge * 2}, Requested {charge}." in body["message"]
    assert classify(429, outcomes[2].error_body) is ErrorKind.RATE_LIMIT_TOKENS
    assert sim.stats()["per_second"][0]["charged_tokens"] == 2 * charge
    assert sim.stats()["prompt_tokens"] + sim.stats()["completion_tokens"] < 2 * charge  # usage < charge


def test_quantized_limits_allow_one_second_worth(simulator):
    sim = simulator(rpm=120, quantize_per_second=True)  # 2 per second
    outcomes = send(sim.url, 6)
    assert sum(o.status == 200 for o in outcomes) == 2


def test_retry_after_headers_are_present_on_some_429s_only(simulator):
    sim = simulator(rpm=1, seed=3)
    outcomes = send(sim.url, 31, concurrent=False)[1:]
    assert all(o.status == 429 for o in outcomes)
    with_hint = [o for o in outcomes if "retry-after" in o.headers or "retry-after-ms" in o.headers]
    assert 0 < len(with_hint) < len(outcomes)
    for o in with_hint:
        hint = retry_hint(o.headers, None)
        assert hint is not None and 0 < hint <= 60
    # the body always carries the hint, so a client without headers still knows how long to wait
    assert all(retry_hint({}, o.error_body) is not None for o in outcomes)


def test_rate_limit_headers_on_success_unless_omitted(simulator):
    sim = simulator(rpm=60, tpm=100000)
    (outcome,) = send(sim.url, 1)
    headers = outcome.headers
    assert headers["x-ratelimit-limit-requests"] == "60" and headers["x-ratelimit-remaining-requests"] == "59"
    assert headers["x-ratelimit-limit-tokens"] == "100000"
    charge = estimate_prompt_tokens(prompt().messages) + 200
    assert int(headers["x-ratelimit-remaining-tokens"]) == 100000 - charge
    assert parse_duration(headers["x-ratelimit-reset-requests"]) == pytest.approx(1.0, abs=0.01)
    assert parse_duration(headers["x-ratelimit-reset-tokens"]) is not None
    quiet = simulator(rpm=60, tpm=100000, omit_rate_limit_headers=True)
    (outcome,) = send(quiet.url, 1)
    assert outcome.status == 200 and not any(k.startswith("x-ratelimit") for k in outcome.headers)


def test_stats_and_models_pages(simulator):
    sim = simulator(fault_script=("ok", "5xx", "ok", "insufficient_quota", "ok"))
    outcomes = send(sim.url, 5, concurrent=False)
    assert [o.status for o in outcomes][0::2] == [200, 200, 200]
    stats = get_json(sim.url.removesuffix("/v1") + "/stats")
    assert stats["requests"] == 5 and stats["successes"] == 3
    assert stats["faults"] == {"5xx": 1, "insufficient_quota": 1}
    assert stats["prompt_tokens"] == sum(o.prompt_tokens for o in outcomes if o.status == 200)
    assert stats["completion_tokens"] == sum(o.completion_tokens for o in outcomes if o.status == 200)
    assert sum(s["successes"] for s in stats["per_second"]) == 3
    assert sum(s["tokens"] for s in stats["per_second"]) == stats["prompt_tokens"] + stats["completion_tokens"]
    models = get_json(sim.url + "/models")
    assert [m["id"] for m in models["data"]] == ["sim-gpt"]


def test_answer_error_rate_one_flips_every_answer(simulator):
    sim = simulator(answer_error_rate=1.0)
    log = OutcomeLog()
    records = []

    async def go():
        async with LLMClient(base_url=sim.url, api_key="k", model="m", limiter=log, policy=ONE_SHOT) as client:
            return await client.ask(prompt(), parse_coverage_answer, run_id="r", claim_id="c", record=records.append)

    answer = asyncio.run(go())
    assert answer.status == "not_covered"  # the task model says covered
    assert records[0].completion_tokens == math.ceil(len(records[0].response) / 4)


def test_latency_is_lognormal_from_median_and_p95():
    model = SimulatedModel(SimulatorConfig(latency_median_ms=300, latency_p95_ms=900, seed=11))
    samples = sorted(model._latency_s(0) for _ in range(4000))
    assert statistics.median(samples) == pytest.approx(0.300, rel=0.08)
    assert samples[int(0.95 * len(samples))] == pytest.approx(0.900, rel=0.12)
    flat = SimulatedModel(SimulatorConfig(latency_median_ms=0, latency_p95_ms=0, per_output_token_ms=10))
    assert flat._latency_s(50) == pytest.approx(0.5)


def test_config_rejects_bad_rates_and_unknown_faults():
    with pytest.raises(ValueError, match="rate_5xx"):
        SimulatorConfig(rate_5xx=1.5)
    with pytest.raises(ValueError, match="fault_script"):
        SimulatorConfig(fault_script=("meteor",))


def test_driver_flags_cover_the_config():
    args = build_parser().parse_args([
        "--port", "0", "--rpm", "600", "--tpm", "90000", "--quantize-per-second", "--latency-median-ms", "50",
        "--rate-5xx", "0.1", "--fault-script", "5xx, ok,drop", "--seed", "9", "--model", "m"])
    config = config_from_args(args)
    assert (config.rpm, config.tpm, config.quantize_per_second, config.latency_median_ms) == (600, 90000, True, 50.0)
    assert (config.rate_5xx, config.fault_script, config.seed, config.model) == (0.1, ("5xx", "ok", "drop"), 9, "m")
    assert args.host == "127.0.0.1"
    defaults = config_from_args(build_parser().parse_args([]))
    assert defaults == SimulatorConfig()


def test_driver_exits_2_when_it_cannot_bind(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot bind 127.0.0.1:{port}")


def test_driver_rejects_a_bad_rate_as_a_usage_error(capsys):
    assert main(["--port", "0", "--rate-5xx", "2"]) == 2 and "rate_5xx" in capsys.readouterr().err
