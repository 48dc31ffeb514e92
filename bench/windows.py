"""The steady window of a run and the rates over it, from the simulator's ``/stats`` ``per_second`` counts.

Why a window at all: a run ramps up (Ray workers importing, the first claims in flight) and tails off (the last
claims); neither is the rate the engine sustains. The active span runs from the first second with an admitted
request to the last second with a success; the steady window trims max(10 %, 5 s) from each end of it, and for
a limit enforced per minute it starts no earlier than the provider's minute bucket ran dry. See bench/README.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
    level = float(limit)
    spent = {p["t"]: p.get(key, 0) for p in per_second}
    for t in range(max(spent) + 1):
        level = min(float(limit), level + rate) - spent.get(t, 0)
        if level < rate:
            return t
    return None


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
