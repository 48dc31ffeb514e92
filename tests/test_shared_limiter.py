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


class GatedLimiter(LocalLimiter):
    """The actor with its answers held back until the test lets them go: shows who asks while an ask is under way."""

    def __init__(self, core: RateLimiter):
        super().__init__(core)
        self.gate = asyncio.Event()
        self.waiting = 0

    async def reserve(self, tokens: int):
        self.calls.append("reserve")
        self.waiting += 1
        await self.gate.wait()
        self.waiting -= 1
        return self.core.reserve(tokens)


async def _until(condition) -> None:
    # Lets the other tasks run until ``condition`` holds (no sleeping for time to pass).
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def test_attempts_that_come_while_the_probe_is_out_wait_for_its_answer_instead_of_asking_too():
    clock = FakeClock()
    handle = GatedLimiter(RateLimiter(clock=clock))
    limiter = client(handle, clock)

    async def go():
        attempts = [asyncio.create_task(limiter.acquire(10)) for _ in range(6)]
        await _until(lambda: handle.waiting == 1)
        for _ in range(10):
            await asyncio.sleep(0)
        assert handle.calls == ["reserve"]  # the other five wait for the probe's answer
        handle.gate.set()
        return await asyncio.gather(*attempts)

    permits = run(go())
    assert handle.calls == ["reserve"]
    assert sum(p.permit_id == "local" for p in permits) == 5


def test_with_limits_enforced_concurrent_attempts_ask_at_once_never_one_after_another():
    clock = FakeClock()
    handle = GatedLimiter(RateLimiter(rpm=60_000, clock=clock))
    limiter = client(handle, clock)

    async def go():
        first = asyncio.create_task(limiter.acquire(10))  # the probe: it learns that limits are enforced
        await _until(lambda: handle.waiting == 1)
        handle.gate.set()
        await first
        handle.gate.clear()
        rest = [asyncio.create_task(limiter.acquire(10)) for _ in range(4)]
        await _until(lambda: handle.waiting == 4)  # all four asks under way together
        handle.gate.set()
        return await asyncio.gather(*rest)

    permits = run(go())
    assert handle.calls == ["reserve"] * 5
    assert all(p.permit_id != "local" for p in permits)


def test_a_cancelled_probe_lets_the_waiting_attempts_ask_for_themselves():
    clock = FakeClock()
    handle = GatedLimiter(RateLimiter(clock=clock))
    limiter = client(handle, clock)

    async def go():
        probe = asyncio.create_task(limiter.acquire(10))
        await _until(lambda: handle.waiting == 1)
        waiting = [asyncio.create_task(limiter.acquire(10)) for _ in range(3)]
        await asyncio.sleep(0)
        probe.cancel()
        await _until(lambda: handle.waiting == 2)  # the cancelled ask still waits at the gate; one waiter took over
        handle.gate.set()
        return await asyncio.gather(*waiting)

    permits = run(go())
    assert handle.calls == ["reserve", "reserve"]
    assert sum(p.permit_id == "local" for p in permits) == 2
