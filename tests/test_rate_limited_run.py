"""An RPM-bound job against the simulator: the fleet runs at the limit, not over it, and no claim fails.

The simulator enforces 600 RPM per second (10 a second, as quantized providers do) and the engine is
told the same limit; if the shared limiter let the fleet overshoot, the simulator would answer 429s.
"""

from __future__ import annotations

import pytest

from claim_assess.claims.results import read_results
from claim_assess.claims.synthetic import generate, write_dataset
from claim_assess.drivers import assess
from claim_assess.simulator.server import SimulatorConfig, start_simulator

pytestmark = pytest.mark.ray

RPM = 600


def test_rpm_bound_run_stays_under_the_limit_with_no_failed_claim(ray_session, tmp_path, monkeypatch):
    data_dir, workspace = tmp_path / "data", tmp_path / "ws"
    write_dataset(generate(40, seed=41), data_dir)
    monkeypatch.setenv("OPENAI_API_KEY", "sim-test-key")
    config = SimulatorConfig(rpm=RPM, tpm=None, quantize="aligned", latency_median_ms=200, latency_p95_ms=500)
    with start_simulator(config) as simulator:
        code = assess.main(
            ["--llm", "openai", "--base-url", simulator.url, "--model", "sim-gpt", "--rpm", str(RPM),
             "--input", str(data_dir), "--workspace", str(workspace), "--run", "rpm-bound", "--actors", "2",
             "--quiet", "--no-dashboard"]
        )
        stats = simulator.stats()
    assert code == 0
    rows, _ = read_results(workspace / "runs" / "rpm-bound")
    assert len(rows) == 40 and not [r for r in rows if r["decision"] == "FAILED"]
    # Admissions by the second they arrived; any window of w seconds may hold the rate times w plus one
    # burst (the provider's bucket holds a second of rate). Over the run this is "no more than the limit".
    admitted = {bucket["t"]: bucket["admitted"] for bucket in stats["per_second"]}
    seconds = range(min(admitted), max(admitted) + 1)
    per_second = [admitted.get(t, 0) for t in seconds]
    assert len(per_second) >= 5, "the run must last long enough to measure"
    for window in (1, 5, 10, 60):
        worst = max(sum(per_second[i:i + window]) for i in range(len(per_second)))
        assert worst <= RPM / 60 * window + RPM / 60, f"{worst} requests in {window}s is over the limit"
    rate_limited = stats["rate_limited"]["requests"] + stats["rate_limited"]["tokens"]
    assert rate_limited <= 0.08 * stats["requests"], f"the engine overshot: {rate_limited} 429s of {stats['requests']}"
    # Every success the simulator served is a claim's call, but for the run's one preflight request.
    assert stats["successes"] == sum(r["llm_calls"] for r in rows) - rate_limited + 1
