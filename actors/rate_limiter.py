"""RateLimiterActor: the single authority on request and token budget for one (endpoint, model).

A thin shell over ``claim_assess.llm.ratelimit.RateLimiter``. It never sleeps: ``reserve`` books budget and
returns how long the caller must wait, and the assessors' ``SharedLimiterClient`` does the waiting, so one
limiter serves a large fleet with one cheap call per HTTP attempt. ``shared_limiter_client`` builds that client
over this actor's handle, riding out a limiter restart.
"""

from __future__ import annotations

from collections.abc import Callable

from ray.exceptions import RayActorError

from claim_assess.actors.metrics import RunMetrics
from claim_assess.actors.restarts import through_restart
from claim_assess.errors import LLMCallError
from claim_assess.llm.limiter import AttemptOutcome, Permit
from claim_assess.llm.ratelimit import LimiterStats, RateLimiter, Reservation
from claim_assess.llm.shared_limiter import SharedLimiterClient

RESTART_WAIT_S = 60.0


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


def shared_limiter_client(handle, on_inflight: Callable[[int], None]) -> SharedLimiterClient:
    async def reserve(tokens: int) -> Reservation:
        # A limiter restart costs a moment of pacing, never a claim.
        try:
            return await through_restart(lambda: handle.reserve.remote(tokens), wait_s=RESTART_WAIT_S)
        except RayActorError as exc:
            raise LLMCallError(f"the rate limiter did not come back within {RESTART_WAIT_S:.0f}s: {exc}") from exc

    def settle(permit: Permit, outcome: AttemptOutcome) -> None:
        handle.settle.remote(permit, outcome)  # fire and forget: Ray keeps per-caller order

    return SharedLimiterClient(reserve, settle, on_inflight=on_inflight)
