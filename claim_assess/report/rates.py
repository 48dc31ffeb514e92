"""Per-minute rates for the throughput charts, measured the way a provider's per-minute limit counts."""

from __future__ import annotations

import bisect
from collections.abc import Sequence


def rate_window(duration_s: float) -> float:
    """Seconds of the trailing window a per-minute rate is measured over: long enough to smooth one
    second's burst, short enough that a short run still shows a shape (a minute for runs of 20+ minutes)."""
    return float(min(60, max(5, round(duration_s / 20))))


def rate_series(times: Sequence[float], weights: Sequence[float], *, end: float,
                window: float) -> list[tuple[float, float]]:
    """Per-minute rate of events at ``times`` (seconds, sorted) with ``weights``, once a second from 0 to
    ``end``: the amount in the trailing ``window`` seconds (nothing happened before the start), scaled to a
    minute. Like a provider's per-minute limit, a burst counts against the whole window."""
    prefix = [0.0]
    for weight in weights:
        prefix.append(prefix[-1] + weight)
    instants = [float(s) for s in range(0, int(end) + 1)]
    if end > instants[-1]:
        instants.append(float(end))
    points = []
    for t in instants:
        amount = prefix[bisect.bisect_right(times, t)] - prefix[bisect.bisect_right(times, t - window)]
        points.append((t, amount / window * 60))
    return points


def cumulative_rate(samples: Sequence[tuple[float, float]], *, window: float) -> list[tuple[float, float]]:
    """Per-minute rate from (t, cumulative count) samples over the trailing ``window`` (the count before
    the first sample is 0), as ``rate_series`` measures it."""
    times = [t for t, _ in samples]
    points = []
    for t, count in samples:
        i = bisect.bisect_right(times, t - window) - 1
        before = samples[i][1] if i >= 0 else 0.0
        points.append((t, max(0.0, count - before) / window * 60))
    return points
