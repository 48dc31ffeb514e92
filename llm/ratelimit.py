"""The shared request and token budget for one (endpoint, model): the pure core of RateLimiterActor.

Why reservations: every caller books its request and tokens the moment it asks and is told how long
to wait (as Go's ``rate.Limiter.Reserve`` does). Callers are served first come, first served, a large
token request cannot be starved by small ones, and the limiter never has to wake anybody up: it hands
out delays, and the caller sleeps on its own side (in an assessor, not in the limiter actor).

Budgets refill continuously at limit/60 per second and hold at most ``burst_s`` seconds of rate, so a
provider that enforces per second ("quantized" limits) rarely sees a burst above its share.
A request reserves its estimated prompt tokens plus ``max_completion_tokens`` (what the provider
charges on arrival); the unused part is refunded when the usage comes back.

A 429 pauses the matching budget for the whole fleet until the hinted time (see ``pause``).
Time is injected (``clock``) so tests advance a fake clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

from llm.limiter import AttemptOutcome, Permit

Clock = Callable[[], float]


class TokenBucket:
    """A continuously refilled budget that may go into debt: debt is time the next caller waits."""

    def __init__(self, rate_per_s: float, burst: float, clock: Clock = time.monotonic):
        if rate_per_s <= 0 or burst <= 0:
            raise ValueError(f"rate and burst must be positive, got {rate_per_s} and {burst}")
        self.rate = rate_per_s
        self.burst = burst
        self._clock = clock
        self._level = burst
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
        start = max(now, self._paused_until)
        debt = -self._level if self._level < 0 else 0.0
        return (start - now) + debt / self.rate

    def refund(self, amount: float) -> None:
        """Give back budget that was reserved but not used (never above the burst)."""
        self._refill()
        self._level = min(self.burst, self._level + amount)

    def pause(self, seconds: float) -> None:
        """Stop refilling and drain the budget until ``seconds`` from now (a 429 says it is spent)."""
        now = self._refill()
        self._paused_until = max(self._paused_until, now + seconds)
        self._level = min(self._level, 0.0)

    @property
    def level(self) -> float:
        self._refill()
        return self._level

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())


@dataclass(frozen=True)
class Reservation:
    permit: Permit
    delay_s: float


@dataclass(frozen=True)
class LimiterStats:
    """A snapshot for the live display and the dashboard."""

    rpm_limit: int | None
    tpm_limit: int | None
    requests_granted: int
    tokens_reserved: int
    tokens_refunded: int
    requests_level: float | None
    tokens_level: float | None
    paused_for_s: float
    rate_limited: int


class RateLimiter:
    """Request and token budgets for one endpoint; ``None`` limits mean unlimited."""

    def __init__(
        self,
        rpm: int | None = None,
        tpm: int | None = None,
        *,
        burst_s: float = 1.0,
        clock: Clock = time.monotonic,
    ):
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 when given, got {value}")
        self.rpm, self.tpm = rpm, tpm
        self._clock = clock
        # At least one request's worth of burst, else a low limit could never admit anything.
        self._requests = TokenBucket(rpm / 60, max(1.0, rpm / 60 * burst_s), clock) if rpm else None
        self._tokens = TokenBucket(tpm / 60, max(1.0, tpm / 60 * burst_s), clock) if tpm else None
        self._ids = itertools.count(1)
        self._outstanding: dict[str, int] = {}
        self._granted = self._reserved = self._refunded = self._rate_limited = 0

    def reserve(self, tokens: int) -> Reservation:
        delay = 0.0
        if self._requests:
            delay = max(delay, self._requests.reserve(1))
        if self._tokens:
            delay = max(delay, self._tokens.reserve(tokens))
        permit = Permit(permit_id=f"p{next(self._ids)}", tokens=tokens)
        self._outstanding[permit.permit_id] = tokens
        self._granted += 1
        self._reserved += tokens
        return Reservation(permit, delay)

    def settle(self, permit: Permit, outcome: AttemptOutcome, retry_hint_s: float | None = None) -> None:
        """Refund unused tokens; on a 429 pause the budget it names for ``retry_hint_s`` (or 1 s)."""
        reserved = self._outstanding.pop(permit.permit_id, permit.tokens)
        if outcome.status == 429:
            self._rate_limited += 1
            pause = retry_hint_s if retry_hint_s is not None else 1.0
            body = (outcome.error_body or "").lower()
            if self._tokens and ("tokens" in body or "tpm" in body):
                self._tokens.pause(pause)
            elif self._requests:
                self._requests.pause(pause)
            return
        if outcome.prompt_tokens is not None and self._tokens:
            used = outcome.prompt_tokens + (outcome.completion_tokens or 0)
            unused = max(0, reserved - used)
            self._tokens.refund(unused)
            self._refunded += unused

    def stats(self) -> LimiterStats:
        return LimiterStats(
            rpm_limit=self.rpm,
            tpm_limit=self.tpm,
            requests_granted=self._granted,
            tokens_reserved=self._reserved,
            tokens_refunded=self._refunded,
            requests_level=self._requests.level if self._requests else None,
            tokens_level=self._tokens.level if self._tokens else None,
            paused_for_s=max(
                self._requests.paused_for() if self._requests else 0.0,
                self._tokens.paused_for() if self._tokens else 0.0,
            ),
            rate_limited=self._rate_limited,
        )


class LocalLimiter:
    """The ``Limiter`` protocol over an in-process RateLimiter (no Ray): waits on the caller's side."""

    def __init__(self, core: RateLimiter, sleep: Callable[[float], object] = asyncio.sleep):
        self._core = core
        self._sleep = sleep

    async def acquire(self, tokens: int) -> Permit:
        reservation = self._core.reserve(tokens)
        if reservation.delay_s > 0:
            await self._sleep(reservation.delay_s)
        return reservation.permit

    async def release(self, permit: Permit, outcome: AttemptOutcome) -> None:
        self._core.settle(permit, outcome)
