"""A wrong key, model or endpoint stops the run cleanly: the preflight before anything starts, a fleet-wide stop
part-way, no FAILED decision for a claim that never had a fair try, and exit codes that say what happened.

The endpoint is the simulator over real HTTP, told to answer as a provider does to each mistake (OpenAI's bodies);
the driver is the real ``drivers.assess`` main, on real Ray for the runs that get past the preflight.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from conftest import free_port
from claim_assess.drivers import assess, verify
from claim_assess.llm import preflight as preflight_module
from claim_assess.llm.preflight import check_endpoint
from claim_assess.simulator import SimulatorConfig, start_simulator
from engine_records import assert_every_run_replays

KEY = "sk-test-the-right-key"
SAMPLE_CLAIMS = 50
FAST = dict(latency_median_ms=20, latency_p95_ms=60, api_key=KEY)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _main(capsys, *args: str) -> tuple[int, dict]:
    code = assess.main([*args, "--quiet", "--json", "--no-dashboard"])
    out = capsys.readouterr().out
    return code, json.loads(out[out.index("{"):]) if "{" in out else {}


# --- the preflight: before Ray, exit 2, nothing assessed -------------------------------------------------------


@pytest.fixture
def no_ray(monkeypatch):
    """Fails the test if the run gets as far as starting or joining Ray."""
    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started: the preflight should have stopped the run before")
    monkeypatch.setattr("claim_assess.run.execute.connect", refuse)


@pytest.fixture
def preflight_waits(monkeypatch) -> list[float]:
    """Every wait the preflight's retry loop asks for, recorded instead of slept. What a refusal costs is their sum
    plus a few loopback requests: the issue's bound (stopped within 10 s) checked on any machine, where a wall
    clock would bet on how loaded this one is."""
    waits: list[float] = []
    real = preflight_module.check_endpoint

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async def check_endpoint(**kwargs):
        return await real(**kwargs, sleep=record)

    monkeypatch.setattr(preflight_module, "check_endpoint", check_endpoint)  # the run imports it when it needs it
    return waits


@pytest.mark.parametrize(("config", "model", "key", "said", "advice"), [
    (dict(), "sim-gpt", "sk-wrong", "Incorrect API key provided", "OPENAI_API_KEY"),
    (dict(), "gpt-nope", KEY, "The model `gpt-nope` does not exist", "--model"),
    (dict(no_structured_outputs=True), "sim-gpt", KEY, "'response_format' of type 'json_schema' is not supported",
     "Structured Outputs"),
], ids=["401-invalid-api-key", "404-model-not-found", "400-response-format"])
def test_a_refused_configuration_stops_before_anything_starts(tmp_path, capsys, monkeypatch, no_ray, preflight_waits,
                                                              config, model, key, said, advice):
    monkeypatch.setenv("OPENAI_API_KEY", key)
    with start_simulator(SimulatorConfig(**{**FAST, **config})) as sim:
        code, out = _main(capsys, "--llm", "openai", "--base-url", sim.url, "--model", model,
                          "--workspace", str(tmp_path), "--run", "pre")
        assert sim.stats()["requests"] == 1  # one preflight request, no retry of a refusal
    assert code == 2 and said in out["error"] and advice in out["error"]
    assert preflight_waits == []  # and no wait: one refused request, milliseconds on loopback
    ledger = tmp_path / "ledger"
    assert _lines(ledger / "decisions.jsonl") == []  # no decision record
    (call,) = _lines(ledger / "llm_calls.jsonl")  # the preflight, logged like any attempt
    assert (call["purpose"], call["claim_id"], call["run_id"]) == ("preflight", None, "pre")
    assert verify.main(["--workspace", str(tmp_path)]) == 0


def test_an_unreachable_endpoint_stops_before_anything_starts(tmp_path, capsys, monkeypatch, no_ray, preflight_waits):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there: connection refused
    code, out = _main(capsys, "--llm", "openai", "--base-url", url, "--model", "sim-gpt", "--workspace", str(tmp_path))
    assert code == 2 and "--base-url" in out["error"] and "connection" in out["error"].lower()
    # Three refused connections (milliseconds each) and the two waits between them: the 10 s, with room.
    assert len(preflight_waits) == 2 and sum(preflight_waits) < 5.0
    calls = _lines(tmp_path / "ledger" / "llm_calls.jsonl")
    assert [c["status"] for c in calls] == ["connection_error"] * 3 and _lines(tmp_path / "ledger" / "decisions.jsonl") == []


def test_no_preflight_skips_it_and_a_dry_run_makes_it_only_when_asked(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with start_simulator(SimulatorConfig(**FAST)) as sim:
        args = ("--llm", "openai", "--base-url", sim.url, "--model", "sim-gpt", "--workspace", str(tmp_path))
        assert _main(capsys, *args, "--dry-run")[0] == 0 and sim.stats()["requests"] == 0
        code, out = _main(capsys, *args, "--dry-run", "--preflight")
        assert code == 2 and "Incorrect API key" in out["error"] and sim.stats()["requests"] == 1
    assert not (tmp_path / "ledger").exists()  # a dry run writes no ledger, preflight or not


def test_the_preflight_passes_a_rate_limited_endpoint_with_a_note():
    with start_simulator(SimulatorConfig(**FAST, rpm=1)) as sim:
        first = asyncio.run(check_endpoint(base_url=sim.url, api_key=KEY, model="sim-gpt", run_id="r", timeout_s=5))
        assert first.passed and "preflight passed" in first.summary
        limited = asyncio.run(check_endpoint(base_url=sim.url, api_key=KEY, model="sim-gpt", run_id="r", timeout_s=5))
    assert limited.passed and "rate limited" in limited.summary and limited.attempts[-1].status == 429


# --- part-way: a fleet-wide stop, no FAILED record, a resume that completes --------------------------------------


@pytest.mark.ray
@pytest.mark.parametrize(("refusal", "said"), [
    ("invalid_api_key", "Incorrect API key provided"),
    ("model_not_found", "does not exist"),
    ("response_format", "response_format"),
    ("unreachable", "connection_error"),
])
def test_a_refusal_part_way_stops_the_run_and_a_resume_completes_every_claim_once(ray_session, tmp_path, capsys,
                                                                                  monkeypatch, refusal, said):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    port = free_port()
    with start_simulator(SimulatorConfig(**FAST, refusal=refusal, refuse_after=40), port=port) as sim:
        code, summary = _main(capsys, "--llm", "openai", "--base-url", sim.url, "--model", "sim-gpt", "--actors", "2",
                              "--workspace", str(tmp_path), "--run", "flip")
    ledger = tmp_path / "ledger"
    decided = _lines(ledger / "decisions.jsonl")
    assert code == 1 and said in summary["stopped"] and "--resume" in summary["resume_command"]
    assert 0 < summary["claims"] < SAMPLE_CLAIMS and summary["undecided"] == SAMPLE_CLAIMS - summary["claims"]
    # The ledger may hold one or two more: decided as the stop cancelled them, before their outcome reached the
    # driver (the resume is handed those decisions back by the idempotency key, never a second one).
    assert summary["claims"] <= len(decided) < SAMPLE_CLAIMS
    assert [d for d in decided if d["decision"] == "FAILED"] == []  # no claim paid for the endpoint's refusal

    with start_simulator(SimulatorConfig(**FAST), port=port):  # the key fixed, the model back: same URL
        code, summary = _main(capsys, "--resume", "--run", "flip", "--workspace", str(tmp_path))
    assert code == 0 and summary["complete"] and summary["claims"] == SAMPLE_CLAIMS
    records = _lines(ledger / "decisions.jsonl")
    assert sorted(r["claim_id"] for r in records) == sorted({r["claim_id"] for r in records})  # each exactly once
    assert len(records) == SAMPLE_CLAIMS and all(r["decision"] != "FAILED" for r in records)
    assert verify.main(["--workspace", str(tmp_path)]) == 0
    assert assert_every_run_replays(tmp_path) > 0


@pytest.mark.ray
def test_one_5xx_and_one_dropped_connection_are_retried_and_never_stop_the_run(ray_session, tmp_path, capsys,
                                                                              monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    script = ("ok",) * 20 + ("5xx",) + ("ok",) * 10 + ("drop",)
    with start_simulator(SimulatorConfig(**FAST, fault_script=script)) as sim:
        code, summary = _main(capsys, "--llm", "openai", "--base-url", sim.url, "--model", "sim-gpt", "--actors", "2",
                              "--workspace", str(tmp_path), "--run", "blips")
        faults = sim.stats()["faults"]
    assert faults.get("5xx") == 1 and faults.get("drop") == 1
    assert code == 0 and summary["complete"] and summary["decisions"]["FAILED"] == 0
    assert summary["failed_by_cause"] == {}
