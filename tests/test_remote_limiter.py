"""RemoteLimiter (the assessors' side of the limiter): skips the round trip only while nothing is enforced."""

from __future__ import annotations

import asyncio

from claim_assess.actors.rate_limiter import UNLIMITED_RECHECK_S, RemoteLimiter
from claim_assess.llm.limiter import AttemptOutcome
from claim_assess.llm.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Method:
    def __init__(self, fn, calls):
        self._fn, self._calls = fn, calls

    def remote(self, *args):
        self._calls.append(self._fn.__name__)
        future = asyncio.get_running_loop().create_future()
        future.set_result(self._fn(*args))
        return future


class LocalHandle:
    """Stands in for the actor handle: the real RateLimiter core behind `.method.remote(...)`."""

    def __init__(self, core: RateLimiter):
        self.calls: list[str] = []
        self.reserve = _Method(core.reserve, self.calls)
        self.settle = _Method(core.settle, self.calls)


def run(coro):
    return asyncio.run(coro)


def test_while_unlimited_the_limiter_is_asked_once_per_recheck_interval():
    clock = FakeClock()
    handle = LocalHandle(RateLimiter(clock=clock))
    limiter = RemoteLimiter(handle, clock=clock)

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
    handle = LocalHandle(core)
    limiter = RemoteLimiter(handle, clock=clock)
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
    handle = LocalHandle(RateLimiter(rpm=6000, clock=FakeClock()))
    limiter = RemoteLimiter(handle, clock=FakeClock())

    async def go():
        for _ in range(3):
            await limiter.release(await limiter.acquire(10), AttemptOutcome(200, {}, 5, 5))

    run(go())
    assert handle.calls == ["reserve", "settle"] * 3
