"""RateLimiterActor: the single authority on request and token budget for one (endpoint, model).

A thin shell over ``claim_assess.llm.ratelimit.RateLimiter``. It never sleeps: ``reserve`` books budget and
returns how long the caller must wait, and the assessors' ``SharedLimiterClient`` does the waiting, so one
limiter serves a large fleet with one cheap call per HTTP attempt. ``shared_limiter_client`` builds that client
over this actor's handle, riding out a limiter restart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ray.exceptions import RayActorError

from claim_assess.actors.metrics import RunMetrics
from claim_assess.actors.restarts import through_restart
from claim_assess.errors import LLMCallError
from claim_assess.llm.limiter import AttemptOutcome, Permit
from claim_assess.llm.budget import START_BURST_S
from claim_assess.llm.ratelimit import Enforcement, LimiterStats, RateLimiter, Reservation
from claim_assess.llm.shared_limiter import SharedLimiterClient

RESTART_WAIT_S = 60.0


class RateLimiterActor:
    def __init__(self, rpm: int | None, tpm: int | None, run_id: str = "", burst_s: float = START_BURST_S,
                 learned: Sequence[Mapping] = ()):
        self._core = RateLimiter(rpm, tpm, burst_s=burst_s, learned=[Enforcement.from_json(e) for e in learned])
        self._metrics = RunMetrics(run_id) if run_id else None

    def reserve(self, tokens: int) -> Reservation:
        return self._core.reserve(tokens)

    def recheck(self, permit: Permit) -> Reservation:
        return self._core.recheck(permit)

    def settle(self, permit: Permit, outcome: AttemptOutcome) -> None:
        self._core.settle(permit, outcome)

    def enforcement(self) -> list[dict]:
        """What the limiter has learned of how the provider enforces (the driver keeps it for a resume)."""
        return [e.to_json() for e in self._core.enforcement()]

    def stats(self) -> LimiterStats:
        stats = self._core.stats()
        if self._metrics is not None:  # the driver asks a few times a second: the gauges stay current
            self._metrics.limiter(stats)
        return stats


def shared_limiter_client(handle, on_inflight: Callable[[int], None]) -> SharedLimiterClient:
    async def ask(call) -> Reservation:
        # A limiter restart costs a moment of pacing, never a claim.
        try:
            return await through_restart(call, wait_s=RESTART_WAIT_S)
        except RayActorError as exc:
            raise LLMCallError(f"the rate limiter did not come back within {RESTART_WAIT_S:.0f}s: {exc}") from exc

    async def reserve(tokens: int) -> Reservation:
        return await ask(lambda: handle.reserve.remote(tokens))

    async def recheck(permit: Permit) -> Reservation:
        return await ask(lambda: handle.recheck.remote(permit))

    def settle(permit: Permit, outcome: AttemptOutcome) -> None:
        handle.settle.remote(permit, outcome)  # fire and forget: Ray keeps per-caller order

    return SharedLimiterClient(reserve, settle, recheck=recheck, on_inflight=on_inflight)
