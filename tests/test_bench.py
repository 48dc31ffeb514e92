"""The benchmark's pure parts (windows, rates, percentiles, targets, process roles), its entry point and one smoke run.

The benchmark is the top-level bench/ package of the checkout (``claim_assess.bench``); drivers/bench.py only
hands over to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claim_assess.bench.engine import parse_summary, read_summary
from claim_assess.bench.memory import early_late, role_of
from claim_assess.bench.scenarios import scenarios
from claim_assess.bench.tables import markdown
from claim_assess.bench.targets import Check, check_targets
from claim_assess.bench.windows import Window, active_span, bucket_drained_at, steady_window, utilization, window_rates
from claim_assess.drivers import bench as bench_entry
from claim_assess.stats import percentile

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def series(counts: dict[int, int], tokens_each: int = 100, charged_each: int = 1000) -> list[dict[str, int]]:
    """A fake /stats per_second series: ``counts`` maps second -> successes (admitted the same)."""
    return [{"t": t, "successes": n, "tokens": n * tokens_each, "admitted": n, "charged_tokens": n * charged_each}
            for t, n in sorted(counts.items())]


# --- steady window ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (10, 109, Window(20, 99, True)),  # 100 s: 10 % (10 s) beats 5 s
        (0, 29, Window(5, 24, True)),  # 30 s: 5 s beats 10 % (3 s)
        (3, 15, Window(8, 10, True)),  # 13 s: 5 s each end leaves exactly 3 s
        (3, 14, Window(3, 14, False)),  # 12 s: too short to trim, the whole span, flagged
        (7, 7, Window(7, 7, False)),
    ],
)
def test_steady_window_trims_max_of_ten_percent_and_five_seconds(first, last, expected):
    per_second = series({t: 5 for t in range(first, last + 1)})
    assert steady_window(per_second) == expected


def test_warmup_moves_the_start_past_a_per_minute_bucket():
    per_second = series({t: 10 for t in range(0, 200)})
    assert steady_window(per_second, warmup_s=60) == Window(60, 179, True)
    # Too short for the warm-up: the whole span, flagged as not steady.
    assert steady_window(series({t: 10 for t in range(0, 69)}), warmup_s=60) == Window(0, 68, False)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({t: 10 for t in range(300)}, None),  # exactly the rate (600 RPM = 10/s): the bucket stays full
        ({t: 20 for t in range(300)}, 58),  # twice the rate: 600 - 20 - 10 t drops under 10 at t = 58
        ({3: 600}, 3),  # the whole minute at once
        ({0: 300, 100: 350}, None),  # 300 spent, refilled long before the second burst
    ],
)
def test_bucket_drained_at_replays_the_minute_bucket(counts, expected):
    assert bucket_drained_at(series(counts), limit=600, key="admitted") == expected


def test_steady_window_starts_no_earlier_than_the_drain():
    per_second = series({t: 10 for t in range(0, 200)})
    assert steady_window(per_second, not_before=120) == Window(120, 179, True)
    assert steady_window(per_second, not_before=5) == Window(20, 179, True)  # the trim is later


def test_per_minute_limits_get_a_warmup_and_per_second_ones_do_not():
    by = {s.name: s for s in scenarios(quick=False)}
    assert by["rpm-bound"].warmup_s == by["tpm-bound"].warmup_s == 60
    assert by["storm"].warmup_s == 0 and by["ceiling"].warmup_s == 0


def test_active_span_starts_at_first_admission_and_ends_at_last_success():
    per_second = [
        {"t": 0, "successes": 0, "tokens": 0, "admitted": 0, "charged_tokens": 0},  # the engine still starting
        {"t": 6, "successes": 0, "tokens": 0, "admitted": 3, "charged_tokens": 30},
        {"t": 7, "successes": 3, "tokens": 30, "admitted": 0, "charged_tokens": 0},
        {"t": 9, "successes": 0, "tokens": 0, "admitted": 1, "charged_tokens": 10},  # a request that never succeeded
    ]
    assert active_span(per_second) == (6, 7)
    assert active_span([]) is None
    assert steady_window([{"t": 1, "successes": 0, "tokens": 0, "admitted": 2, "charged_tokens": 0}]) is None


def test_window_rates_count_missing_seconds_as_idle():
    per_second = series({10: 10, 11: 10, 13: 10, 20: 99})  # second 12 is missing: idle
    rates = window_rates(per_second, Window(10, 13, True))
    assert rates["successes_per_s"] == pytest.approx(30 / 4)
    assert rates["successes_per_min"] == pytest.approx(30 / 4 * 60)
    assert rates["tokens_per_min"] == pytest.approx(3000 / 4 * 60)
    assert rates["charged_tokens_per_min"] == pytest.approx(30_000 / 4 * 60)
    assert rates["admitted_per_min"] == pytest.approx(30 / 4 * 60)


def test_steady_utilisation_of_a_ramped_run_ignores_ramp_and_tail():
    # 600 RPM = 10/s: a 2 s ramp, 100 s at exactly the limit, a 3 s tail.
    counts = {0: 2, 1: 6} | {t: 10 for t in range(2, 102)} | {102: 4, 103: 2, 104: 1}
    per_second = series(counts)
    window = steady_window(per_second)
    assert window is not None and window.steady
    rates = window_rates(per_second, window)
    assert utilization(rates, rpm=600, tpm=None, binding="requests") == pytest.approx(1.0)


def test_utilisation_reads_the_binding_limit():
    rates = {"successes_per_min": 570.0, "charged_tokens_per_min": 360_000.0}
    assert utilization(rates, rpm=600, tpm=400_000, binding="requests") == pytest.approx(0.95)
    assert utilization(rates, rpm=600, tpm=400_000, binding="tokens") == pytest.approx(0.90)
    assert utilization(rates, rpm=None, tpm=None, binding=None) is None
    assert utilization(rates, rpm=None, tpm=400_000, binding="requests") is None


# --- percentiles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4, 5], 50, 3),
        ([5, 1, 4, 2, 3], 50, 3),  # unsorted input
        ([1, 2, 3, 4], 50, 2.5),
        ([10, 20], 95, 19.5),
        (list(range(1, 101)), 95, 95.05),
        ([7], 95, 7),
        ([1, 2, 3], 0, 1),
        ([1, 2, 3], 100, 3),
    ],
)
def test_percentile_interpolates_between_closest_ranks(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_none_and_q_is_checked():
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1, 2], 101)


# --- targets ---------------------------------------------------------------------------------------


def run(scenario: str, label: str = "engine x4", kind: str = "engine", workers: int = 4, **metrics) -> dict:
    base = {"scenario": scenario, "label": label, "kind": kind, "workers": workers, "claims": 10, "rows": 10,
            "one_decision_per_claim": True, "ledger": {"ok": True} if kind == "engine" else None}
    return base | metrics


def by_name(checks: list[Check]) -> dict[tuple[str, str], Check]:
    return {(c.scenario, c.name): c for c in checks}


def test_targets_pass_and_fail_at_their_bars():
    checks = by_name(check_targets([
        run("rpm-bound", utilization=0.95, rate_limited_ratio=0.021),
        run("tpm-bound", utilization=0.899),
        run("storm", failed_claims=0, rate_limited_ratio=0.05, utilization=0.86),
        run("ceiling", label="engine x2", workers=2, successes_per_s=170.0),
    ]))
    assert checks[("rpm-bound", "RPM utilization")].ok is True
    assert checks[("rpm-bound", "429 ratio")].ok is False
    assert checks[("tpm-bound", "TPM utilization")].ok is False
    assert checks[("storm", "failed claims")].ok is True
    assert checks[("storm", "429 ratio")].ok is True
    assert checks[("storm", "utilization")].ok is True
    assert checks[("ceiling", "successful req/s (2 actors)")].ok is True


def test_storm_with_one_failed_claim_misses_its_target():
    checks = by_name(check_targets([run("storm", failed_claims=1, rate_limited_ratio=0.0, utilization=0.9)]))
    assert checks[("storm", "failed claims")].ok is False


def test_latency_speedups_compare_claims_per_minute():
    runs = [
        run("latency-bound", claims_per_min=600.0),
        run("latency-bound", label="baseline N=4", kind="baseline", claims_per_min=150.0),
        run("latency-bound", label="sequential", kind="baseline", workers=1, claims_per_min=61.0),
    ]
    checks = by_name(check_targets(runs))
    vs_base = checks[("latency-bound", "4 actors vs baseline N=4")]
    vs_seq = checks[("latency-bound", "4 actors vs sequential")]
    assert (vs_base.ok, vs_base.measured) == (True, "4.0x")
    assert (vs_seq.ok, vs_seq.measured) == (False, "9.8x")


def test_unmeasured_target_is_not_a_pass():
    checks = by_name(check_targets([run("rpm-bound", utilization=None, rate_limited_ratio=None)]))
    assert checks[("rpm-bound", "RPM utilization")].ok is None
    assert checks[("rpm-bound", "RPM utilization")].measured == "n/a"


def test_lost_claims_and_broken_ledger_fail_their_checks():
    checks = by_name(check_targets([run("ceiling", label="engine x2", rows=9, one_decision_per_claim=False,
                                        ledger={"ok": False, "error": "seq 4: bad hash"})]))
    assert checks[("ceiling", "engine x2: one decision per claim, none lost")].ok is False
    ledger = checks[("ceiling", "engine x2: ledger verifies")]
    assert (ledger.ok, ledger.measured) == (False, "seq 4: bad hash")


def test_an_intact_ledger_with_a_missing_decision_fails():
    checks = by_name(check_targets([run("storm", ledger={"ok": True, "decisions": 9})]))
    ledger = checks[("storm", "engine x4: ledger verifies")]
    assert (ledger.ok, ledger.measured) == (False, "intact but 9 decisions")
    checks = by_name(check_targets([run("storm", ledger={"ok": True, "decisions": 10})]))
    assert checks[("storm", "engine x4: ledger verifies")].ok is True


def test_memory_flatness_is_judged_per_role():
    memory = {"roles": {"driver": {"late_over_early": 1.1}, "AssessorActor": {"late_over_early": 1.6}}}
    checks = by_name(check_targets([run("ceiling", label="engine x2", successes_per_s=200.0, memory=memory)]))
    assert checks[("ceiling", "memory flat: driver late/early RSS")].ok is True
    assert checks[("ceiling", "memory flat: AssessorActor late/early RSS")].ok is False


def test_a_run_is_broken_without_one_decision_per_claim_or_an_intact_ledger():
    from claim_assess.bench.results import is_broken

    assert not is_broken(run("storm"))
    assert not is_broken(run("latency-bound", label="baseline N=4", kind="baseline", exit_code=0))
    assert is_broken(run("storm", exit_code=1))
    assert is_broken(run("storm", error="RuntimeError: boom"))
    assert is_broken(run("storm", one_decision_per_claim=False))
    assert is_broken(run("storm", ledger={"ok": False, "error": "seq 4: bad hash"}))


def test_markdown_has_a_row_per_run_and_per_check():
    runs = [run("rpm-bound", utilization=0.97, rate_limited_ratio=0.001, rpm_limit=600, successes_per_min=582.0)]
    checks = check_targets(runs)
    text = markdown(runs, checks)
    assert "| rpm-bound | engine x4 |" in text and "582 (600)" in text and "0.970" in text
    assert "| rpm-bound | RPM utilization | >= 0.95 | 0.97 | yes |" in text
    assert text.count("\n") == 2 + len(runs) + 3 + len(checks)


# --- processes and output parsing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("ray::AssessorActor", "AssessorActor"),
        ("ray::assessor-1:AssessorActor.assess", "AssessorActor"),
        ("ray::assess CLM-2026-000001", "AssessorActor"),
        ("ray::LedgerActor.append", "LedgerActor"),
        ("ray::IDLE", None),
        ("ray::DashboardAgent", None),
        ("/venv/bin/python -m drivers.assess", None),
        ("", None),
    ],
)
def test_role_of_reads_ray_process_titles(title, role):
    assert role_of(title) == role


def test_early_late_medians_need_enough_samples():
    assert early_late([100] * 7) == (None, None)
    # 12 samples: start-up (ignored), the 2nd quarter (early), ..., the last quarter (late).
    early, late = early_late([10, 20, 30, 100, 104, 102, 500, 500, 500, 120, 130, 125])
    assert (early, late) == (102, 125)


def test_parse_summary_skips_anything_before_the_json():
    assert parse_summary('{"claims": 3}\n') == {"claims": 3}
    assert parse_summary('warning: noise\n{\n  "claims": 3\n}\n') == {"claims": 3}
    assert parse_summary("no json here") is None


def engine_summary_json(**llm: int) -> dict:
    """What ``python -m drivers.assess --json`` prints, as RunSummary writes it."""
    from claim_assess.llm.accounting import LLMUsage
    from claim_assess.run.settings import RunSettings
    from claim_assess.run.summary import RunFiles, RunSummary

    files = RunFiles(*(f"/ws/runs/r/{name}" for name in ("results.parquet", "line_items.parquet", "summary.json",
                                                         "report.html", "timeline.jsonl", "ledger")))
    return RunSummary(run_id="r", complete=True, resumed=False, claims=3, undecided=0, decisions={"APPROVE": 3},
                      totals={}, wall_seconds=12.5, llm=LLMUsage(**llm), ledger_height=4, checkpoint=None,
                      endpoint="http://127.0.0.1:1/v1", settings=RunSettings(input="d", workspace="/ws", run_id="r"),
                      files=files).to_json()


def test_the_engine_summary_is_read_as_a_run_summary():
    printed = "noise\n" + json.dumps(engine_summary_json(retries=4, rate_limited_requests=2, rate_limited_tokens=1))
    summary, error = read_summary(printed)
    assert error is None
    assert (summary.wall_seconds, summary.llm.retries, summary.llm.rate_limited) == (12.5, 4, 3)
    assert summary.complete is True and summary.files.results == "/ws/runs/r/results.parquet"
    assert read_summary("no json here") == (None, "no JSON summary")
    summary, error = read_summary('{"claims": 3}')
    assert summary is None and error.startswith("unreadable JSON summary")


def test_the_engine_subprocess_gets_no_ray_binding_from_the_bench(monkeypatch, tmp_path):
    # The engine binds a local Ray to 127.0.0.1 by itself: the bench must run it as a user does.
    from claim_assess.bench import engine

    seen = {}

    def popen(cmd, **kwargs):
        seen.update(kwargs, cmd=cmd)
        raise RuntimeError("not started")

    monkeypatch.setattr(engine.subprocess, "Popen", popen)
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    ceiling = next(s for s in scenarios(quick=True) if s.name == "ceiling")
    with pytest.raises(RuntimeError, match="not started"):
        engine.run_engine(ceiling.runs[0], ceiling, "http://127.0.0.1:1/v1", tmp_path / "data", tmp_path)
    assert seen["env"]["OPENAI_API_KEY"] == "sim-key"
    assert "RAY_ADDRESS" not in seen["env"]  # always a fresh local Ray
    assert "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER" not in seen["env"]
    assert seen["cwd"] == PROJECT_ROOT and seen["start_new_session"] is True


def test_without_the_bench_package_the_entry_point_says_where_it_ships(monkeypatch, capsys):
    # An installed wheel has claim_assess.drivers but no claim_assess.bench.
    monkeypatch.setitem(sys.modules, "claim_assess.bench.cli", None)
    assert bench_entry.main(["ledger", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "source repository" in err and "python -m drivers.bench" in err


def test_the_entry_point_hands_over_to_the_bench_package(capsys):
    assert bench_entry.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "exit codes:" in out and "example:" in out and "--scenario" in out


@pytest.mark.parametrize("subcommand", ["ledger", "faults"])
def test_subcommands_keep_their_flags(subcommand, capsys):
    assert bench_entry.main([subcommand, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"claim-assess bench {subcommand}" in out and "exit codes:" in out
    assert ("--verify-sizes" if subcommand == "ledger" else "--kill-every") in out


def test_the_engine_is_run_as_a_user_runs_it(tmp_path):
    from claim_assess.bench.engine import engine_command

    storm = next(s for s in scenarios(quick=True) if s.name == "storm")
    cmd = engine_command(storm.runs[0], storm, "http://127.0.0.1:1/v1", tmp_path / "data", tmp_path / "ws")
    assert cmd[1:3] == ["-m", "drivers.assess"]
    assert cmd[cmd.index("--run") + 1] == "storm-engine-x4" and "--run-id" not in cmd
    assert cmd[cmd.index("--rpm") + 1] == "1200" and cmd[cmd.index("--timeout") + 1] == "5.0"
    assert {"--json", "--quiet", "--no-dashboard"} <= set(cmd)


def test_quick_scenarios_are_small_and_cover_every_scenario():
    quick, full = scenarios(quick=True), scenarios(quick=False)
    assert [s.name for s in quick] == [s.name for s in full]
    assert sum(r.claims for s in quick for r in s.runs) < 500
    rpm = next(s for s in full if s.name == "rpm-bound")
    # At least 90 s of steady load: ~2.9 requests per claim at the RPM limit, less the warm-up and the tail.
    run_s = rpm.runs[0].claims * 2.9 / (rpm.sim.rpm / 60)
    assert run_s - rpm.warmup_s - 0.1 * run_s >= 90


# --- one smoke run ---------------------------------------------------------------------------------


@pytest.mark.ray
def test_quick_ceiling_smoke_run_writes_results(tmp_path):
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    # The engine binds to loopback by itself; this only keeps test traffic there should it ever regress.
    env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    proc = subprocess.run(
        [sys.executable, "-m", "drivers.bench", "--quick", "--scenario", "ceiling", "--out", str(out),
         "--workdir", str(tmp_path / "work")],
        # A guard against a hang, not a speed test: on 2 loaded cores a Ray start and 300 claims can take minutes.
        # How fast the engine is belongs to the benchmark's own targets (bench/), not to this check.
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["quick"] is True and doc["broken_runs"] == []
    (only,) = doc["runs"]
    assert only["scenario"] == "ceiling" and only["kind"] == "engine"
    assert only["one_decision_per_claim"] is True and only["rows"] == only["claims"] == 300
    assert only["ledger"]["ok"] is True and only["ledger"]["decisions"] == 300
    assert only["successes"] >= only["claims"] and only["successes_per_s"] > 0
    assert only["p50_ms"] is not None and only["p95_ms"] >= only["p50_ms"]
    roles = {p["role"] for p in only["memory"]["processes"]}
    assert {"driver", "AssessorActor", "LedgerActor"} <= roles
    assert {t["scenario"] for t in doc["targets"]} == {"ceiling"}
    # Then the bare client replayed every request of the run against the same simulator, and the ratio is recorded.
    bare = only["bare"]
    assert bare["requests"] == bare["successes"] == only["successes"] and bare["errors"] == 0
    assert bare["successes_per_s"] > 0 and only["engine_over_bare"] == round(
        only["successes_per_s"] / bare["successes_per_s"], 3)
    assert any(t["name"] == "engine / bare asyncio client (req/s)" for t in doc["targets"])
