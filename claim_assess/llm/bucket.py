"""A continuously refilled budget that may go into debt: the building block of the shared limiter.

Why debt: a caller books what it needs the moment it asks and is told how long to wait (as Go's
``rate.Limiter.Reserve`` does), so callers are served first come, first served and the limiter never has to wake
anybody up. A negative level is time already promised to callers who are waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: float, clock: Clock = time.monotonic, level: float | None = None):
        _check(rate_per_s, burst)
        self.rate = rate_per_s
        self.burst = burst
        self._clock = clock
        self._level = burst if level is None else min(burst, level)
        self._stamp = clock()
        self._paused_until = 0.0

    def _refill(self) -> float:
        now = self._clock()
        # While paused nothing refills: the provider told us this budget is spent until then.
        since = max(self._stamp, self._paused_until)
        if now > since:
            self._level = min(self.burst, self._level + (now - since) * self.rate)
        self._stamp = max(now, self._stamp)
        return now

    def reserve(self, amount: float) -> float:
        """Book ``amount`` now; return the seconds the caller must wait before using it."""
        now = self._refill()
        self._level -= amount
        return self._wait(now)

    def _wait(self, now: float) -> float:
        start = max(now, self._paused_until)
        debt = -self._level if self._level < 0 else 0.0
        return (start - now) + debt / self.rate

    def refund(self, amount: float) -> None:
        """Give back budget that was reserved but not used (never above the burst)."""
        self._refill()
        self._level = min(self.burst, self._level + amount)

    def cap(self, remaining: float) -> None:
        """The provider says only ``remaining`` is left: never believe we have more than that."""
        self._refill()
        self._level = min(self._level, remaining)

    def raise_to(self, remaining: float) -> None:
        """The provider says it has ``remaining`` left: believe up to that (never above the burst)."""
        self._refill()
        self._level = max(self._level, min(self.burst, remaining))

    def retune(self, rate_per_s: float, burst: float) -> None:
        """A new rate or burst from now on; budget already earned stays (up to the new burst)."""
        _check(rate_per_s, burst)
        self._refill()
        self.rate, self.burst = rate_per_s, burst
        self._level = min(self._level, burst)

    def pause(self, seconds: float) -> None:
        """Stop refilling and drain the budget until ``seconds`` from now (a 429 says it is spent)."""
        now = self._refill()
        self._paused_until = max(self._paused_until, now + seconds)
        self._level = min(self._level, 0.0)

    @property
    def level(self) -> float:
        self._refill()
        return self._level

    def backlog_s(self) -> float:
        """How far into the future this budget is already booked (0 when callers need not wait)."""
        return self._wait(self._refill())

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())


def _check(rate_per_s: float, burst: float) -> None:
    if rate_per_s <= 0 or burst <= 0:
        raise ValueError(f"rate and burst must be positive, got {rate_per_s} and {burst}")
