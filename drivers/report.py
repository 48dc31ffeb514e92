"""The run report: one self-contained ``runs/<run_id>/report.html`` a claims lead can open offline.

    python -m drivers.report RUN_ID [--workspace DIR] [--input DIR]

Inline CSS and inline SVG charts, no script and no fetch of any kind, so the file opens in any browser,
attaches to a ticket and prints. It shows throughput against the rate limits, claim latency, time per
stage, decisions with payouts, reason codes, the claims referred to a human, failures, the evaluation
against the dataset's ground truth when it has one, the run's settings and the ledger's newest checkpoint.
Everything taken from the run is escaped: claim text is untrusted.

Exit codes of the CLI: 0 written (the path is printed); 2 no such run or an unreadable workspace.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from claim_assess.errors import InputError
from claim_assess.claims.decision import APPROVE, DENY, FAILED, PARTIAL, REFER
from claim_assess.claims.evaluation import Evaluation
from claim_assess.drivers.evaluate import RunEvaluation, evaluate_run
from claim_assess.drivers.report_charts import Band, Bar, Series, bar_chart, compact, e, histogram, line_chart
from claim_assess.drivers.report_data import (
    REPORT_FILE,
    ReportData,
    cumulative_rate,
    load_report_data,
    parse_time,
    percentile,
    rate_series,
    rate_window,
)

DECISIONS = (APPROVE, PARTIAL, DENY, REFER, FAILED)
DECISION_MEANING = {APPROVE: "paid in full (after deductible and scale)", PARTIAL: "some items not covered",
                    DENY: "nothing paid", REFER: "a human decides", FAILED: "input or LLM error, not decided"}
MAX_TABLE_ROWS = 500
TOP_REASONS = 12
_SECRET_KEY = re.compile(r"(api_?key|secret|password|passwd|authorization|credential|(^|_)token$)", re.I)
CHART_IDS = ("chart-throughput", "chart-tokens", "chart-latency", "chart-stages", "chart-decisions", "chart-reasons")


# --- small formatting helpers ------------------------------------------------------------------------


def _money(value: Any) -> str:
    if value is None:
        return "—"
    return f"{Decimal(str(value)):,.2f}"


def _seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def _int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "—"


def _safe_url(value: str) -> str:
    """A URL without user:password@ and without a query (where some gateways take a key)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return "(not shown)"
    if not parts.scheme:
        return value
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def safe_settings(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Settings as (name, text) with anything that could be a credential hidden."""
    out = []
    for key, value in sorted(settings.items()):
        if _SECRET_KEY.search(str(key)):
            text = "(hidden)"
        elif isinstance(value, str) and "://" in value:
            text = _safe_url(value)
        elif isinstance(value, (list, tuple)):
            text = ", ".join(map(str, value)) if value else "—"
        elif value is None:
            text = "—"
        else:
            text = str(value)
        out.append((str(key), text))
    return out


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, css: str = "", numeric: Sequence[int] = (),
           nowrap: Sequence[int] = (), raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then the caller escaped them)."""

    def cls(i: int) -> str:
        names = " ".join(n for n, cols in (("num", numeric), ("id", nowrap)) if i in cols)
        return f' class="{names}"' if names else ""

    head = "".join(f"<th{cls(i)}>{e(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = "".join(f"<td{cls(i)}>{cell if raw else e(cell)}</td>" for i, cell in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f'<table class="{e(css)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _more(total: int, shown: int, what: str) -> str:
    if total <= shown:
        return ""
    return f'<p class="more">Showing {shown:,} of {total:,} {e(what)}; all are in results.parquet.</p>'


# --- sections ----------------------------------------------------------------------------------------


def _duration_s(data: ReportData) -> float:
    ends = [t["t"] for t in data.timeline]
    if data.origin is not None:
        for row in data.rows:
            finished = parse_time(row.get("finished_at"))
            if finished is not None:
                ends.append((finished - data.origin).total_seconds())
        ends += [(a.finished - data.origin).total_seconds() for a in data.attempts]
    wall = (data.summary or {}).get("wall_seconds")
    if isinstance(wall, (int, float)):
        ends.append(float(wall))
    return max(ends, default=1.0) or 1.0


def _limit_series(data: ReportData, key: str, setting: str, end: float) -> list[tuple[float, float]]:
    """The limit over time: the timeline's (learned limits change) or the configured one, else none."""
    points = [(float(t["t"]), float(t[key])) for t in data.timeline if isinstance(t.get(key), (int, float))]
    if points:
        return points + [(end, points[-1][1])]
    configured = ((data.summary or {}).get("settings") or {}).get(setting)
    if isinstance(configured, (int, float)) and not isinstance(configured, bool):
        return [(0.0, float(configured)), (end, float(configured))]
    return []


def _pauses(data: ReportData) -> list[Band]:
    bands: list[Band] = []
    for sample in data.timeline:
        paused = sample.get("paused_s")
        if isinstance(paused, (int, float)) and paused > 0:
            start = float(sample["t"])
            end = start + min(float(paused), 1.0)  # a sample speaks for its own second
            if bands and start <= bands[-1].end + 1e-6:
                bands[-1] = Band(bands[-1].start, end, bands[-1].label)
            else:
                bands.append(Band(start, end, "the rate limiter held every request back"))
    return [Band(b.start, b.end, f"limiter paused {b.start:.0f}–{b.end:.0f} s") for b in bands]


def throughput_section(data: ReportData) -> str:
    end = _duration_s(data)
    window = rate_window(end)
    if data.attempts and data.origin is not None:
        times = [(a.finished - data.origin).total_seconds() for a in data.attempts]
        requests = rate_series(times, [1.0] * len(times), end=end, window=window)
        tokens = rate_series(times, [float(a.tokens) for a in data.attempts], end=end, window=window)
        marks = [((a.finished - data.origin).total_seconds(), f"429 at {(a.finished - data.origin).total_seconds():.1f}"
                  f" s ({a.purpose}, claim {a.claim_id})") for a in data.attempts if a.status == "429"]
        source = "from ledger/llm_calls.jsonl (each HTTP attempt, by the time it finished)"
    elif data.timeline:
        requests = cumulative_rate([(float(t["t"]), float(t.get("requests") or 0)) for t in data.timeline],
                                   window=window)
        tokens = cumulative_rate([(float(t["t"]), float(t.get("tokens") or 0)) for t in data.timeline], window=window)
        marks = []
        previous = 0
        for t in data.timeline:
            limited = t.get("rate_limited") or 0
            if isinstance(limited, (int, float)) and limited > previous:
                marks.append((float(t["t"]), f"{limited - previous} × 429 by {float(t['t']):.0f} s"))
                previous = limited
        source = "from the run's timeline.jsonl (cumulative counters sampled each second)"
    else:
        requests, tokens, marks = [], [], []
        source = "no LLM attempts recorded for this run"
    bands = _pauses(data)
    rpm = _limit_series(data, "rpm_limit", "rpm", end)
    tpm = _limit_series(data, "tpm_limit", "tpm", end)
    req_series = [Series("requests/min", requests, "s-requests")]
    tok_series = [Series("tokens/min", tokens, "s-tokens")]
    if rpm:
        req_series.append(Series("requests/min limit", rpm, "s-limit", step=True))
    if tpm:
        tok_series.append(Series("tokens/min limit", tpm, "s-limit", step=True))
    caption = (f"Per-minute rates over a trailing {window:g}-second window, {source}. "
               + ("Dashed red: the limit in force. " if rpm or tpm else "No rate limit was set for this run. ")
               + (f"{_plural(len(marks), 'rate-limited answer')} (429) marked under the axis. " if marks
                  else "No 429s. ")
               + ("Shaded: the limiter paused all requests. " if bands else ""))
    charts = [
        line_chart("chart-throughput", "Requests per minute against the limit", req_series,
                   x_label="seconds since start", y_label="requests / min", marks=marks, bands=bands, x_max=end,
                   desc="LLM requests per minute over the run, with the requests-per-minute limit and 429 answers"),
        line_chart("chart-tokens", "Tokens per minute against the limit", tok_series, x_label="seconds since start",
                   y_label="tokens / min", marks=marks, bands=bands, x_max=end,
                   desc="LLM tokens per minute over the run, with the tokens-per-minute limit"),
    ]
    inflight = [(float(t["t"]), float(t["inflight_claims"])) for t in data.timeline
                if isinstance(t.get("inflight_claims"), (int, float))]
    if inflight:
        admitted = [(float(t["t"]), float(t["claim_limit"])) for t in data.timeline
                    if isinstance(t.get("claim_limit"), (int, float))]
        series = [Series("claims in flight", inflight, "s-inflight")]
        if admitted:
            series.append(Series("admission limit", admitted, "s-limit", step=True))
        charts.append(line_chart("chart-inflight", "Claims in flight", series, x_label="seconds since start",
                                 y_label="claims", bands=bands, x_max=end, height=200,
                                 desc="Claims being assessed at once, against the admission limit"))
    return (f'<section id="throughput"><h2>Throughput against the rate limits</h2>'
            f'<p class="caption">{e(caption)}</p>{"".join(charts)}</section>')


def latency_section(data: ReportData) -> str:
    durations = [float(r["duration_ms"]) / 1000 for r in data.rows if isinstance(r.get("duration_ms"), int)]
    p50, p95, top = percentile(durations, 50), percentile(durations, 95), max(durations, default=0.0)
    chart = histogram("chart-latency", "Claim duration distribution", durations, x_label="seconds per claim",
                      markers=[("p50", p50), ("p95", p95)], x_format=lambda v: f"{compact(v)} s",
                      desc=f"Histogram of the time each claim took; median {p50:.2f} s, 95th percentile {p95:.2f} s")
    return (f'<section id="latency"><h2>Claim latency</h2><p class="caption">From the first step to the recorded '
            f'decision, per claim ({len(durations):,} claims): median <b>{e(_seconds(p50))}</b>, p95 '
            f'<b>{e(_seconds(p95))}</b>, slowest {e(_seconds(top))}.</p>{chart}</section>')


def stage_times(data: ReportData) -> dict[str, float]:
    """Seconds per claim spent in the coverage calls, the assessment call and everything else (rules,
    waiting for the limiter or a slot, the ledger append), summed over the run's claims. A stage's time
    in a claim is the span from its first attempt's start to its last attempt's end (coverage calls of a
    claim run concurrently; retries and back-off are part of the stage)."""
    spans: dict[tuple[str, str], list[dt.datetime]] = {}
    for a in data.attempts:
        span = spans.setdefault((a.claim_id, a.purpose), [a.started, a.finished])
        span[0], span[1] = min(span[0], a.started), max(span[1], a.finished)
    totals: dict[str, float] = defaultdict(float)
    per_claim: dict[str, float] = defaultdict(float)
    for (claim_id, purpose), (start, end) in spans.items():
        seconds = (end - start).total_seconds()
        totals[purpose] += seconds
        per_claim[claim_id] += seconds
    for row in data.rows:
        duration = row.get("duration_ms")
        if isinstance(duration, int):
            totals["other"] += max(0.0, duration / 1000 - per_claim.get(str(row.get("claim_id")), 0.0))
    return dict(totals)


def stages_section(data: ReportData) -> str:
    totals = stage_times(data)
    claims = max(1, len(data.rows))
    names = {"coverage": "coverage calls (LLM)", "assessment": "assessment call (LLM)",
             "other": "waiting for the limiter, rules, ledger"}
    order = [k for k in ("coverage", "assessment") if k in totals] + sorted(
        k for k in totals if k not in ("coverage", "assessment", "other")) + ["other"]
    grand = sum(totals.values()) or 1.0
    bars = []
    for key in order:
        seconds = totals.get(key, 0.0)
        css = f"stage-{key}" if key in names else "stage-coverage"
        bars.append(Bar(names.get(key, f"{key} calls (LLM)"),
                        [(seconds / claims, css, f"{key}: {seconds:.1f} s in all")],
                        note=f"{_seconds(seconds / claims)} per claim · {seconds / grand:.0%}"))
    chart = bar_chart("chart-stages", "Mean time per claim by stage", bars, value_label="seconds per claim (mean)",
                      desc="Where a claim's time went: LLM coverage calls, the LLM assessment call, and the rest")
    by_purpose: dict[str, list] = defaultdict(list)
    for a in data.attempts:
        by_purpose[a.purpose].append(a)
    rows = []
    for purpose, attempts in sorted(by_purpose.items()):
        latencies = [a.latency_ms for a in attempts]
        ok = sum(1 for a in attempts if a.status == "200")
        rows.append([purpose, f"{len(attempts):,}", f"{ok:,}", f"{len(attempts) - ok:,}",
                     f"{percentile(latencies, 50):,.0f}", f"{percentile(latencies, 95):,.0f}",
                     f"{sum(a.tokens for a in attempts):,}"])
    table = _table(["purpose", "attempts", "answered (200)", "not answered", "p50 ms", "p95 ms", "tokens"], rows,
                   numeric=range(1, 7)) if rows else '<p class="empty">No LLM attempts were recorded for this run.</p>'
    if data.attempts:
        caption = ("Derived from the LLM call log: for each claim, the span of its coverage calls (they run side by "
                   "side), the span of its assessment call (retries included), and the remainder of the claim's "
                   "duration (rules, waiting for the rate limiter or a slot, writing the ledger). Averaged over all "
                   f"{len(data.rows):,} claims, including those decided without the LLM.")
    else:
        caption = ("The LLM call log has no attempt of this run, so the stages cannot be told apart: the bar is "
                   "the whole time per claim.")
    return f'<section id="stages"><h2>Time per stage</h2><p class="caption">{e(caption)}</p>{chart}{table}</section>'


def _payouts(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        if row.get("currency") and row.get("payout") is not None:
            out[str(row["decision"])][str(row["currency"])] += Decimal(str(row["payout"]))
    return out


def decisions_section(data: ReportData) -> str:
    counts = Counter(str(r.get("decision")) for r in data.rows)
    labels = [d for d in DECISIONS] + sorted(set(counts) - set(DECISIONS))
    payouts = _payouts(data.rows)
    total = max(1, len(data.rows))

    def money(decision: str) -> str:
        by_currency = payouts.get(decision, {})
        return " · ".join(f"{c} {_money(v)}" for c, v in sorted(by_currency.items()) if v) or "no payout"

    bars = [Bar(label, [(counts.get(label, 0), f"d-{label}", f"{label}: {counts.get(label, 0)} claims")],
                note=f"{counts.get(label, 0):,} ({counts.get(label, 0) / total:.0%})") for label in labels]
    chart = bar_chart("chart-decisions", "Decisions", bars, value_label="claims",
                      desc="Number of claims per decision")
    rows = [[f'<span class="pill d-{e(label)}">{e(label)}</span>', e(DECISION_MEANING.get(label, "")),
             e(f"{counts.get(label, 0):,}"), e(f"{counts.get(label, 0) / total:.1%}"), e(money(label))]
            for label in labels]
    currencies = sorted({c for by in payouts.values() for c in by})
    totals = " · ".join(
        f"{c} {_money(sum((payouts[d].get(c, Decimal(0)) for d in (APPROVE, PARTIAL)), Decimal(0)))}"
        for c in currencies) or "none"
    table = _table(["decision", "meaning", "claims", "share", "payout (proposed, for REFER)"], rows,
                   numeric=(2, 3), raw=True)
    return (f'<section id="decisions"><h2>Decisions and payouts</h2><p class="caption">Paid automatically '
            f'(APPROVE + PARTIAL): <b>{e(totals)}</b>. A REFER\'s amount is the rule-computed proposal the '
            f'reviewer starts from.</p>{chart}{table}</section>')


def reasons_section(data: ReportData) -> str:
    deciding: Counter[str] = Counter()
    applied: Counter[str] = Counter()
    for row in data.rows:
        reasons = list(row.get("reasons") or [])
        if reasons:
            deciding[str(reasons[0])] += 1
        for code in dict.fromkeys(map(str, reasons)):
            applied[code] += 1
    top = applied.most_common(TOP_REASONS)
    bars = [Bar(code, [(deciding.get(code, 0), "r-deciding", f"{code}: decided {deciding.get(code, 0)} claims"),
                       (n - deciding.get(code, 0), "r-also", f"{code}: also applied on "
                                                             f"{n - deciding.get(code, 0)} claims")],
                note=f"{_plural(n, 'claim')} · deciding in {deciding.get(code, 0):,}") for code, n in top]
    chart = bar_chart("chart-reasons", "Most frequent reason codes", bars, value_label="claims",
                      legend=[("deciding reason", "r-deciding"), ("also applied", "r-also")],
                      desc="How many claims carry each reason code, split by whether it decided the claim")
    rest = len(applied) - len(top)
    more = f'<p class="more">{rest} rarer codes are not shown.</p>' if rest > 0 else ""
    empty = '<p class="empty">No reason codes (every claim FAILED).</p>' if not top else ""
    return (f'<section id="reasons"><h2>Reason codes</h2><p class="caption">Each claim lists the code that decided '
            f'it first, then every other code that applied.</p>{empty}{chart}{more}</section>')


def referred_section(data: ReportData) -> str:
    referred = [r for r in data.rows if r.get("decision") == REFER]
    referred.sort(key=lambda r: (-(Decimal(str(r["payout"])) if r.get("payout") is not None else Decimal(0)),
                                 str(r.get("claim_id"))))
    rows = []
    for r in referred[:MAX_TABLE_ROWS]:
        reasons = list(r.get("reasons") or [])
        first = f"<b>{e(reasons[0])}</b>" if reasons else "—"
        others = ", ".join(e(x) for x in reasons[1:])
        confidence = r.get("confidence")
        rows.append([e(r.get("claim_id")), e(r.get("policy_id") or "—"), first, others or "—",
                     e(f"{r.get('currency') or ''} {_money(r.get('payout'))}".strip()),
                     e(_money(r.get("claimed_total"))),
                     e(f"{confidence:.2f}" if isinstance(confidence, float) else "—")])
    table = _table(["claim", "policy", "why referred", "other codes", "proposed payout", "claimed", "LLM confidence"],
                   rows, numeric=(4, 5, 6), nowrap=(0, 1, 4), raw=True, css="wide") if rows else \
        '<p class="empty">No claim was referred to a human.</p>'
    return (f'<section id="referred"><h2>Referred to a human ({len(referred):,})</h2><p class="caption">Largest '
            f'proposed payout first.</p>{table}{_more(len(referred), MAX_TABLE_ROWS, "referred claims")}</section>')


def failures_section(data: ReportData) -> str:
    failed = sorted((r for r in data.rows if r.get("decision") == FAILED), key=lambda r: str(r.get("claim_id")))
    rows = [[str(r.get("claim_id")), str(r.get("policy_id") or "—"), str(r.get("error") or "(no error recorded)")]
            for r in failed[:MAX_TABLE_ROWS]]
    table = _table(["claim", "policy", "error"], rows, nowrap=(0, 1), css="wide") if rows else \
        '<p class="empty">No claim failed.</p>'
    problems: dict[tuple[str, str], list] = {}
    for a in data.attempts:
        if a.status != "200":
            entry = problems.setdefault((a.purpose, a.status), [0, a.error])
            entry[0] += 1
    attempt_rows = [[purpose, status, f"{n:,}", error or "—"]
                    for (purpose, status), (n, error) in sorted(problems.items(), key=lambda kv: -kv[1][0])]
    attempts = (f'<h3>LLM attempts that got no answer</h3><p class="caption">Retried by the engine; a claim fails '
                f'only when its retries run out.</p>'
                + _table(["purpose", "status", "attempts", "example error"], attempt_rows, numeric=(2,), css="wide")
                ) if attempt_rows else ""
    stopped = (data.summary or {}).get("stopped")
    stop = f'<p class="alert">The run stopped early: {e(stopped)}</p>' if stopped else ""
    return (f'<section id="failures"><h2>Failures ({len(failed):,})</h2>{stop}{table}'
            f'{_more(len(failed), MAX_TABLE_ROWS, "failed claims")}{attempts}</section>')


def _confusion(ev: Evaluation) -> str:
    labels = ev.decisions()
    head = "".join(f"<th class=num>{e(a)}</th>" for a in labels)
    body = []
    for exp in labels:
        cells = []
        for act in labels:
            n = ev.confusion.get((exp, act), 0)
            css = "hit" if exp == act and n else ("miss" if n else "zero")
            cells.append(f'<td class="num {css}">{n if n else "·"}</td>')
        body.append(f"<tr><th>{e(exp)}</th>{''.join(cells)}</tr>")
    return (f'<table class="confusion"><thead><tr><th>expected ↓ / decided →</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _evaluation_block(title: str, explain: str, ev: Evaluation) -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    tiles = [("decision accuracy", pct(ev.decision_accuracy), f"{ev.decision_correct} of {ev.compared}"),
             ("deciding reason", pct(ev.reason_accuracy), f"{ev.reason_correct} of {ev.reason_compared}"),
             ("payouts exact", f"{ev.payout_exact} of {ev.payout_compared}",
              f"mean abs error {_money(ev.payout_mean_abs_error)} · max {_money(ev.payout_max_abs_error)}"),
             ("missing from run", f"{len(ev.missing)}", "expected claims not decided")]
    per_reason = _table(["expected reason", "claims", "decision right", "reason right"],
                        [[s.reason, f"{s.expected}", f"{s.decision_correct} ({s.decision_accuracy:.0%})",
                          f"{s.reason_correct}"] for s in ev.per_reason], numeric=(1, 2, 3))
    mismatches = ""
    if ev.mismatches:
        mismatches = "<h4>Mismatches</h4>" + _table(
            ["claim", "scenario", "expected", "decided", "payout expected", "payout decided"],
            [[m.claim_id, m.scenario or "—", f"{m.expected_decision} {m.expected_reason or ''}",
              f"{m.actual_decision} {m.actual_reason or ''}", _money(m.expected_payout), _money(m.actual_payout)]
             for m in ev.mismatches[:MAX_TABLE_ROWS]], numeric=(4, 5), nowrap=(0,), css="wide")
    return (f'<div class="eval"><h3>{e(title)}</h3><p class="caption">{e(explain)}</p>{_tiles(tiles)}'
            f'<div class="two">{_confusion(ev)}{per_reason}</div>{mismatches}</div>')


def evaluation_section(result: RunEvaluation | None) -> str:
    if result is None:
        return ""
    blocks = []
    if result.rules is not None:
        blocks.append(_evaluation_block("vs expected.jsonl", "The claims whose outcome the rules decide alone: "
                                        "any difference here is a defect.", result.rules))
    if result.model is not None:
        blocks.append(_evaluation_block("vs the simulator's model", "Every claim's outcome when each LLM answer "
                                        "follows the simulator's deterministic model (scenarios.jsonl): meaningful "
                                        "for simulator runs; against a real model it shows where it differs.",
                                        result.model))
    return (f'<section id="evaluation"><h2>Evaluation against ground truth</h2><p class="caption">Dataset '
            f'{e(result.dataset)}.</p>{"".join(blocks)}</section>')


def settings_section(data: ReportData) -> str:
    summary = data.summary or {}
    settings = summary.get("settings") if isinstance(summary.get("settings"), Mapping) else {}
    rows = safe_settings(settings)
    llm = summary.get("llm") if isinstance(summary.get("llm"), Mapping) else {}
    llm_rows = [(str(k), f"{v:,}" if isinstance(v, int) else str(v)) for k, v in sorted(llm.items())]
    body = _table(["setting", "value"], rows) if rows else '<p class="empty">summary.json has no settings.</p>'
    return (f'<section id="settings"><h2>Run settings</h2><div class="two">{body}'
            f'{_table(["LLM use", "count"], llm_rows, numeric=(1,)) if llm_rows else ""}</div></section>')


def checkpoint_section(data: ReportData) -> str:
    cp = data.checkpoint
    if cp is None:
        return ('<section id="checkpoint"><h2>Ledger checkpoint</h2><p class="empty">No checkpoint yet: the ledger '
                'has no signed checkpoint to anchor this run.</p></section>')
    fields = [(k, cp.get(k)) for k in ("created_at", "tree_size", "root", "head_hash", "ledger_id", "key_id",
                                       "signature", "schema")]
    rows = [[k, "—" if v is None else str(v)] for k, v in fields]
    height, size = (data.summary or {}).get("ledger_height"), cp.get("tree_size")
    coverage = ""
    if isinstance(height, int) and isinstance(size, int):
        coverage = (f'<p class="ok">It covers this run: the ledger held {height:,} decisions when the run ended and '
                    f'the checkpoint anchors {size:,}.</p>' if size >= height else
                    f'<p class="alert">The newest checkpoint anchors {size:,} decisions; {height - size:,} written '
                    f'by the end of this run are not anchored yet.</p>')
    return (f'<section id="checkpoint"><h2>Ledger checkpoint</h2><p class="caption">The newest signed checkpoint '
            f'in ledger/checkpoints.jsonl. Copy it off this machine: an anchor the writer cannot change is what '
            f'proves the decisions were not rewritten. Check it with <code>python -m drivers.verify</code>.</p>'
            f'{coverage}{_table(["field", "value"], rows, css="mono")}</section>')


def _tiles(tiles: Sequence[tuple[str, str, str]]) -> str:
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><div class="k">{e(k)}</div><div class="v">{e(v)}</div><div class="s">{e(s)}</div></div>'
        for k, v, s in tiles) + "</div>"


def header_section(data: ReportData, generated: dt.datetime) -> str:
    summary = data.summary or {}
    llm = summary.get("llm") if isinstance(summary.get("llm"), Mapping) else {}
    settings = summary.get("settings") if isinstance(summary.get("settings"), Mapping) else {}
    counts = Counter(str(r.get("decision")) for r in data.rows)
    complete = summary.get("complete")
    status = ("complete" if complete else "incomplete") if isinstance(complete, bool) else "status unknown"
    wall = summary.get("wall_seconds")
    per_min = summary.get("claims_per_minute")
    tokens = (llm.get("prompt_tokens") or 0) + (llm.get("completion_tokens") or 0) if llm else None
    tiles = [
        ("claims", f"{len(data.rows):,}", " · ".join(f"{d} {counts.get(d, 0)}" for d in DECISIONS if counts.get(d))),
        ("referred to a human", f"{counts.get(REFER, 0):,}", f"{counts.get(REFER, 0) / max(1, len(data.rows)):.0%} of "
                                                              f"claims"),
        ("failed", f"{counts.get(FAILED, 0):,}", "see Failures"),
        ("wall time", _seconds(float(wall)) if isinstance(wall, (int, float)) else "—",
         f"{per_min:,.1f} claims/min" if isinstance(per_min, (int, float)) else ""),
        ("LLM requests", _int(llm.get("requests")), f"{_int(tokens)} tokens"),
        ("429s · retries", f"{_int(llm.get('rate_limited'))} · {_int(llm.get('retries'))}",
         "rate limited · retried"),
    ]
    model = settings.get("model")
    meta = " · ".join(str(x) for x in (
        f"model {model}" if model else None,
        f"{settings.get('actors')} actors × {settings.get('claims_per_actor')} claims" if settings.get("actors") else
        None, f"dataset {settings.get('input')}" if settings.get("input") else None) if x)
    started = data.origin.strftime("%Y-%m-%d %H:%M:%S UTC") if data.origin else "start unknown"
    return (f'<header><div class="title"><h1>Run <span class="runid">{e(data.run_id)}</span></h1>'
            f'<span class="badge {"ok" if complete else "warn"}">{e(status)}</span></div>'
            f'<p class="meta">Started {e(started)} · {e(meta)} · report generated '
            f'{e(generated.strftime("%Y-%m-%d %H:%M:%S UTC"))}</p>{_tiles(tiles)}</header>')


NAV = (("throughput", "Throughput"), ("latency", "Latency"), ("stages", "Stages"), ("decisions", "Decisions"),
       ("reasons", "Reasons"), ("evaluation", "Evaluation"), ("referred", "Referred"), ("failures", "Failures"),
       ("settings", "Settings"), ("checkpoint", "Checkpoint"))

CSS = """
:root{--ink:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#f6f7f9;--card:#fff;--accent:#1f5fbf}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:20px 24px 60px}
header{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin-bottom:14px}
.title{display:flex;align-items:center;gap:12px}
h1{font-size:22px;margin:0}.runid{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
h2{font-size:17px;margin:0 0 6px}h3{font-size:15px;margin:16px 0 6px}h4{font-size:14px;margin:14px 0 6px}
.meta,.caption{color:var(--muted);margin:4px 0 10px}
.badge{font-size:12px;padding:2px 9px;border-radius:999px;font-weight:600}
.badge.ok{background:#e3f4e5;color:#1b5e20}.badge.warn{background:#fdecea;color:#b71c1c}
nav{position:sticky;top:0;z-index:1;background:rgba(246,247,249,.95);padding:6px 0 8px;margin-bottom:6px;
border-bottom:1px solid var(--line)}
nav a{color:var(--accent);text-decoration:none;margin-right:14px;font-size:13px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin:14px 0;
break-inside:avoid}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin-top:12px}
.tile{border:1px solid var(--line);border-radius:8px;padding:9px 12px;background:#fbfcfd}
.tile .k{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.tile .v{font-size:21px;font-weight:650;margin:2px 0}.tile .s{font-size:12px;color:var(--muted)}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:#f1f3f6;font-weight:600}
tbody tr:nth-child(even) td{background:#fafbfc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td.id{white-space:nowrap}
table.wide{width:100%}table.mono td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;
word-break:break-all}
.two{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.confusion td.hit{background:#e3f4e5!important;font-weight:600}.confusion td.miss{background:#fdecea!important;
color:#b71c1c;font-weight:600}.confusion td.zero{color:#b0b6c0}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;color:#fff;font-size:12px;font-weight:600}
.empty{color:var(--muted);font-style:italic}.more{color:var(--muted);font-size:12px}
.alert{background:#fdecea;color:#b71c1c;padding:8px 12px;border-radius:6px}
.ok{background:#e3f4e5;color:#1b5e20;padding:8px 12px;border-radius:6px}
.eval{border-top:1px solid var(--line);margin-top:10px}
code{background:#f1f3f6;padding:1px 5px;border-radius:4px}
svg.chart{width:100%;height:auto;display:block;margin:6px 0 10px;font-family:inherit}
svg g.legend{stroke:none}svg .grid{stroke:#eceef2}svg .axis{stroke:#9aa1ad}svg .tick{font-size:11px;fill:#5b6475}
svg .axis-label{font-size:12px;fill:#5b6475}svg .legend text{font-size:12px;fill:#333}
svg .series{fill:none;stroke-width:2;stroke-linejoin:round}
svg .s-requests{stroke:#1f5fbf}svg .s-tokens{stroke:#7b3fb0}svg .s-inflight{stroke:#00897b}
svg .s-limit{stroke:#d32f2f;stroke-dasharray:7 4;stroke-width:1.6}
svg .legend.s-requests rect{fill:#1f5fbf}svg .legend.s-tokens rect{fill:#7b3fb0}
svg .legend.s-inflight rect{fill:#00897b}svg .legend.s-limit rect{fill:#d32f2f}
svg .legend.mark-legend rect{fill:#d32f2f;height:8px}svg .legend.band-legend rect{fill:#ffcc80;height:8px}
svg .band{fill:#ffb74d;fill-opacity:.28}svg .mark{fill:#d32f2f}
svg .bar{fill:#5c7cba}svg .bar-label{font-size:12px;fill:#1d2330}svg .bar-note{font-size:12px;fill:#5b6475}
svg .marker{stroke:#1d2330;stroke-dasharray:4 3}svg .marker-label{font-size:12px;font-weight:600;fill:#1d2330}
.d-APPROVE{background:#2e7d32}.d-PARTIAL{background:#7cb342}.d-DENY{background:#c62828}
.d-REFER{background:#ef8f00}.d-FAILED{background:#616161}
svg .d-APPROVE{fill:#2e7d32}svg .d-PARTIAL{fill:#7cb342}svg .d-DENY{fill:#c62828}svg .d-REFER{fill:#ef8f00}
svg .d-FAILED{fill:#616161}
svg .r-deciding{fill:#3f5f9f}svg .r-also{fill:#b8c6e3}
svg .stage-coverage{fill:#5c7cba}svg .stage-assessment{fill:#7b3fb0}svg .stage-other{fill:#9aa1ad}
@media print{nav{display:none}body{background:#fff}section,header{border:none}}
"""


def render_report(data: ReportData, evaluation: RunEvaluation | None = None, *,
                  generated: dt.datetime | None = None) -> str:
    """The whole page. Pure: the same data gives the same bytes."""
    generated = generated or dt.datetime.now(dt.UTC)
    nav = "".join(f'<a href="#{k}">{e(v)}</a>' for k, v in NAV if k != "evaluation" or evaluation is not None)
    notes = "".join(f'<p class="alert">{e(n)}</p>' for n in data.notes)
    body = "".join((
        header_section(data, generated), f"<nav>{nav}</nav>", notes, throughput_section(data),
        latency_section(data), stages_section(data), decisions_section(data), reasons_section(data),
        evaluation_section(evaluation), referred_section(data), failures_section(data), settings_section(data),
        checkpoint_section(data),
    ))
    # The CSP forbids every fetch and every script: the page is data, nothing in it may call out.
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Run {e(data.run_id)}: claim-assess report</title><style>{CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def _dataset_dir(data: ReportData, input_dir: Path | None) -> Path | None:
    if input_dir is not None:
        return input_dir
    settings = (data.summary or {}).get("settings")
    value = settings.get("input") if isinstance(settings, Mapping) else None
    return Path(value) if isinstance(value, str) and Path(value).is_dir() else None


def write_report(workspace: Path, run_id: str, *, input_dir: Path | None = None) -> Path:
    """Write ``<workspace>/runs/<run_id>/report.html`` and return its path. Raises InputError when the run
    has no results; the evaluation is included when the dataset (``input_dir`` or the run's own input)
    holds expected.jsonl or scenarios.jsonl."""
    data = load_report_data(Path(workspace), run_id)
    evaluation = None
    dataset = _dataset_dir(data, input_dir)
    if dataset is not None:
        try:
            evaluation = evaluate_run(data.rows, dataset, run_id)
        except (InputError, OSError) as exc:
            data = dataclasses.replace(data, notes=(*data.notes, f"evaluation skipped: {exc}"))
    target = data.run_dir / REPORT_FILE
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(render_report(data, evaluation), encoding="utf-8")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m drivers.report", description=__doc__.strip().splitlines()[0])
    p.add_argument("run_id", metavar="RUN_ID", help="the run (WORKSPACE/runs/RUN_ID)")
    p.add_argument("--workspace", type=Path, default=Path("workspace"), help="default ./workspace")
    p.add_argument("--input", type=Path, help="dataset with expected.jsonl (default: the run's own input)")
    args = p.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", args.run_id) or args.run_id in {".", ".."}:
        print(f"error: {args.run_id!r} is not a run id", file=sys.stderr)
        return 2
    if args.input is not None and not args.input.is_dir():
        print(f"error: --input {args.input} is not a directory", file=sys.stderr)
        return 2
    try:
        path = write_report(args.workspace, args.run_id, input_dir=args.input)
    except (InputError, OSError) as exc:
        runs = args.workspace / "runs"
        known = sorted(p.name for p in runs.iterdir() if p.is_dir())[-5:] if runs.is_dir() else []
        hint = f" (runs in {runs}: {', '.join(known)})" if known else ""
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
