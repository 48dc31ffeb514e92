"""Per-minute rates for the throughput charts, measured the way a provider's per-minute limit counts."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence


SECOND_US = 1_000_000


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


def binned_rate_series(times_us: Sequence[int], weights: Sequence[float] | None, *, start_us: int, end: float,
                       window: float) -> list[tuple[float, float]]:
    """``rate_series`` of events at ``times_us`` (integer microseconds since the epoch, in any order; weight 1
    each when ``weights`` is None) on the clock that starts at ``start_us``, from a count per second: the same
    points without a sorted list of every event (a run of a million claims has a few million attempts).
    ``window`` is whole seconds (``rate_window``'s are)."""
    if window != int(window):
        raise ValueError(f"the window is whole seconds, got {window}")
    width = int(window)
    per_second: Counter[int] = Counter()  # k -> the amount in (k - 1, k] seconds since the start
    for i, at in enumerate(times_us):
        per_second[-((start_us - at) // SECOND_US)] += 1.0 if weights is None else weights[i]  # ceil, exactly
    points, amount = [], sum(per_second[k] for k in range(-width, 0))  # the window (-width - 1, -1]
    for t in range(0, int(end) + 1):
        amount += per_second[t] - per_second[t - width]  # the window (t - width, t] slides on by a second
        points.append((float(t), amount / window * 60))
    if end > int(end):  # the last instant is not a whole second: its window is summed event by event
        since = start_us + round((end - window) * SECOND_US)
        last = sum(1.0 if weights is None else weights[i] for i, at in enumerate(times_us) if at > since)
        points.append((float(end), last / window * 60))
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
