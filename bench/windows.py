"""The steady window of a run and the rates over it, from the simulator's ``/stats`` ``per_second`` counts.

Why a window at all: a run ramps up (Ray workers importing, the first claims in flight) and tails off (the last
claims); neither is the rate the engine sustains. The active span runs from the first second with an admitted
request to the last second with a success; the steady window trims max(10 %, 5 s) from each end of it, and for
a limit enforced per minute it starts no earlier than the provider's minute bucket ran dry. See bench/README.md.

The limit scenarios add figures that need no window: the span to the millisecond (``span_s``), how long a
perfect client would take to spend a full request bucket and then the rate (``ideal_s``), the tokens a
bucket lets through over a span (``tokens_admissible``), the busiest minute against the provider's own
allowance (``rolling_minute``), and for a gateway's fixed minute whole windows only (``whole_windows``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PerSecond = Sequence[Mapping[str, int]]  # the simulator's /stats "per_second" records: {"t": second, counts...}


@dataclass(frozen=True)
class Window:
    """Seconds since the simulator started, both ends included."""

    start: int
    end: int
    steady: bool  # False: the run was too short to trim, the whole active span is used

    @property
    def seconds(self) -> int:
        return max(0, self.end - self.start + 1)


def active_span(per_second: PerSecond) -> tuple[int, int] | None:
    """From the first second anything was admitted or answered to the last second with a success."""
    busy = [p["t"] for p in per_second if p.get("admitted", 0) or p.get("successes", 0)]
    done = [p["t"] for p in per_second if p.get("successes", 0)]
    if not busy or not done:
        return None
    return min(busy), max(done)


def steady_window(per_second: PerSecond, *, trim_fraction: float = 0.10, min_trim_s: int = 5,
                  min_window_s: int = 3, warmup_s: int = 0, not_before: int | None = None) -> Window | None:
    """The active span less max(trim_fraction of it, min_trim_s) at each end: ramp-up and tail excluded.

    ``warmup_s`` (from the first active second) and ``not_before`` (an absolute second) move the start
    further: a limit enforced per minute starts with a full minute's bucket, so until it has run dry
    a client may lawfully run above the rate; that is not steady state.
    """
    span = active_span(per_second)
    if span is None:
        return None
    first, last = span
    length = last - first + 1
    trim = max(min_trim_s, math.ceil(trim_fraction * length))
    head = max(trim, warmup_s, (not_before - first) if not_before is not None else 0)
    if length - head - trim >= min_window_s:
        return Window(first + head, last - trim, steady=True)
    return Window(first, last, steady=False)


def bucket_drained_at(per_second: PerSecond, *, limit: int, key: str) -> int | None:
    """The first second the provider's per-minute bucket ran dry (under one second of refill left).

    Replays the simulator's bucket (capacity = the per-minute limit, full at start, refilled at
    limit/60 per second) against what it admitted each second (``key``: "admitted" for requests,
    "charged_tokens" for tokens). Until then a client can lawfully run above the rate, on the
    minute's allowance; from then on the rate is the only ceiling. None: it never ran dry.
    """
    if not per_second or limit <= 0:
        return None
    rate = limit / 60.0
    for t, _, level in _replay(per_second, capacity=float(limit), rate=rate, key=key):
        if level < rate:
            return t
    return None


def _replay(per_second: PerSecond, *, capacity: float, rate: float, key: str) -> Iterator[tuple[int, float, float]]:
    """(second, level at its start, level at its end) of a bucket that starts full at second 0.

    One second's refill comes before that second's spending: to the second, that is all the series can tell.
    """
    level = capacity
    spent = {p["t"]: p.get(key, 0) for p in per_second}
    for t in range(max(spent, default=-1) + 1):
        start = level
        level = min(capacity, level + rate) - spent.get(t, 0)
        yield t, start, level


def window_rates(per_second: PerSecond, window: Window) -> dict[str, float]:
    """Per-minute rates over ``window``; seconds missing from the series count as idle."""
    sums = {"successes": 0, "tokens": 0, "admitted": 0, "charged_tokens": 0}
    for p in per_second:
        if window.start <= p["t"] <= window.end:
            for key in sums:
                sums[key] += p.get(key, 0)
    seconds = window.seconds
    per_min = 60.0 / seconds if seconds else 0.0
    return {
        "successes_per_min": sums["successes"] * per_min,
        "successes_per_s": sums["successes"] / seconds if seconds else 0.0,
        "tokens_per_min": sums["tokens"] * per_min,
        "admitted_per_min": sums["admitted"] * per_min,
        "charged_tokens_per_min": sums["charged_tokens"] * per_min,
    }


def utilization(rates: Mapping[str, float], *, rpm: int | None, tpm: int | None, binding: str | None) -> float | None:
    """Share of the binding limit used: successful requests for RPM, charged tokens for TPM."""
    if binding == "requests" and rpm:
        return rates["successes_per_min"] / rpm
    if binding == "tokens" and tpm:
        return rates["charged_tokens_per_min"] / tpm
    return None


# --- the limit scenarios -----------------------------------------------------------------------------------


def span_s(stats: Mapping[str, Any]) -> float | None:
    """First admission to last success, in seconds, from the simulator's own float clock (None: nothing done)."""
    first, last = stats.get("first_admitted_s"), stats.get("last_success_s")
    return None if first is None or last is None else max(0.0, last - first)


def ideal_s(admitted: int, *, per_minute: int, latency_s: float) -> float:
    """The span of a perfect client against a request bucket that starts full (capacity = ``per_minute``).

    It sends the bucket's whole capacity at once, then one request per refill (per_minute/60 per second);
    the last answer comes one median latency after the last admission.
    """
    return max(0, admitted - per_minute) / (per_minute / 60.0) + latency_s


def tokens_admissible(tpm: int, span: float) -> float:
    """What a token bucket that starts full lets through over ``span`` seconds: its capacity plus the refill."""
    return tpm + tpm / 60.0 * span


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator


@dataclass(frozen=True)
class RollingMinute:
    """The busiest 60 consecutive seconds of admissions, next to what the provider's accounting allowed in them."""

    start: int  # its first second
    admitted: int  # requests or charged tokens admitted in [start, start + 59]
    allowance: float  # an upper bound on what the provider could admit in those seconds

    @property
    def within(self) -> bool:
        return self.admitted <= self.allowance


def max_rolling(per_second: PerSecond, *, key: str, width_s: int = 60) -> tuple[int, int] | None:
    """(first second, sum) of the ``width_s`` consecutive seconds with the largest sum of ``key``."""
    counts = {p["t"]: p.get(key, 0) for p in per_second if p.get(key, 0)}
    if not counts:
        return None
    best: tuple[int, int] | None = None
    total = 0
    for t in range(min(counts), max(counts) + 1):  # a window starting earlier holds nothing more
        total += counts.get(t, 0)
        total -= counts.get(t - width_s, 0)
        start = max(min(counts), t - width_s + 1)
        if best is None or total > best[1]:
            best = (start, total)
    return best


def rolling_minute(per_second: PerSecond, *, limit: int, key: str, quantize: str) -> RollingMinute | None:
    """The busiest minute of ``key`` ("admitted" or "charged_tokens") against the provider's limit ``limit``.

    The allowance follows the simulator's accounting: a bucket ("none": capacity = the limit; "aligned": one
    second's worth) allows its level at the minute's start plus 60 s of refill; a sliding second allows
    ceil(limit/60) in each of the 60 seconds.
    """
    busiest = max_rolling(per_second, key=key)
    if busiest is None or limit <= 0:
        return None
    start, admitted = busiest
    rate = limit / 60.0
    if quantize == "sliding":
        return RollingMinute(start, admitted, 60.0 * math.ceil(rate))
    capacity = float(limit) if quantize == "none" else max(rate, 1.0)
    level = next((lv for t, lv, _ in _replay(per_second, capacity=capacity, rate=rate, key=key) if t == start),
                 capacity)
    return RollingMinute(start, admitted, level + 60.0 * rate)


def whole_windows(per_second: PerSecond, *, window_s: int = 60, origin: int = 0, trim_fraction: float = 0.10,
                  min_trim_s: int = 5, first_refused: int | None = None) -> Window | None:
    """The steady window for a limit counted per fixed window (a gateway's minute, counted from ``origin``).

    A fixed window resets its count at each boundary, so only whole windows measure it fairly: a window cut
    mid-way can hold a whole window's burst in a fraction of the time. It runs from the second window
    that saw traffic (the first is the ramp-up, and partial) through the last one that ends before the tail
    trim (max(trim_fraction, min_trim_s), as ``steady_window``). Too short for one: the whole span, not steady.

    ``first_refused`` (the second of the gateway's first 429) moves the start later: until that 429 a client
    cannot know the limit, and in the window after it no client can know when the gateway's window resets (its
    alignment is in no header), so steady state starts with the second whole window after the first refusal,
    as it starts after the provider's minute bucket ran dry for a per-minute limit.
    """
    span = active_span(per_second)
    if span is None:
        return None
    first, last = span
    trim = max(min_trim_s, math.ceil(trim_fraction * (last - first + 1)))
    start = origin + ((first - origin) // window_s + 1) * window_s
    if first_refused is not None:
        start = max(start, origin + ((first_refused - origin) // window_s + 2) * window_s)
    count = (last - trim - start + 1) // window_s
    if count >= 1:
        return Window(start, start + count * window_s - 1, steady=True)
    return Window(first, last, steady=False)
