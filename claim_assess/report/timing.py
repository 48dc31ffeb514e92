"""Where the time went: the claim latency histogram and the time per stage (coverage calls, assessment
call, everything else), from the result rows and the LLM call log."""

from __future__ import annotations

from claim_assess.report.charts import Bar, bar_chart, compact, histogram
from claim_assess.report.data import ReportData
from claim_assess.report.figures import CallFigures
from claim_assess.report.markup import e, empty, seconds, table
from claim_assess.stats import percentile

STAGE_NAMES = {"coverage": "coverage calls (LLM)", "assessment": "assessment call (LLM)",
               "facts_check": "facts check (LLM)",
               "other": "waiting for the limiter, rules, ledger"}


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def latency_section(data: ReportData) -> str:
    durations = data.claims.durations_s
    p50, p95, top = percentile(durations, 50), percentile(durations, 95), max(durations, default=None)
    markers = [(label, value) for label, value in (("p50", p50), ("p95", p95)) if value is not None]
    desc = ("Histogram of the time each claim took" + (f"; median {p50:.2f} s, 95th percentile {p95:.2f} s"
                                                       if p50 is not None and p95 is not None else ""))
    chart = histogram("chart-latency", "Claim duration distribution", durations, x_label="seconds per claim",
                      markers=markers, x_format=lambda v: f"{compact(v)} s", desc=desc)
    return (f'<section id="latency"><h2>Claim latency</h2><p class="caption">From the first step to the recorded '
            f'decision, per claim ({len(durations):,} claims): median <b>{e(seconds(p50))}</b>, p95 '
            f'<b>{e(seconds(p95))}</b>, slowest {e(seconds(top))}.</p>{chart}</section>')


def stage_times(data: ReportData) -> dict[str, float]:
    """Seconds per claim spent in the coverage calls, the assessment call and everything else (rules,
    waiting for the limiter or a slot, the ledger append), summed over the run's claims. A stage's time
    in a claim is the span from its first attempt's start to its last attempt's end (coverage calls of a
    claim run concurrently; retries and back-off are part of the stage): ``figures.CallTally``."""
    totals = {purpose: figures.spent_s for purpose, figures in data.calls.purposes.items()}
    if data.claims.other_s is not None:
        totals["other"] = data.claims.other_s
    return totals


def _stage_chart(data: ReportData) -> str:
    totals = stage_times(data)
    claims = max(1, data.claims.claims)
    order = [k for k in ("coverage", "assessment") if k in totals] + sorted(
        k for k in totals if k not in ("coverage", "assessment", "other")) + ["other"]
    grand = sum(totals.values()) or 1.0
    bars = []
    for key in order:
        spent = totals.get(key, 0.0)
        css = f"stage-{key}" if key in STAGE_NAMES else "stage-coverage"
        bars.append(Bar(STAGE_NAMES.get(key, f"{key} calls (LLM)"),
                        [(spent / claims, css, f"{key}: {spent:.1f} s in all")],
                        note=f"{seconds(spent / claims)} per claim · {spent / grand:.0%}"))
    return bar_chart("chart-stages", "Mean time per claim by stage", bars, value_label="seconds per claim (mean)",
                     desc="Where a claim's time went: LLM coverage calls, the LLM assessment call, and the rest")


def _attempts_table(calls: CallFigures) -> str:
    rows = []
    for purpose, group in sorted(calls.purposes.items()):
        latencies = group.latencies_ms
        rows.append([purpose, f"{group.attempts:,}", f"{group.answered:,}", f"{group.attempts - group.answered:,}",
                     _ms(percentile(latencies, 50)), _ms(percentile(latencies, 95)), f"{group.tokens:,}"])
    if not rows:
        return empty("No LLM attempts were recorded for this run.")
    return table(["purpose", "attempts", "answered (200)", "not answered", "p50 ms", "p95 ms", "tokens"], rows,
                 numeric=range(1, 7))


def stages_section(data: ReportData) -> str:
    if data.calls.attempts:
        caption = ("Derived from the LLM call log: for each claim, the span of its coverage calls (they run side by "
                   "side), the span of its assessment call (retries included), and the remainder of the claim's "
                   "duration (rules, waiting for the rate limiter or a slot, writing the ledger). Averaged over all "
                   f"{data.claims.claims:,} claims, including those decided without the LLM.")
    else:
        caption = ("The LLM call log has no attempt of this run, so the stages cannot be told apart: the bar is "
                   "the whole time per claim.")
    return (f'<section id="stages"><h2>Time per stage</h2><p class="caption">{e(caption)}</p>{_stage_chart(data)}'
            f'{_attempts_table(data.calls)}</section>')
