"""The limit scenarios' pure figures (span, ideal span, admissible tokens, the busiest minute, the gateway's whole
windows), the cookbook's capacity on a fake clock, and the cookbook baseline against a real simulator.
"""

from __future__ import annotations

import asyncio

import pytest
from claim_assess.bench.cookbook import Capacity, CookbookGate, run_cookbook
from claim_assess.bench.measure import run_metrics, scenario_window
from claim_assess.bench.scenarios import GROUPS, SCENARIO_NAMES, scenarios
from claim_assess.bench.tables import limit_rows, markdown
from claim_assess.bench.targets import check_targets
from claim_assess.bench.windows import (
    Window,
    ideal_s,
    max_rolling,
    ratio,
    rolling_minute,
    span_s,
    tokens_admissible,
    whole_windows,
)

from claim_assess.claims import synthetic
from claim_assess.claims.dataset import read_dataset
from claim_assess.simulator.server import SimulatorConfig, start_simulator


def series(admitted: dict[int, int], charged_each: int = 1000) -> list[dict[str, int]]:
    """A fake /stats per_second series: ``admitted`` maps second -> requests admitted (and answered the same second)."""
    return [{"t": t, "admitted": n, "successes": n, "charged_tokens": n * charged_each, "tokens": n * 100,
             "rate_limited": 0} for t, n in sorted(admitted.items())]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


BY_NAME = {s.name: s for s in scenarios(quick=False)}


# --- span, ideal span, admissible tokens ----------------------------------------------------------------------


def test_span_is_first_admission_to_last_success_from_the_simulators_float_clock():
    assert span_s({"first_admitted_s": 2.25, "last_success_s": 44.75}) == pytest.approx(42.5)
    assert span_s({"first_admitted_s": None, "last_success_s": None}) is None
    assert span_s({}) is None  # an older simulator without the fields


def test_ideal_span_spends_the_full_bucket_at_once_then_the_rate():
    # 300 requests against 180 RPM: 180 at once, 120 more at 3/s = 40 s, plus one median latency.
    assert ideal_s(300, per_minute=180, latency_s=0.3) == pytest.approx(40.3)
    # Fewer requests than the bucket holds: only the latency.
    assert ideal_s(100, per_minute=180, latency_s=0.3) == pytest.approx(0.3)


def test_wall_over_ideal_from_the_stats():
    scenario = BY_NAME["full-bucket-rpm"]
    stats = {"first_admitted_s": 5.0, "last_success_s": 47.315, "requests": 300, "successes": 300,
             "rate_limited": {"requests": 0, "tokens": 0, "gateway": 0},
             "per_second": series({5: 180, **{t: 3 for t in range(6, 46)}})}
    run = run_metrics([], [], stats, scenario, wall_s=None)
    assert run["ideal_s"] == pytest.approx(40.3)
    assert run["wall_over_ideal"] == pytest.approx(42.315 / 40.3, abs=1e-4)
    assert run["rate_limited"] == 0


def test_tokens_admissible_are_the_bucket_plus_its_refill():
    assert tokens_admissible(60_000, 40.0) == pytest.approx(100_000)
    assert ratio(95_000, tokens_admissible(60_000, 40.0)) == pytest.approx(0.95)
    assert ratio(1, 0) is None and ratio(None, 5) is None


def test_charged_over_admissible_from_the_stats():
    scenario = BY_NAME["full-bucket-tpm"]
    # 60 requests of 1,000 tokens at once, then one a second for 40 s: 100,000 tokens over a span of 40 s.
    stats = {"first_admitted_s": 0.5, "last_success_s": 40.5, "requests": 100, "successes": 100,
             "rate_limited": {"requests": 0, "tokens": 0, "gateway": 0},
             "per_second": series({0: 60, **{t: 1 for t in range(1, 41)}})}
    run = run_metrics([], [], stats, scenario, wall_s=None)
    assert run["charged_tokens"] == 100_000
    assert run["tokens_admissible"] == 100_000
    assert run["charged_over_admissible"] == pytest.approx(1.0)


# --- the busiest minute against the provider's allowance -------------------------------------------------------


def test_max_rolling_finds_the_busiest_sixty_seconds():
    per_second = series({0: 10, 30: 5, 59: 1, 60: 20, 130: 7})
    assert max_rolling(per_second, key="admitted") == (1, 26)  # 1..60 holds 5 + 1 + 20 (the first of the best)
    assert max_rolling(series({3: 4}), key="admitted") == (3, 4)
    assert max_rolling([], key="admitted") is None


def test_rolling_minute_allowance_of_a_full_bucket_is_its_level_plus_a_minutes_refill():
    # 180 RPM, 180 admitted at once and 3/s after: the first minute may hold 180 + 180.
    per_second = series({0: 180, **{t: 3 for t in range(1, 60)}})
    minute = rolling_minute(per_second, limit=180, key="admitted", quantize="none")
    assert (minute.start, minute.admitted) == (0, 357)
    assert minute.allowance == pytest.approx(360)
    assert minute.within
    # A minute that starts once the bucket is dry allows only the refill: twice the rate there is flagged.
    later = series({0: 180, **{t: 3 for t in range(1, 100)}, **{t: 6 for t in range(100, 160)}})
    minute = rolling_minute(later, limit=180, key="admitted", quantize="none")
    assert (minute.start, minute.admitted) == (100, 360)
    assert minute.allowance == pytest.approx(180, abs=3) and not minute.within


def test_rolling_minute_of_a_per_second_limit():
    minute = rolling_minute(series({t: 3 for t in range(100)}), limit=180, key="admitted", quantize="sliding")
    assert (minute.admitted, minute.allowance, minute.within) == (180, 180, True)
    over = rolling_minute(series({t: 4 for t in range(100)}), limit=180, key="admitted", quantize="sliding")
    assert not over.within


# --- the gateway's whole windows ------------------------------------------------------------------------------


def test_gateway_window_is_whole_fixed_windows_after_the_first():
    # Traffic from second 7 to 190: the window starting at 0 is the ramp-up; 60..119 and 120..179 are whole,
    # but 120..179 runs into the tail trim (max(10 % of 184 s, 5 s) = 19 s before 190).
    per_second = series({t: 1 for t in range(7, 191)})
    assert whole_windows(per_second) == Window(60, 119, True)
    longer = series({t: 1 for t in range(7, 400)})
    assert whole_windows(longer) == Window(60, 359, True)
    # Too short for one whole window: the whole span, flagged.
    assert whole_windows(series({t: 1 for t in range(7, 90)})) == Window(7, 89, False)
    # The gateway first refused at second 33: steady state starts with the second whole window after that one.
    assert whole_windows(longer, first_refused=33) == Window(120, 359, True)
    assert whole_windows(longer, first_refused=61) == Window(180, 359, True)


def test_gateway_utilisation_is_against_the_gateways_limit_over_whole_windows():
    scenario = BY_NAME["gateway"]
    assert scenario.gateway_binds and scenario.limit("requests") == 60 and not scenario.pass_limits
    # The gateway's 60 pass at the start of each window; the last window's 20 end the run.
    per_second = series({t: 60 for t in (3, 60, 120)} | {180: 20})
    window, drained = scenario_window(per_second, scenario)
    assert window == Window(60, 119, True) and drained is None
    stats = {"first_admitted_s": 3.1, "last_success_s": 180.4, "requests": 210, "successes": 200,
             "rate_limited": {"requests": 0, "tokens": 0, "gateway": 10}, "per_second": per_second}
    run = run_metrics([], [], stats, scenario, wall_s=None)
    assert run["utilization"] == pytest.approx(1.0)
    assert run["rate_limited"] == 10 and run["rate_limited_ratio"] == pytest.approx(10 / 210, abs=1e-4)


# --- scenarios, targets, tables -------------------------------------------------------------------------------


def test_the_limit_scenarios_are_in_the_default_run_and_in_their_group():
    assert set(GROUPS["limits"]) <= set(SCENARIO_NAMES)
    for name in GROUPS["limits"]:
        assert [r.kind for r in BY_NAME[name].runs] == ["engine", "cookbook"]
    assert BY_NAME["sliding"].warmup_s == 0 and BY_NAME["full-bucket-rpm"].warmup_s == 60
    assert BY_NAME["storm"].sim.quantize == "aligned"  # unchanged: the aligned-second scenario


def test_the_gateway_engine_gets_no_limits_and_the_others_do(tmp_path):
    from claim_assess.bench.engine import engine_command

    def command(name: str) -> list[str]:
        scenario = BY_NAME[name]
        return engine_command(scenario.runs[0], scenario, "http://127.0.0.1:1/v1", tmp_path / "d", tmp_path / "w")

    assert "--rpm" not in command("gateway") and "--tpm" not in command("gateway")
    rpm = command("full-bucket-rpm")
    assert rpm[rpm.index("--rpm") + 1] == "180"
    tpm = command("full-bucket-tpm")
    assert tpm[tpm.index("--tpm") + 1] == "60000"


def _run(scenario: str, kind: str, **figures) -> dict:
    return {"scenario": scenario, "label": kind, "kind": kind, "workers": 4, "claims": 10, "rows": 10,
            "one_decision_per_claim": True, "failed_claims": 0, "rate_limited": 0, "rate_limited_ratio": 0.0,
            "ledger": {"ok": True, "decisions": 10}, **figures}


def test_targets_judge_the_engine_and_the_table_shows_the_cookbook_beside_it():
    runs = [_run("full-bucket-rpm", "engine", wall_over_ideal=1.02, headline="wall_over_ideal", span_s=41.1),
            _run("full-bucket-rpm", "cookbook", wall_over_ideal=1.6, headline="wall_over_ideal", span_s=64.5,
                 rate_limited=3)]
    checks = {c.name: c for c in check_targets(runs) if c.scenario == "full-bucket-rpm"}
    assert checks["span / ideal"].ok is True and checks["429s"].ok is True  # the cookbook's 3 are not judged
    (row,) = limit_rows(runs)
    assert row[:4] == ("full-bucket-rpm", "span / ideal", "1.02", "1.60")
    assert "0 / 3" in row and "41.1 / 64.5" in row and row[-1] == "- / -"
    assert "| full-bucket-rpm | span / ideal | 1.02 | 1.60 |" in markdown(runs, list(checks.values()))


# --- the cookbook's capacity -----------------------------------------------------------------------------------


def test_capacity_starts_full_and_refills_at_the_per_minute_rate():
    clock = FakeClock()
    capacity = Capacity(rpm=120, tpm=6_000, clock=clock)
    for _ in range(6):  # the token side binds first: 6 x 1,000 tokens
        assert capacity.wait_s(1_000) == 0
        capacity.take(1_000)
    assert capacity.wait_s(1_000) == pytest.approx(10.0)  # 1,000 tokens at 100/s
    clock.now = 10.0
    assert capacity.wait_s(1_000) == pytest.approx(0.0)
    clock.now = 1_000.0  # refill is capped at the limit
    assert capacity.tokens <= 6_000 and capacity.wait_s(100) == 0 and capacity.tokens == 6_000


def test_capacity_waits_for_a_request_and_refuses_what_can_never_fit():
    clock = FakeClock()
    capacity = Capacity(rpm=60, tpm=None, clock=clock)
    for _ in range(60):
        capacity.take(10)
    assert capacity.wait_s(10) == pytest.approx(1.0)  # one request a second
    with pytest.raises(ValueError):
        Capacity(rpm=60, tpm=500, clock=clock).wait_s(501)


def test_gate_pauses_fifteen_seconds_after_the_last_rate_limit_error():
    clock = FakeClock()

    async def scenario() -> list[float]:
        gate = CookbookGate(Capacity(rpm=600, tpm=None, clock=clock), clock=clock, sleep=clock.sleep)
        await gate.admit(1)
        clock.now = 2.0
        gate.rate_limited()
        sent = []
        for _ in range(2):
            await gate.admit(1)
            sent.append(clock.now)
        return sent

    assert asyncio.run(scenario()) == [pytest.approx(17.0), pytest.approx(17.0)]


# --- end to end ------------------------------------------------------------------------------------------------


def test_cookbook_decides_every_claim_against_a_real_simulator(tmp_path):
    # Made as bench/datasets.py makes the benchmark's datasets.
    synthetic.write_dataset(synthetic.generate(5, 7), tmp_path / "claims")
    dataset = read_dataset(tmp_path / "claims")
    config = SimulatorConfig(rpm=600, tpm=1_000_000, latency_median_ms=0, latency_p95_ms=0, seed=3)
    with start_simulator(config) as sim:
        result = run_cookbook(dataset.entries, dataset.policies, dataset.policy_errors, base_url=sim.url,
                              api_key="sim-key", model="sim-gpt", rpm=600, tpm=1_000_000)
        stats = sim.stats()
    assert sorted(c.claim_id for c in result.claims) == sorted(e.claim_id for e in dataset.entries)
    assert all(c.decision and c.decision != "FAILED" for c in result.claims)
    assert sum(stats["rate_limited"].values()) == 0
    assert stats["requests"] == sum(c.calls for c in result.claims)  # no retries were needed
