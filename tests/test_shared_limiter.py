"""SharedLimiterClient (the assessors' side of the limiter): skips the round trip only while nothing is enforced."""

from __future__ import annotations

import asyncio

from claim_assess.llm.limiter import AttemptOutcome
from claim_assess.llm.ratelimit import RateLimiter
from claim_assess.llm.shared_limiter import UNLIMITED_RECHECK_S, SharedLimiterClient


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class LocalLimiter:
    """Stands in for the actor: the real RateLimiter core behind the two callables an assessor passes."""

    def __init__(self, core: RateLimiter):
        self.core = core
        self.calls: list[str] = []

    async def reserve(self, tokens: int):
        self.calls.append("reserve")
        return self.core.reserve(tokens)

    def settle(self, permit, outcome) -> None:
        self.calls.append("settle")
        self.core.settle(permit, outcome)


def client(handle: "LocalLimiter", clock) -> SharedLimiterClient:
    return SharedLimiterClient(handle.reserve, handle.settle, clock=clock)


def run(coro):
    return asyncio.run(coro)


def test_while_unlimited_the_limiter_is_asked_once_per_recheck_interval():
    clock = FakeClock()
    handle = LocalLimiter(RateLimiter(clock=clock))
    limiter = client(handle, clock)

    async def go():
        for _ in range(5):
            permit = await limiter.acquire(10)
            await limiter.release(permit, AttemptOutcome(200, {}, 5, 5))
        clock.now += UNLIMITED_RECHECK_S
        await limiter.acquire(10)

    run(go())
    assert handle.calls == ["reserve", "settle", "reserve"]


def test_a_429_or_rate_limit_headers_are_always_reported_and_end_the_shortcut():
    clock = FakeClock()
    core = RateLimiter(clock=clock)
    handle = LocalLimiter(core)
    limiter = client(handle, clock)
    headers = {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "599"}

    async def go():
        first = await limiter.acquire(10)
        await limiter.release(first, AttemptOutcome(200, {}, 5, 5))
        second = await limiter.acquire(10)  # within the interval: no ask
        await limiter.release(second, AttemptOutcome(200, headers, 5, 5))
        await limiter.acquire(10)  # the limiter learned a limit: ask again at once

    run(go())
    assert handle.calls == ["reserve", "settle", "settle", "reserve"]
    assert core.stats().rpm_limit == 600


def test_with_limits_every_attempt_asks_the_limiter():
    handle = LocalLimiter(RateLimiter(rpm=6000, clock=FakeClock()))
    limiter = client(handle, FakeClock())

    async def go():
        for _ in range(3):
            await limiter.release(await limiter.acquire(10), AttemptOutcome(200, {}, 5, 5))

    run(go())
    assert handle.calls == ["reserve", "settle"] * 3
