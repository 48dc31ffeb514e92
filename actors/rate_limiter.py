"""RateLimiterActor: the single authority on request and token budget for one (endpoint, model).

A thin shell over ``llm.ratelimit.RateLimiter``. The actor never sleeps: ``reserve`` books budget and
returns how long the caller must wait, and ``RemoteLimiter`` (the assessors' side of the seam) does the
waiting, so one limiter serves a large fleet with a single cheap call per HTTP attempt.
"""

from __future__ import annotations

import asyncio

from llm.limiter import AttemptOutcome, Permit
from llm.ratelimit import LimiterStats, RateLimiter, Reservation


class RateLimiterActor:
    def __init__(self, rpm: int | None, tpm: int | None, burst_s: float = 1.0):
        self._core = RateLimiter(rpm, tpm, burst_s=burst_s)

    def reserve(self, tokens: int) -> Reservation:
        return self._core.reserve(tokens)

    def settle(self, permit: Permit, outcome: AttemptOutcome) -> None:
        self._core.settle(permit, outcome)

    def stats(self) -> LimiterStats:
        return self._core.stats()


class RemoteLimiter:
    """The ``llm.limiter.Limiter`` protocol over a RateLimiterActor handle (used inside assessors)."""

    def __init__(self, handle):
        self._handle = handle

    async def acquire(self, tokens: int) -> Permit:
        reservation: Reservation = await self._handle.reserve.remote(tokens)
        if reservation.delay_s > 0:
            await asyncio.sleep(reservation.delay_s)
        return reservation.permit

    async def release(self, permit: Permit, outcome: AttemptOutcome) -> None:
        # Fire and forget: the refund need not delay the claim; Ray keeps per-caller order.
        self._handle.settle.remote(permit, outcome)
