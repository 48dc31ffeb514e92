"""How many claims the fleet keeps in flight: adaptive, driven by the shared limiter's backlog and 429s.

Why claims and not requests: the limiter already paces requests exactly. What it cannot do is stop the
driver from starting more claims than the budget can serve; those would sit half done while their calls
queue. So the driver admits a new claim only while the limiter's backlog (how far ahead its budget is
booked) is short; calls of claims already in progress then go before new claims, and a 429 storm delays
claims instead of leaving many half done.

The rule is TCP-like: grow quickly (x1.5) while nothing pushes back, then additively; shrink by a quarter
on new 429s and by one while the backlog is long. In steady state the backlog stays near ``target_backlog_s``,
which by Little's law keeps about rate x latency requests in flight: enough to run at the limit, no more.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class AdmissionState:
    limit: int
    minimum: int
    maximum: int
    congested: bool


class AdmissionController:
    def __init__(
        self,
        *,
        minimum: int,
        maximum: int,
        initial: int | None = None,
        target_backlog_s: float = 1.0,
        cut_cooldown_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not 1 <= minimum <= maximum:
            raise ValueError(f"need 1 <= minimum <= maximum, got {minimum} and {maximum}")
        self.minimum, self.maximum = minimum, maximum
        self.limit = min(maximum, max(minimum, initial if initial is not None else minimum))
        self._target = target_backlog_s
        self._cooldown = cut_cooldown_s
        self._clock = clock
        self._seen_429 = 0
        self._last_cut = -math.inf
        self._congested = False  # once pushed back, grow additively only

    def observe(self, *, backlog_s: float, rate_limited_total: int, inflight: int) -> int:
        """Update the limit from the limiter's state; returns the new limit."""
        now = self._clock()
        new_429 = rate_limited_total > self._seen_429
        self._seen_429 = max(self._seen_429, rate_limited_total)
        if new_429:
            self._congested = True
            if now - self._last_cut >= self._cooldown:
                self._last_cut = now
                self.limit = max(self.minimum, math.floor(self.limit * 0.75))
        elif backlog_s > 2 * self._target:
            self._congested = True
            self.limit = max(self.minimum, self.limit - 1)
        elif backlog_s < self._target / 2 and inflight >= self.limit - 1:
            grown = math.ceil(self.limit * 1.5) if not self._congested else self.limit + 1
            self.limit = min(self.maximum, grown)
        return self.limit

    def state(self) -> AdmissionState:
        return AdmissionState(self.limit, self.minimum, self.maximum, self._congested)
