"""What the benchmark shows: one row per run, the limit scenarios' engine and cookbook side by side, the ceiling
run's memory, the targets, and the same as Markdown for README's "Performance" section. Pure functions of the run
records and checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table

from claim_assess.bench.targets import Check

Run = Mapping[str, Any]


def _fmt(value: Any, fmt: str = "{}", missing: str = "-") -> str:
    return missing if value is None else fmt.format(value)


def _s(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


def _ledger_cell(run: Run) -> str:
    ledger = run.get("ledger")
    if ledger is None:
        return "n/a (none)" if run["kind"] in ("baseline", "cookbook", "bare") else "not verified"
    return "intact" if ledger.get("ok") else "FAILED"


def _shared_cells(r: Run) -> dict[str, str]:
    """The cells the terminal table and the Markdown show alike."""
    return {
        "wall": _fmt(r.get("wall_s"), "{:.1f}"),
        "claims/min": _fmt(r.get("claims_per_min"), "{:,.0f}"),
        "ok req/min": _fmt(r.get("successes_per_min"), "{:,.0f}"),
        "util": _fmt(r.get("utilization"), "{:.3f}"),
        "429s": f"{r.get('rate_limited', 0)} ({_fmt(r.get('rate_limited_ratio'), '{:.1%}')})",
        "retries": _fmt(r.get("retries")),
        "failed": _fmt(r.get("failed_claims")),
        "latency": f"{_fmt(_s(r.get('p50_ms')), '{:.1f}')} / {_fmt(_s(r.get('p95_ms')), '{:.1f}')}",
        "decided": f"{r.get('rows', 0)}/{r.get('claims', 0)}",
    }


def bare_row(run: Run) -> Run | None:
    """The bare asyncio client that followed an engine run (the ceiling), as a row of its own under it."""
    bare = run.get("bare")
    if not bare:
        return None
    rate = bare.get("successes_per_s")
    ratio = run.get("engine_over_bare")
    return {"scenario": run["scenario"], "kind": "bare",
            "label": f"bare asyncio client (c={bare.get('concurrency')})"
                     + ("" if ratio is None else f": engine/bare {ratio:.2f}"),
            "wall_s": bare.get("wall_s"), "successes_per_min": None if rate is None else rate * 60,
            "rate_limited": 0, "retries": 0 if rate is not None else None,
            "rows": bare.get("successes", 0), "claims": bare.get("requests", 0),
            "one_decision_per_claim": bare.get("errors") == 0 and not bare.get("error")}


def with_bare(runs: Sequence[Run]) -> list[Run]:
    """Every run, each engine run that was followed by a bare client with that client's row after it."""
    out: list[Run] = []
    for run in runs:
        out.append(run)
        if (bare := bare_row(run)) is not None:
            out.append(bare)
    return out


def runs_table(runs: Sequence[Run]) -> Table:
    table = Table(title="claim-assess benchmark", show_lines=False)
    for name, justify in (("scenario", "left"), ("run", "left"), ("wall s", "right"), ("claims/min", "right"),
                          ("ok req/min", "right"), ("tokens/min (charged)", "right"), ("util", "right"),
                          ("429s", "right"), ("retries", "right"), ("failed", "right"),
                          ("p50 / p95 s", "right"), ("decisions", "right"), ("ledger", "left")):
        table.add_column(name, justify=justify)
    for r in with_bare(runs):  # a bare row's "decisions" are its requests answered
        cells = _shared_cells(r)
        limit_r = (f" / {r['rpm_limit']:,}" if r.get("rpm_limit") else "") \
            + (f" (gateway {r['gateway_rpm']:,})" if r.get("gateway_rpm") else "")
        limit_t = f" / {r['tpm_limit']:,}" if r.get("tpm_limit") else ""
        table.add_row(
            r["scenario"], r["label"], cells["wall"], cells["claims/min"], cells["ok req/min"] + limit_r,
            f"{_fmt(r.get('tokens_per_min'), '{:,.0f}')} ({_fmt(r.get('charged_tokens_per_min'), '{:,.0f}')})"
            + limit_t,
            cells["util"], cells["429s"], cells["retries"], cells["failed"], cells["latency"],
            cells["decided"] + ("" if r.get("one_decision_per_claim") else " !"),
            _ledger_cell(r),
        )
    return table


# The headline figure of each limit scenario: (results.json key, what the table calls it, format).
HEADLINES = {
    "wall_over_ideal": ("wall_over_ideal", "span / ideal", "{:.2f}"),
    "charged_over_admissible": ("charged_over_admissible", "charged / admissible tokens", "{:.3f}"),
    "utilization": ("utilization", "utilization", "{:.3f}"),
}
LIMIT_COLUMNS = ("scenario", "figure", "engine", "cookbook", "span s", "wall s", "429s", "failed",
                 "busiest minute (admitted of allowance)")


def engine_and_cookbook(runs: Sequence[Run]) -> list[tuple[str, Run | None, Run]]:
    """(scenario, its first engine run, its cookbook run) for every scenario with a cookbook run, in run order."""
    pairs = []
    for cookbook in (r for r in runs if r["kind"] == "cookbook"):
        engine = next((r for r in runs if r["scenario"] == cookbook["scenario"] and r["kind"] == "engine"), None)
        pairs.append((cookbook["scenario"], engine, cookbook))
    return pairs


def _both(engine: Run | None, cookbook: Run, key: str, fmt: str = "{}") -> str:
    return f"{_fmt((engine or {}).get(key), fmt)} / {_fmt(cookbook.get(key), fmt)}"


def _busiest(run: Run | None) -> str:
    if not run or run.get("max_admitted_rolling_minute") is None:
        return "-"
    return f"{run['max_admitted_rolling_minute']:,} of {run.get('rolling_minute_allowance') or 0:,.0f}"


def limit_rows(runs: Sequence[Run]) -> list[tuple[str, ...]]:
    """One row per limit scenario: its headline figure for the engine and the cookbook, then engine / cookbook."""
    rows = []
    for scenario, engine, cookbook in engine_and_cookbook(runs):
        key, name, fmt = HEADLINES.get(cookbook.get("headline") or "utilization", HEADLINES["utilization"])
        rows.append((scenario, name, _fmt((engine or {}).get(key), fmt), _fmt(cookbook.get(key), fmt),
                     _both(engine, cookbook, "span_s", "{:.1f}"), _both(engine, cookbook, "wall_s", "{:.1f}"),
                     _both(engine, cookbook, "rate_limited"), _both(engine, cookbook, "failed_claims"),
                     f"{_busiest(engine)} / {_busiest(cookbook)}"))
    return rows


def limits_table(runs: Sequence[Run]) -> Table | None:
    rows = limit_rows(runs)
    if not rows:
        return None
    table = Table(title="limit scenarios: the engine next to the cookbook (engine / cookbook; targets judge the engine)")
    for name in LIMIT_COLUMNS:
        table.add_column(name, justify="left" if name in ("scenario", "figure") else "right")
    for row in rows:
        table.add_row(*row)
    return table


def targets_table(checks: Sequence[Check], judged: bool) -> Table:
    title = "targets" if judged else "targets (quick run: shown, not judged)"
    table = Table(title=title)
    for name in ("scenario", "target", "bar", "measured", "ok"):
        table.add_column(name)
    for c in checks:
        mark = "n/a" if c.ok is None else ("[green]yes[/]" if c.ok else "[red]NO[/]")
        table.add_row(c.scenario, c.name, c.target, c.measured, mark)
    return table


def memory_table(runs: Sequence[Run]) -> Table | None:
    rows = [(r, p) for r in runs for p in (r.get("memory") or {}).get("processes", [])]
    if not rows:
        return None
    table = Table(title="memory (RSS MB; early = median of the 2nd quarter of samples, late = of the last quarter)")
    for name in ("run", "process", "pid", "peak", "early", "late", "late/early"):
        table.add_column(name)
    for r, p in rows:
        table.add_row(f"{r['scenario']} {r['label']}", p["role"], str(p["pid"]), _fmt(p["peak_rss_mb"]),
                      _fmt(p["early_rss_mb"]), _fmt(p["late_rss_mb"]), _fmt(p["late_over_early"], "{:.2f}"))
    return table


def markdown(runs: Sequence[Run], checks: Sequence[Check]) -> str:
    """The runs and targets as Markdown tables, for README's "Performance" section."""
    lines = ["| scenario | run | wall s | claims/min | ok req/min (limit) | tokens/min charged (limit) | util | "
             "429s | retries | failed | p50 / p95 s | decided | ledger |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in with_bare(runs):
        cells = _shared_cells(r)
        lines.append(" | ".join([
            "", r["scenario"], r["label"], cells["wall"], cells["claims/min"],
            cells["ok req/min"] + (f" ({r['rpm_limit']:,}" + (f", gateway {r['gateway_rpm']:,}"
                                                                if r.get("gateway_rpm") else "") + ")"
                                   if r.get("rpm_limit") else ""),
            _fmt(r.get("charged_tokens_per_min"), "{:,.0f}") + (f" ({r['tpm_limit']:,})" if r.get("tpm_limit") else ""),
            cells["util"], cells["429s"], cells["retries"], cells["failed"], cells["latency"], cells["decided"],
            _ledger_cell(r), ""]).strip())
    limits = limit_rows(runs)
    if limits:
        lines += ["", "| " + " | ".join(LIMIT_COLUMNS) + " |", "|---|---|" + "---:|" * (len(LIMIT_COLUMNS) - 2)]
        lines += ["| " + " | ".join(row) + " |" for row in limits]
    lines += ["", "| scenario | target | bar | measured | met |", "|---|---|---|---|---|"]
    for c in checks:
        met = "n/a" if c.ok is None else ("yes" if c.ok else "**no**")
        lines.append(f"| {c.scenario} | {c.name} | {c.target} | {c.measured} | {met} |")
    return "\n".join(lines) + "\n"
