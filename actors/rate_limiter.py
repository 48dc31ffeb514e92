"""RateLimiterActor: the single authority on request and token budget for one (endpoint, model).

A thin shell over ``llm.ratelimit.RateLimiter``. The actor never sleeps: ``reserve`` books budget and
returns how long the caller must wait, and ``RemoteLimiter`` (the assessors' side of the seam) does the
waiting, so one limiter serves a large fleet with a single cheap call per HTTP attempt.
"""

from __future__ import annotations

import asyncio
import time

from ray.exceptions import RayActorError

from claim_assess.errors import LLMCallError
from llm.limiter import AttemptOutcome, Permit
from llm.ratelimit import LimiterStats, RateLimiter, Reservation


RESTART_WAIT_S = 60.0


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
        reservation = await self._reserve(tokens)
        if reservation.delay_s > 0:
            await asyncio.sleep(reservation.delay_s)
        return reservation.permit

    async def _reserve(self, tokens: int) -> Reservation:
        """Ride out a limiter restart: it costs a moment of pacing, never a claim."""
        deadline = time.monotonic() + RESTART_WAIT_S
        delay = 0.1
        while True:
            try:
                return await self._handle.reserve.remote(tokens)
            except RayActorError as exc:
                if time.monotonic() + delay > deadline:
                    raise LLMCallError(f"the rate limiter did not come back within {RESTART_WAIT_S:.0f}s: {exc}") from exc
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)

    async def release(self, permit: Permit, outcome: AttemptOutcome) -> None:
        # Fire and forget: the refund need not delay the claim; Ray keeps per-caller order.
        self._handle.settle.remote(permit, outcome)
