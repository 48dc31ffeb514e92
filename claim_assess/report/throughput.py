"""The throughput section: requests and tokens per minute against the rate limits, and claims in flight.

The rates come from the LLM call log when it has the run's attempts (each attempt at the time it finished),
else from the run's timeline (cumulative counters sampled each second). The limit drawn is the one in force
(the timeline's: learned limits change) or the configured one.
"""

from __future__ import annotations

import datetime as dt

from claim_assess.ledger.filestore import CALLS_FILE
from claim_assess.report.charts import Band, Series, line_chart
from claim_assess.report.data import ReportData
from claim_assess.report.figures import epoch_us
from claim_assess.report.markup import e, plural
from claim_assess.report.rates import binned_rate_series, cumulative_rate, rate_window
from claim_assess.run.workspace import LEDGER_DIR


def duration_s(data: ReportData) -> float:
    """The run's length as far as anything recorded reaches (at least 1 s, so scales never divide by 0)."""
    ends = [t["t"] for t in data.timeline]
    if data.origin is not None:
        ends += [(finished - data.origin).total_seconds()
                 for finished in (data.claims.last_finished, data.calls.last_finished) if finished is not None]
    if data.summary is not None:
        ends.append(data.summary.wall_seconds)
    return max(ends, default=1.0) or 1.0


def _limit_series(data: ReportData, key: str, configured: int | None, end: float) -> list[tuple[float, float]]:
    """The limit over time: the timeline's (learned limits change) or the configured one, else none."""
    points = [(float(t["t"]), float(t[key])) for t in data.timeline if isinstance(t.get(key), (int, float))]
    if points:
        return points + [(end, points[-1][1])]
    if configured is not None:
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


Points = list[tuple[float, float]]
Marks = list[tuple[float, str]]


def _rates_from_calls(data: ReportData, origin: dt.datetime, end: float,
                      window: float) -> tuple[Points, Points, Marks, str]:
    calls, zero = data.calls, epoch_us(origin)
    requests = binned_rate_series(calls.finished_us, None, start_us=zero, end=end, window=window)
    tokens = binned_rate_series(calls.finished_us, calls.tokens, start_us=zero, end=end, window=window)
    marks = [((finished - zero) / 1e6, f"429 at {(finished - zero) / 1e6:.1f} s ({purpose}, claim {claim_id})")
             for finished, purpose, claim_id in calls.rate_limited]
    return requests, tokens, marks, f"from {LEDGER_DIR}/{CALLS_FILE} (each HTTP attempt, by the time it finished)"


def _rates_from_timeline(data: ReportData, window: float) -> tuple[Points, Points, Marks, str]:
    requests = cumulative_rate([(float(t["t"]), float(t.get("requests") or 0)) for t in data.timeline], window=window)
    tokens = cumulative_rate([(float(t["t"]), float(t.get("tokens") or 0)) for t in data.timeline], window=window)
    marks = []
    previous = 0
    for t in data.timeline:
        limited = t.get("rate_limited") or 0
        if isinstance(limited, (int, float)) and limited > previous:
            marks.append((float(t["t"]), f"{limited - previous} × 429 by {float(t['t']):.0f} s"))
            previous = limited
    source = f"from the run's {data.paths.timeline.name} (cumulative counters sampled each second)"
    return requests, tokens, marks, source


def _inflight_chart(data: ReportData, bands: list[Band], end: float) -> str:
    inflight = [(float(t["t"]), float(t["inflight_claims"])) for t in data.timeline
                if isinstance(t.get("inflight_claims"), (int, float))]
    if not inflight:
        return ""
    admitted = [(float(t["t"]), float(t["claim_limit"])) for t in data.timeline
                if isinstance(t.get("claim_limit"), (int, float))]
    series = [Series("claims in flight", inflight, "s-inflight")]
    if admitted:
        series.append(Series("admission limit", admitted, "s-limit", step=True))
    return line_chart("chart-inflight", "Claims in flight", series, x_label="seconds since start",
                      y_label="claims", bands=bands, x_max=end, height=200,
                      desc="Claims being assessed at once, against the admission limit")


def throughput_section(data: ReportData) -> str:
    end = duration_s(data)
    window = rate_window(end)
    if data.calls.attempts and data.origin is not None:
        requests, tokens, marks, source = _rates_from_calls(data, data.origin, end, window)
    elif data.timeline:
        requests, tokens, marks, source = _rates_from_timeline(data, window)
    else:
        requests, tokens, marks, source = [], [], [], "no LLM attempts recorded for this run"
    settings = data.summary.settings if data.summary is not None else None
    bands = _pauses(data)
    rpm = _limit_series(data, "rpm_limit", settings.rpm if settings else None, end)
    tpm = _limit_series(data, "tpm_limit", settings.tpm if settings else None, end)
    req_series = [Series("requests/min", requests, "s-requests")]
    tok_series = [Series("tokens/min", tokens, "s-tokens")]
    if rpm:
        req_series.append(Series("requests/min limit", rpm, "s-limit", step=True))
    if tpm:
        tok_series.append(Series("tokens/min limit", tpm, "s-limit", step=True))
    caption = (f"Per-minute rates over a trailing {window:g}-second window, {source}. "
               + ("Dashed red: the limit in force. " if rpm or tpm else "No rate limit was set for this run. ")
               + (f"{plural(len(marks), 'rate-limited answer')} (429) marked under the axis. " if marks
                  else "No 429s. ")
               + ("Shaded: the limiter paused all requests. " if bands else ""))
    charts = [
        line_chart("chart-throughput", "Requests per minute against the limit", req_series,
                   x_label="seconds since start", y_label="requests / min", marks=marks, bands=bands, x_max=end,
                   desc="LLM requests per minute over the run, with the requests-per-minute limit and 429 answers"),
        line_chart("chart-tokens", "Tokens per minute against the limit", tok_series, x_label="seconds since start",
                   y_label="tokens / min", marks=marks, bands=bands, x_max=end,
                   desc="LLM tokens per minute over the run, with the tokens-per-minute limit"),
        _inflight_chart(data, bands, end),
    ]
    return (f'<section id="throughput"><h2>Throughput against the rate limits</h2>'
            f'<p class="caption">{e(caption)}</p>{"".join(charts)}</section>')
