"""The simulator as a server: limits (per minute, aligned and sliding seconds), a gateway with a hidden limit,
429 shapes, headers, /stats, /v1/models, latency, the driver's flags.

Window arithmetic runs on a fake clock: directly on ``RateLimits`` / ``FixedWindow``, or over real HTTP with a
``SimulatedModel(clock=...)`` served by aiohttp's test server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import re
import socket
import statistics
import urllib.request

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from claim_assess.errors import ClaimAssessError
from claim_assess.claims.prompts import COVERAGE_SCHEMA, PromptSpec, fence, parse_coverage_answer
from claim_assess.drivers.simulate import build_parser, config_from_args, main
from claim_assess.llm.client import LLMClient
from claim_assess.llm.limiter import AttemptOutcome, Permit, estimate_prompt_tokens
from claim_assess.llm.retry import ErrorKind, RetryPolicy, classify, parse_duration, retry_hint
from claim_assess.simulator.gateway import FixedWindow
from claim_assess.simulator.limits import RateLimits
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


async def send_async(url: str, n: int, *, concurrent: bool = True) -> list[AttemptOutcome]:
    """n single-attempt calls; what each HTTP attempt saw."""
    log = OutcomeLog()
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
    return log.outcomes


def send(url: str, n: int, *, concurrent: bool = True) -> list[AttemptOutcome]:
    return asyncio.run(send_async(url, n, concurrent=concurrent))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def serving(model: SimulatedModel):
    """The model's app on a real loopback HTTP server, on the test's own loop (so its fake clock is ours)."""
    server = TestServer(model.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/v1"))
    finally:
        await server.close()


def on_fake_clock(**overrides) -> tuple[SimulatedModel, FakeClock]:
    clock = FakeClock()
    config = SimulatorConfig(**{"latency_median_ms": 0, "latency_p95_ms": 0, **overrides})
    return SimulatedModel(config, clock=clock), clock


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


def on_fake_clock_send(model: SimulatedModel, n: int, *, concurrent: bool = True) -> list[AttemptOutcome]:
    """send() to a model whose clock the test holds still: the bucket refills only when the test moves the clock,
    so how many of n simultaneous requests fit is the bucket's arithmetic, not how fast this machine is today."""
    async def go():
        async with serving(model) as url:
            return await send_async(url, n, concurrent=concurrent)

    return asyncio.run(go())


def test_rpm_is_enforced_and_429s_are_openai_shaped():
    model, _ = on_fake_clock(rpm=5)
    outcomes = on_fake_clock_send(model, 12)
    ok = [o for o in outcomes if o.status == 200]
    limited = [o for o in outcomes if o.status == 429]
    assert len(ok) == 5 and len(limited) == 7  # the clock stands still: the bucket cannot refill
    for o in limited:
        body = json.loads(o.error_body)
        assert set(body) == {"error"}
        assert (body["error"]["type"], body["error"]["code"], body["error"]["param"]) == (
            "requests", "rate_limit_exceeded", None)
        match = RPM_MESSAGE.fullmatch(body["error"]["message"])
        assert match, body["error"]["message"]
        assert 0 < parse_duration(match.group(1)) <= 12.0
        assert classify(429, o.error_body) is ErrorKind.RATE_LIMIT_REQUESTS
    stats = model.stats.snapshot()
    assert (stats["requests"], stats["successes"]) == (12, 5)
    assert stats["rate_limited"] == {"requests": 7, "tokens": 0, "gateway": 0}
    assert sum(s["rate_limited"] for s in stats["per_second"]) == 7
    assert sum(s["admitted"] for s in stats["per_second"]) == 5


def test_tpm_charges_max_completion_tokens_on_arrival():
    charge = estimate_prompt_tokens(prompt().messages) + 200
    model, _ = on_fake_clock(tpm=charge * 2 + 10)
    outcomes = on_fake_clock_send(model, 3, concurrent=False)
    assert [o.status for o in outcomes] == [200, 200, 429]
    body = json.loads(outcomes[2].error_body)["error"]
    assert body["type"] == "tokens" and "tokens per min (TPM)" in body["message"]
    assert f"Limit {charge * 2 + 10}, Used {charge * 2}, Requested {charge}." in body["message"]
    assert classify(429, outcomes[2].error_body) is ErrorKind.RATE_LIMIT_TOKENS
    stats = model.stats.snapshot()
    assert stats["per_second"][0]["charged_tokens"] == 2 * charge
    assert stats["prompt_tokens"] + stats["completion_tokens"] < 2 * charge  # usage < charge


def test_quantized_limits_allow_one_second_worth():
    model, clock = on_fake_clock(rpm=120, quantize="aligned")  # 2 per second
    assert sum(o.status == 200 for o in on_fake_clock_send(model, 6)) == 2
    clock.now += 0.5  # half a second refills one request of the second's budget, never the minute's 120
    assert sum(o.status == 200 for o in on_fake_clock_send(model, 6)) == 1


def test_retry_after_headers_are_present_on_some_429s_only():
    model, _ = on_fake_clock(rpm=1, seed=3)
    outcomes = on_fake_clock_send(model, 31, concurrent=False)[1:]
    assert all(o.status == 429 for o in outcomes)
    with_hint = [o for o in outcomes if "retry-after" in o.headers or "retry-after-ms" in o.headers]
    assert 0 < len(with_hint) < len(outcomes)
    for o in with_hint:
        hint = retry_hint(o.headers, None)
        assert hint is not None and 0 < hint <= 60
    # the body always carries the hint, so a client without headers still knows how long to wait
    assert all(retry_hint({}, o.error_body) is not None for o in outcomes)


def test_rate_limit_headers_on_success_unless_omitted():
    # On a clock that stands still the headers are exact: on a real one the tokens refill 1,667 a second
    # between the charge and the header, a few milliseconds' worth on a loaded machine.
    model, _ = on_fake_clock(rpm=60, tpm=100000)
    (outcome,) = on_fake_clock_send(model, 1)
    headers = outcome.headers
    assert headers["x-ratelimit-limit-requests"] == "60" and headers["x-ratelimit-remaining-requests"] == "59"
    assert headers["x-ratelimit-limit-tokens"] == "100000"
    charge = estimate_prompt_tokens(prompt().messages) + 200
    assert int(headers["x-ratelimit-remaining-tokens"]) == 100000 - charge
    assert parse_duration(headers["x-ratelimit-reset-requests"]) == 1.0  # one request back at 1 a second
    assert parse_duration(headers["x-ratelimit-reset-tokens"]) == pytest.approx(charge * 60 / 100000, abs=1e-3)
    quiet, _ = on_fake_clock(rpm=60, tpm=100000, omit_rate_limit_headers=True)
    (outcome,) = on_fake_clock_send(quiet, 1)
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


def test_a_scripted_rate_limit_is_a_requests_429_with_its_fixed_hint_everywhere(simulator):
    sim = simulator(fault_script=("ok", "rate_limit", "ok"), scripted_retry_after_s=1.5)
    first, limited, last = send(sim.url, 3, concurrent=False)
    assert (first.status, limited.status, last.status) == (200, 429, 200)
    assert (limited.headers["retry-after-ms"], limited.headers["retry-after"]) == ("1500", "2")
    assert retry_hint(limited.headers, limited.error_body) == 1.5
    assert classify(429, limited.error_body) is ErrorKind.RATE_LIMIT_REQUESTS
    assert get_json(sim.url.removesuffix("/v1") + "/stats")["rate_limited"]["requests"] == 1


def test_answer_error_rate_one_flips_every_answer(simulator):
    sim = simulator(answer_error_rate=1.0)
    log = OutcomeLog()
    records = []

    async def go():
        async with LLMClient(base_url=sim.url, api_key="k", model="sim-gpt", limiter=log, policy=ONE_SHOT) as client:
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
    with pytest.raises(ValueError, match="quantize must be one of none, aligned, sliding; got 'per_second'"):
        SimulatorConfig(quantize="per_second")
    with pytest.raises(ValueError, match="gateway_style must be one of litellm, bare; got 'nginx'"):
        SimulatorConfig(gateway_style="nginx")
    with pytest.raises(ValueError, match="gateway_rpm"):
        SimulatorConfig(gateway_rpm=0)


def test_driver_flags_cover_the_config():
    args = build_parser().parse_args([
        "--port", "0", "--rpm", "600", "--tpm", "90000", "--quantize", "sliding", "--latency-median-ms", "50",
        "--rate-5xx", "0.1", "--fault-script", "5xx, ok,drop", "--seed", "9", "--model", "m", "--no-headers",
        "--gateway-rpm", "60", "--gateway-tpm", "40000", "--gateway-style", "bare"])
    config = config_from_args(args)
    assert (config.rpm, config.tpm, config.quantize, config.latency_median_ms) == (600, 90000, "sliding", 50.0)
    assert config.omit_rate_limit_headers
    assert (config.gateway_rpm, config.gateway_tpm, config.gateway_style) == (60, 40000, "bare")
    long_form = config_from_args(build_parser().parse_args(["--omit-rate-limit-headers", "--quantize", "aligned"]))
    assert long_form.omit_rate_limit_headers and long_form.quantize == "aligned"
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
    assert main(["--port", "0", "--quantize", "hourly"]) == 2 and "--quantize" in capsys.readouterr().err


# --- per-second enforcement: sliding against aligned, on a fake clock ------------------------------------------


def test_sliding_admits_a_seconds_share_in_any_window_even_one_that_straddles_a_whole_second():
    clock = FakeClock()
    limits = RateLimits(rpm=180, tpm=None, mode="sliding", clock=clock)  # at most 3 in any 1 s
    for t in (0.5, 0.6, 0.7):
        clock.now = 1000 + t
        assert limits.admit(10) is None
    clock.now = 1001.2  # a new whole second, but (0.2, 1.2] still holds three
    rejection = limits.admit(10)
    assert rejection is not None and rejection.kind == "requests"
    assert (rejection.limit, rejection.used, rejection.requested) == (180, 180, 1)
    assert rejection.wait_s == pytest.approx(0.3)  # until the request of t=0.5 leaves the window
    clock.now = 1001.55  # (0.55, 1.55] holds 0.6 and 0.7
    assert limits.admit(10) is None
    clock.now = 1001.56
    assert limits.admit(10).wait_s == pytest.approx(0.04)


def test_aligned_is_unchanged_and_lets_more_through_in_a_sliding_second():
    """The same arrivals as above: the aligned bucket (a second's budget, refilled continuously) admits the
    fourth request at t=1.2, so (0.2, 1.2] holds four where a strict provider allows three."""
    clock = FakeClock()
    aligned = RateLimits(rpm=180, tpm=None, mode="aligned", clock=clock)
    legacy = RateLimits(rpm=180, tpm=None, quantized=True, clock=clock)
    for t in (0.5, 0.6, 0.7, 1.2):
        clock.now = 1000 + t
        assert aligned.admit(10) is None and legacy.admit(10) is None
    assert aligned.requests.capacity == legacy.requests.capacity == 3.0
    assert aligned.headers() == legacy.headers()


@pytest.mark.parametrize("rpm", [61, 100, 180, 600])
def test_sliding_never_holds_more_than_its_cap_in_any_window_and_refuses_only_when_full(rpm):
    clock, rng = FakeClock(), random.Random(rpm)
    limits = RateLimits(rpm=rpm, tpm=None, mode="sliding", clock=clock)
    cap = math.ceil(rpm / 60)
    admitted, refused = [], []
    for _ in range(2000):
        clock.now += rng.expovariate(3 * cap)  # arrivals at three times the allowed rate
        (admitted if limits.admit(1) is None else refused).append(clock.now)
    assert refused, "the test must push past the limit"

    def in_window(end: float) -> int:  # admissions in (end - 1, end]
        return sum(end - 1 < t <= end for t in admitted)

    assert max(in_window(t) for t in admitted) == cap  # a window ending at an admission is the fullest
    assert all(in_window(t) == cap for t in refused)


def test_sliding_admits_a_request_larger_than_its_cap_into_an_empty_window():
    clock = FakeClock()
    limits = RateLimits(rpm=None, tpm=6000, mode="sliding", clock=clock)  # at most 100 tokens in any 1 s
    assert limits.admit(900) is None  # larger than the cap: possible, but only alone
    rejection = limits.admit(10)
    assert rejection is not None and rejection.kind == "tokens" and rejection.wait_s == pytest.approx(1.0)
    clock.now += 1.0
    assert limits.admit(10) is None
    rejection = limits.admit(900)
    assert rejection is not None and rejection.wait_s == pytest.approx(1.0)  # it needs the window empty


def test_sliding_headers_speak_per_minute_and_reset_when_the_window_empties():
    clock = FakeClock()
    limits = RateLimits(rpm=180, tpm=6000, mode="sliding", clock=clock)
    assert limits.admit(50) is None
    clock.now += 0.4
    headers = limits.headers()
    assert headers["x-ratelimit-limit-requests"] == "180" and headers["x-ratelimit-limit-tokens"] == "6000"
    assert headers["x-ratelimit-remaining-requests"] == "120"  # 2 of 3 free, scaled to the minute
    assert headers["x-ratelimit-remaining-tokens"] == "3000"
    assert headers["x-ratelimit-reset-requests"] == headers["x-ratelimit-reset-tokens"] == "600ms"


def test_sliding_over_http_answers_openai_shaped_429s():
    model, clock = on_fake_clock(rpm=180, quantize="sliding", omit_rate_limit_headers=True)

    async def go():
        async with serving(model) as url:
            burst = await send_async(url, 4, concurrent=False)
            clock.now += 1.0
            return burst, await send_async(url, 3)

    burst, later = asyncio.run(go())
    assert [o.status for o in burst] == [200, 200, 200, 429] and [o.status for o in later] == [200] * 3
    body = json.loads(burst[3].error_body)["error"]
    assert body["type"] == "requests" and "Limit 180, Used 180, Requested 1. Please try again in 1s." in body["message"]
    assert not any(k.startswith("x-ratelimit") for o in burst + later for k in o.headers)


# --- a gateway with a hidden limit of its own --------------------------------------------------------------------

LITELLM_MESSAGE = re.compile(
    r"litellm\.RateLimitError: No deployments available for selected model\. Passed model=sim-gpt\. "
    r"Deployments=\{'([0-9a-f]{64})': \{'current_tpm': (\d+), 'tpm_limit': inf, 'current_rpm': 60, "
    r"'rpm_limit': 60\}\} Try again in 60 seconds\.")


def test_litellm_gateway_refuses_past_its_minute_without_charging_the_provider():
    model, clock = on_fake_clock(rpm=1000, tpm=1_000_000, gateway_rpm=60)

    async def go():
        async with serving(model) as url:
            first = await send_async(url, 62)
            clock.now += 30  # same fixed window
            same = await send_async(url, 1)
            clock.now += 30  # a new window: the gateway's counts start again
            return first, same, await send_async(url, 60)

    first, same, renewed = asyncio.run(go())
    ok = [o for o in first if o.status == 200]
    refused = [o for o in first + same if o.status == 429]
    assert len(ok) == 60 and len(refused) == 3 and all(o.status == 200 for o in renewed)
    usage = sum(o.prompt_tokens + o.completion_tokens for o in ok)
    for o in refused:
        body = json.loads(o.error_body)
        assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
        assert (body["error"]["type"], body["error"]["param"], body["error"]["code"]) == (
            "throttling_error", None, "429")
        match = LITELLM_MESSAGE.fullmatch(body["error"]["message"])
        assert match, body["error"]["message"]
        assert match.group(1) == ok[0].headers["x-litellm-model-id"] and int(match.group(2)) == usage
        assert o.headers["llm_provider-retry-after"] == "60"
        assert "retry-after" not in o.headers and "retry-after-ms" not in o.headers
        assert not any("ratelimit" in k for k in o.headers)
    stats = model.stats.snapshot()
    assert stats["rate_limited"] == {"requests": 0, "tokens": 0, "gateway": 3}
    assert stats["requests"] == 123 and sum(s["admitted"] for s in stats["per_second"]) == 120  # never charged


def test_litellm_gateway_headers_describe_the_provider_twice_and_never_the_gateway():
    model, _ = on_fake_clock(rpm=1000, tpm=1_000_000, gateway_rpm=60)

    async def go():
        async with serving(model) as url:
            return await send_async(url, 2, concurrent=False)

    first, second = asyncio.run(go())
    headers = second.headers
    for name in ("limit-requests", "remaining-requests", "reset-requests", "limit-tokens", "remaining-tokens",
                 "reset-tokens"):
        assert headers[f"llm_provider-x-ratelimit-{name}"] == headers[f"x-ratelimit-{name}"]
    assert headers["x-ratelimit-limit-requests"] == "1000" and headers["x-ratelimit-remaining-requests"] == "998"
    assert headers["x-litellm-version"] == "1.108.0" and float(headers["x-litellm-response-cost"]) > 0
    assert headers["x-litellm-model-id"] == first.headers["x-litellm-model-id"]
    assert headers["x-litellm-call-id"] != first.headers["x-litellm-call-id"]
    assert "60" not in headers.values() and "58" not in headers.values()  # the gateway's limit and what is left


def test_litellm_gateway_passes_provider_429s_on_and_keeps_its_headers_when_told_to_omit_the_providers():
    model, _ = on_fake_clock(rpm=2, gateway_rpm=100, retry_after_rate=0.0)
    quiet, _ = on_fake_clock(rpm=1000, gateway_rpm=100, omit_rate_limit_headers=True)

    async def go():
        async with serving(model) as url, serving(quiet) as quiet_url:
            return await send_async(url, 3, concurrent=False), await send_async(quiet_url, 1)

    outcomes, (hushed,) = asyncio.run(go())
    limited = outcomes[2]
    assert limited.status == 429 and classify(429, limited.error_body) is ErrorKind.RATE_LIMIT_REQUESTS
    assert limited.headers["llm_provider-x-ratelimit-remaining-requests"] == "0"
    assert limited.headers["x-ratelimit-remaining-requests"] == "0"
    assert model.stats.snapshot()["rate_limited"] == {"requests": 1, "tokens": 0, "gateway": 0}
    assert hushed.status == 200 and not any("ratelimit" in k for k in hushed.headers)
    assert {"x-litellm-model-id", "x-litellm-version", "x-litellm-response-cost", "x-litellm-call-id"} <= set(
        hushed.headers)


def test_bare_gateway_passes_headers_through_and_refuses_with_a_plain_429():
    model, _ = on_fake_clock(rpm=1000, gateway_rpm=2, gateway_style="bare")
    plain, _ = on_fake_clock(rpm=1000)

    async def go():
        async with serving(model) as url, serving(plain) as plain_url:
            return await send_async(url, 3, concurrent=False), await send_async(plain_url, 1)

    outcomes, (direct,) = asyncio.run(go())
    assert [o.status for o in outcomes] == [200, 200, 429]
    assert json.loads(outcomes[2].error_body) == {
        "error": {"message": "Too Many Requests", "type": "rate_limit_error", "param": None, "code": "429"}}
    assert not any("retry-after" in k or "ratelimit" in k for k in outcomes[2].headers)
    assert retry_hint(outcomes[2].headers, outcomes[2].error_body) is None
    names = {k for k in outcomes[0].headers if k.startswith(("x-ratelimit", "llm_provider", "x-litellm"))}
    assert names == {k for k in direct.headers if k.startswith("x-ratelimit")}
    assert outcomes[0].headers["x-ratelimit-remaining-requests"] == "999"


def test_gateway_window_counts_requests_on_admission_and_tokens_on_usage():
    clock = FakeClock()
    window = FixedWindow(rpm=None, tpm=1000, clock=clock)
    assert window.admit(400)
    window.record_usage(700)
    assert not window.admit(400)  # 700 used + this prompt would pass 1000
    assert window.admit(300) and window.current_rpm == 2
    clock.now = 1059.999  # still the first fixed minute since start
    assert window.admit(1) and (window.current_rpm, window.current_tpm) == (3, 700)
    clock.now = 1060.0  # the second one: the counts start again
    assert window.admit(1000) and (window.current_rpm, window.current_tpm) == (1, 0)


# --- stats for benchmarks ----------------------------------------------------------------------------------------


def test_stats_give_a_runs_span_to_the_millisecond_and_429s_per_second():
    model, clock = on_fake_clock(rpm=1000, gateway_rpm=2)
    assert (model.stats.snapshot()["first_admitted_s"], model.stats.snapshot()["last_success_s"]) == (None, None)

    async def go():
        async with serving(model) as url:
            clock.now += 0.25
            await send_async(url, 3, concurrent=False)  # two admitted, one refused by the gateway
            clock.now += 60.1234
            await send_async(url, 1)
            async with aiohttp.ClientSession() as session, session.get(url.removesuffix("/v1") + "/stats") as page:
                return await page.json()

    stats = asyncio.run(go())
    assert (stats["first_admitted_s"], stats["last_success_s"]) == (0.25, 60.373)  # to the millisecond
    assert stats["rate_limited"] == {"requests": 0, "tokens": 0, "gateway": 1}
    assert [(s["t"], s["admitted"], s["rate_limited"]) for s in stats["per_second"]] == [(0, 2, 1), (60, 1, 0)]
