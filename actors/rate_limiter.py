"""RateLimiterActor: the single authority on request and token budget for one (endpoint, model).

A thin shell over ``llm.ratelimit.RateLimiter``. The actor never sleeps: ``reserve`` books budget and
returns how long the caller must wait, and ``RemoteLimiter`` (the assessors' side of the seam) does the
waiting, so one limiter serves a large fleet with a single cheap call per HTTP attempt.
"""

from __future__ import annotations

import asyncio
import time

from ray.exceptions import RayActorError

from claim_assess.actors.metrics import RunMetrics
from claim_assess.actors.restarts import through_restart
from claim_assess.errors import LLMCallError
from claim_assess.llm.limiter import AttemptOutcome, Permit
from claim_assess.llm.ratelimit import LimiterStats, RateLimiter, Reservation


RESTART_WAIT_S = 60.0
UNLIMITED_RECHECK_S = 0.5
LOCAL_PERMIT = "local"


class RateLimiterActor:
    def __init__(self, rpm: int | None, tpm: int | None, run_id: str = "", burst_s: float = 1.0):
        self._core = RateLimiter(rpm, tpm, burst_s=burst_s)
        self._metrics = RunMetrics(run_id) if run_id else None

    def reserve(self, tokens: int) -> Reservation:
        return self._core.reserve(tokens)

    def settle(self, permit: Permit, outcome: AttemptOutcome) -> None:
        self._core.settle(permit, outcome)

    def stats(self) -> LimiterStats:
        stats = self._core.stats()
        if self._metrics is not None:  # the driver asks a few times a second: the gauges stay current
            self._metrics.limiter(stats)
        return stats


class RemoteLimiter:
    """The ``llm.limiter.Limiter`` protocol over a RateLimiterActor handle (used inside assessors).

    While the limiter has no limit to enforce (none given, none learned yet, no 429 pause), asking it
    before every attempt would cost two actor round trips per request for nothing. So an assessor skips
    the ask for up to ``UNLIMITED_RECHECK_S`` after an "unlimited" answer, and reports back only what the
    limiter can learn from: a 429, or rate-limit headers (which teach it the limits). A limit learned or a
    429 seen by any assessor therefore reaches every assessor within that recheck interval.
    """

    def __init__(self, handle, on_inflight=lambda count: None, clock=time.monotonic):
        self._handle = handle
        self._inflight = 0
        self._on_inflight = on_inflight
        self._clock = clock
        self._unlimited_until = 0.0

    async def acquire(self, tokens: int) -> Permit:
        if self._clock() < self._unlimited_until:
            permit = Permit(permit_id=LOCAL_PERMIT, tokens=tokens)
        else:
            reservation = await self._reserve(tokens)
            if reservation.unlimited:
                self._unlimited_until = self._clock() + UNLIMITED_RECHECK_S
            if reservation.delay_s > 0:
                await asyncio.sleep(reservation.delay_s)
            permit = reservation.permit
        self._inflight += 1
        self._on_inflight(self._inflight)
        return permit

    async def _reserve(self, tokens: int) -> Reservation:
        """Ride out a limiter restart: it costs a moment of pacing, never a claim."""
        try:
            return await through_restart(lambda: self._handle.reserve.remote(tokens), wait_s=RESTART_WAIT_S)
        except RayActorError as exc:
            raise LLMCallError(f"the rate limiter did not come back within {RESTART_WAIT_S:.0f}s: {exc}") from exc

    async def release(self, permit: Permit, outcome: AttemptOutcome) -> None:
        self._inflight -= 1
        self._on_inflight(self._inflight)
        if permit.permit_id == LOCAL_PERMIT and not _teaches(outcome):
            return
        if _teaches(outcome):
            self._unlimited_until = 0.0  # ask again next time: the answer may have changed
        # Fire and forget: the refund need not delay the claim; Ray keeps per-caller order.
        self._handle.settle.remote(permit, outcome)


def _teaches(outcome: AttemptOutcome) -> bool:
    return outcome.status == 429 or any(name.startswith("x-ratelimit-") for name in outcome.headers)
