"""One run, measured: the engine (a subprocess), the seed-style baseline or the cookbook-style one (both in this
process), each against a fresh simulator of its own, so the simulator's ``/stats`` belong to that run alone.

A run's record is a plain dict because it goes into results.json as it is, next to the simulator's own
``per_second`` series (so any other window can be recomputed later).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from claim_assess.bench.datasets import Datasets
from claim_assess.bench.engine import PROJECT_ROOT, SIM_KEY, SIM_MODEL, read_rows, run_engine, verify_workspace
from claim_assess.bench.scenarios import RunSpec, Scenario
from claim_assess.bench.windows import (
    Window,
    bucket_drained_at,
    ideal_s,
    ratio,
    rolling_minute,
    span_s,
    steady_window,
    tokens_admissible,
    utilization,
    whole_windows,
    window_rates,
)
from claim_assess.stats import percentile

Row = Mapping[str, Any]  # a result row: claim_id, decision, duration_ms


def measure(spec: RunSpec, scenario: Scenario, datasets: Datasets, workdir: Path, *, keep: bool,
            log: Callable[[str], None]) -> dict[str, Any]:
    from claim_assess.claims.dataset import read_dataset
    from claim_assess.simulator.server import start_simulator

    dataset_dir = datasets.get(spec.claims, scenario.seed)
    dataset = read_dataset(dataset_dir)
    expected_ids = [e.claim_id for e in dataset.entries]
    run: dict[str, Any] = {"scenario": scenario.name, "label": spec.label, "kind": spec.kind,
                           "workers": spec.workers, "claims": len(expected_ids),
                           "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                           # Other work on the machine skews every figure, the ceiling most: say how busy it was.
                           "loadavg_before": _loadavg()}
    log(f"[{scenario.name}] {spec.label}: {len(expected_ids)} claims ...")
    with start_simulator(scenario.sim) as sim:
        if spec.kind == "engine":
            figures, rows, stats = _measure_engine(spec, scenario, sim, dataset_dir, workdir)
        elif spec.kind == "cookbook":
            figures, rows, stats = _measure_cookbook(scenario, dataset, sim)
        else:
            figures, rows, stats = _measure_baseline(spec, dataset, sim)
    run.update(figures)
    run["loadavg_after"] = _loadavg()
    run.update(run_metrics(rows, expected_ids, stats, scenario, run.get("wall_s")))
    if run.get("bare"):
        run["engine_over_bare"] = _r(ratio(run.get("successes_per_s"), run["bare"].get("successes_per_s")), 3)
    if spec.kind == "engine" and not keep and run.get("workspace") and run.get("one_decision_per_claim") \
            and (run.get("ledger") or {}).get("ok"):
        shutil.rmtree(run["workspace"], ignore_errors=True)  # healthy: nothing to inspect
        run["workspace"] = None
    utilisation = "-" if run.get("utilization") is None else f"{run['utilization']:.3f}"
    log(f"[{scenario.name}] {spec.label}: done in {run.get('wall_s')} s, "
        f"{run.get('claims_per_min') or 0:.0f} claims/min, util {utilisation}")
    if run.get("bare"):
        log(f"[{scenario.name}] engine {run.get('successes_per_s')} successful req/s, bare asyncio client "
            f"{run['bare'].get('successes_per_s')} req/s: engine/bare {run.get('engine_over_bare')}")
    return run


def _measure_engine(spec: RunSpec, scenario: Scenario, sim, dataset_dir: Path,
                    workdir: Path) -> tuple[dict[str, Any], list[Row], Mapping[str, Any]]:
    engine = run_engine(spec, scenario, sim.url, dataset_dir, workdir)
    stats = sim.stats()
    figures = engine.to_json()
    rows: list[Row] = []
    summary = engine.summary
    if summary is not None:
        figures.update(wall_s=summary.wall_seconds, retries=summary.llm.retries,
                       engine_rate_limited=summary.llm.rate_limited, complete=summary.complete)
        if summary.files.results and Path(summary.files.results).exists():
            rows = read_rows(summary.files.results)
        if spec.bare_requests and engine.exit_code == 0:
            figures["bare"] = _measure_bare(spec, sim, engine.workspace, stats)
        figures["ledger"] = verify_workspace(str(engine.workspace))
    return figures, rows, stats


def _measure_bare(spec: RunSpec, sim, workspace: Path, engine_stats: Mapping[str, Any]) -> dict[str, Any]:
    """The bare client after the engine, against the same simulator: its rate over its own steady window."""
    from claim_assess.bench.bare_client import per_second_since, run_bare
    from claim_assess.ledger.filestore import CALLS_FILE
    from claim_assess.run.workspace import LEDGER_DIR

    loadavg = _loadavg()
    try:
        result = run_bare(workspace / LEDGER_DIR / CALLS_FILE, base_url=sim.url, api_key=SIM_KEY, model=SIM_MODEL,
                          limit=spec.bare_requests, cwd=PROJECT_ROOT)
    except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "successes_per_s": None}
    per_second = per_second_since(sim.stats().get("per_second", []), engine_stats.get("per_second", []))
    window = steady_window(per_second)
    rates = window_rates(per_second, window) if window else {}
    return result.to_json() | {
        "successes_per_s": _r(rates.get("successes_per_s")),
        "window": asdict(window) | {"seconds": window.seconds} if window else None,
        "loadavg_before": loadavg,
    }


def _measure_baseline(spec: RunSpec, dataset, sim) -> tuple[dict[str, Any], list[Row], Mapping[str, Any]]:
    from claim_assess.bench.baseline import run_baseline  # imports openai: only when a baseline runs

    result = run_baseline(dataset.entries, dataset.policies, dataset.policy_errors, base_url=sim.url,
                          api_key=SIM_KEY, model=SIM_MODEL, workers=spec.workers)
    stats = sim.stats()
    rows = [{"claim_id": c.claim_id, "decision": c.decision, "duration_ms": c.duration_ms} for c in result.claims]
    # The openai client retries silently; the server saw every attempt, the pipeline every call.
    figures = {"wall_s": round(result.wall_s, 3), "exit_code": 0,
               "retries": stats["requests"] - sum(c.calls for c in result.claims)}
    return figures, rows, stats


def _measure_cookbook(scenario: Scenario, dataset, sim) -> tuple[dict[str, Any], list[Row], Mapping[str, Any]]:
    # Imported here: it imports openai, needed only when a cookbook run happens.
    from claim_assess.bench.cookbook import run_cookbook

    # Given by hand, as a cookbook user passes them: the provider's advertised limits (a gateway's are in no header).
    rpm, tpm = scenario.sim.rpm, scenario.sim.tpm
    result = run_cookbook(dataset.entries, dataset.policies, dataset.policy_errors, base_url=sim.url,
                          api_key=SIM_KEY, model=SIM_MODEL, rpm=rpm, tpm=tpm)
    stats = sim.stats()
    rows = [{"claim_id": c.claim_id, "decision": c.decision, "duration_ms": c.duration_ms} for c in result.claims]
    figures = {"wall_s": round(result.wall_s, 3), "exit_code": 0, "cookbook_limits": {"rpm": rpm, "tpm": tpm},
               "retries": stats["requests"] - sum(c.calls for c in result.claims)}
    return figures, rows, stats


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_metrics(rows: Sequence[Row], expected_ids: Sequence[str], stats: Mapping[str, Any],
                scenario: Scenario, wall_s: float | None) -> dict[str, Any]:
    """What the table and targets need, from the result rows and the simulator's /stats."""
    durations = [r["duration_ms"] for r in rows if r.get("duration_ms") is not None]
    speed = {
        "claims_per_min": round(len(rows) / wall_s * 60, 1) if wall_s else None,
        "p50_ms": percentile(durations, 50),
        "p95_ms": percentile(durations, 95),
    }
    return _integrity(rows, expected_ids) | speed | _steady_rates(stats.get("per_second", []), scenario) \
        | _limit_figures(stats, scenario) | _simulator_counts(stats)


def _integrity(rows: Sequence[Row], expected_ids: Sequence[str]) -> dict[str, Any]:
    """One decision per claim: none lost, none twice."""
    got = [r["claim_id"] for r in rows]
    lost = sorted(set(expected_ids) - set(got))
    return {
        "rows": len(rows),
        "lost": lost[:20],
        "lost_count": len(lost),
        "duplicates": len(got) - len(set(got)),
        "one_decision_per_claim": not lost and len(got) == len(set(got)) == len(expected_ids),
        # No rows at all means the run broke: "0 failed" would read as a pass.
        "failed_claims": sum(1 for r in rows if r.get("decision") == "FAILED") if rows or not expected_ids else None,
        "decisions": {d: sum(1 for r in rows if r.get("decision") == d)
                      for d in sorted({r.get("decision") for r in rows})},
    }


def scenario_window(per_second: Sequence[Mapping[str, int]], scenario: Scenario) -> tuple[Window | None, int | None]:
    """The run's steady window, and the second the provider's minute bucket ran dry (None: never, or no bucket)."""
    if scenario.gateway_binds:
        # A fixed window has no bucket to replay: whole gateway windows (counted from the simulator's start), from
        # the second one after the gateway first refused.
        refused = [p["t"] for p in per_second if p.get("rate_limited")]
        return whole_windows(per_second, first_refused=min(refused) if refused else None), None
    drained = None
    if scenario.warmup_s and scenario.binding:
        limit = scenario.sim.rpm if scenario.binding == "requests" else scenario.sim.tpm
        key = "admitted" if scenario.binding == "requests" else "charged_tokens"
        drained = bucket_drained_at(per_second, limit=limit or 0, key=key)
    # Steady state starts once the provider's minute bucket is dry, or after its first minute if the
    # client never drained it (then it ran at or under the rate, and the minute's burst is spent anyway).
    window = steady_window(per_second, warmup_s=scenario.warmup_s if drained is None else 0, not_before=drained)
    return window, drained


def _steady_rates(per_second: Sequence[Mapping[str, int]], scenario: Scenario) -> dict[str, Any]:
    window, drained = scenario_window(per_second, scenario)
    rates = window_rates(per_second, window) if window else {}
    used = utilization(rates, rpm=scenario.limit("requests"), tpm=scenario.limit("tokens"),
                       binding=scenario.binding) if rates else None
    return {
        "window": asdict(window) | {"seconds": window.seconds, "warmup_s": scenario.warmup_s,
                                     "bucket_drained_at": drained} if window else None,
        "successes_per_min": _r(rates.get("successes_per_min")),
        "successes_per_s": _r(rates.get("successes_per_s")),
        "tokens_per_min": _r(rates.get("tokens_per_min")),
        "charged_tokens_per_min": _r(rates.get("charged_tokens_per_min")),
        "admitted_per_min": _r(rates.get("admitted_per_min")),
        "rpm_limit": scenario.sim.rpm,
        "tpm_limit": scenario.sim.tpm,
        "gateway_rpm": scenario.sim.gateway_rpm,
        "gateway_tpm": scenario.sim.gateway_tpm,
        "binding": scenario.binding,
        # What utilisation is measured against: the lower of the provider's and the gateway's limit.
        "binding_limit": scenario.limit(scenario.binding) if scenario.binding else None,
        "utilization": _r(used, 4),
    }


def _limit_figures(stats: Mapping[str, Any], scenario: Scenario) -> dict[str, Any]:
    """The span to the millisecond, a limit scenario's headline ratio, and the busiest minute of admissions."""
    per_second = stats.get("per_second", [])
    span = span_s(stats)
    out: dict[str, Any] = {"span_s": _r(span, 3), "headline": scenario.headline}
    limit = scenario.limit(scenario.binding) if scenario.binding == "requests" else None
    if limit and span:
        # Over the whole span, learning included: what the run got out of the binding limit, start to end.
        successes = sum(p.get("successes", 0) for p in per_second)
        out["span_utilization"] = _r(successes / span * 60 / limit, 4)
    if scenario.headline == "wall_over_ideal" and scenario.sim.rpm:
        admitted = sum(p.get("admitted", 0) for p in per_second)
        ideal = ideal_s(admitted, per_minute=scenario.sim.rpm, latency_s=scenario.sim.latency_median_ms / 1000)
        out |= {"ideal_s": _r(ideal, 3), "wall_over_ideal": _r(ratio(span, ideal), 4)}
    if scenario.headline == "charged_over_admissible" and scenario.sim.tpm and span is not None:
        charged = sum(p.get("charged_tokens", 0) for p in per_second)
        admissible = tokens_admissible(scenario.sim.tpm, span)
        out |= {"charged_tokens": charged, "tokens_admissible": round(admissible),
                "charged_over_admissible": _r(ratio(charged, admissible), 4)}
    # Information, never judged: a bucket admits nothing over its accounting by construction.
    minutes = {kind: rolling_minute(per_second, limit=limit, key=key, quantize=scenario.sim.quantize)
               for kind, key, limit in (("requests", "admitted", scenario.sim.rpm),
                                        ("tokens", "charged_tokens", scenario.sim.tpm)) if limit}
    out["rolling_minute"] = {kind: asdict(m) | {"allowance": round(m.allowance, 1), "within": m.within}
                             for kind, m in minutes.items() if m is not None} or None
    requests = minutes.get("requests")
    out["max_admitted_rolling_minute"] = requests.admitted if requests else None
    out["rolling_minute_allowance"] = round(requests.allowance, 1) if requests else None
    return out


def _simulator_counts(stats: Mapping[str, Any]) -> dict[str, Any]:
    """What the simulator served over the whole run, and its own per-second counts."""
    limited = sum((stats.get("rate_limited") or {}).values())
    requests = stats.get("requests", 0)
    per_second = stats.get("per_second", [])
    return {
        "requests": requests,
        "successes": stats.get("successes"),
        "rate_limited": limited,
        "rate_limited_by_kind": stats.get("rate_limited"),
        "rate_limited_ratio": round(limited / requests, 4) if requests else None,
        "faults": stats.get("faults"),
        # The simulator's own per-second counts, so any window can be recomputed (or charted) later.
        "per_second": [[p["t"], p.get("admitted", 0), p.get("successes", 0), p.get("charged_tokens", 0),
                        p.get("tokens", 0), p.get("rate_limited", 0)] for p in per_second],
        "per_second_columns": ["t", "admitted", "successes", "charged_tokens", "tokens", "rate_limited"],
    }


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
