"""The shared limiter's core with an injected clock: no test sleeps."""

from __future__ import annotations

import asyncio

import pytest

from llm.limiter import AttemptOutcome
from llm.ratelimit import LocalLimiter, RateLimiter, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ok(prompt: int, completion: int) -> AttemptOutcome:
    return AttemptOutcome(status=200, headers={}, prompt_tokens=prompt, completion_tokens=completion, error_body=None)


def test_bucket_starts_full_and_books_debt_as_waiting_time():
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=10, burst=10, clock=clock)
    assert [bucket.reserve(1) for _ in range(10)] == [0.0] * 10
    # The eleventh is one token in debt: 1/10 s; the twelfth two tokens: 2/10 s.
    assert bucket.reserve(1) == pytest.approx(0.1)
    assert bucket.reserve(1) == pytest.approx(0.2)


def test_bucket_refills_continuously_up_to_the_burst_only():
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=10, burst=10, clock=clock)
    for _ in range(10):
        bucket.reserve(1)
    clock.advance(0.5)
    assert bucket.level == pytest.approx(5)
    clock.advance(60)
    assert bucket.level == pytest.approx(10)


def test_bucket_pause_drains_and_delays_until_the_hint():
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=10, burst=10, clock=clock)
    bucket.pause(2.0)
    assert bucket.reserve(1) == pytest.approx(2.0 + 0.1)
    clock.advance(2.0)
    assert bucket.paused_for() == 0.0


def test_limiter_never_grants_more_than_the_rpm_over_a_minute():
    clock = FakeClock()
    limiter = RateLimiter(rpm=600, tpm=None, burst_s=1.0, clock=clock)
    # Callers start their request at now + delay; count how many start within the first 60 s.
    starts = [clock.now + limiter.reserve(10).delay_s for _ in range(700)]
    within = sum(1 for t in starts if t < clock.now + 60)
    assert within <= 600 + 10  # the rate plus one burst (1 s of rate)
    assert within >= 600


def test_token_budget_binds_and_large_requests_are_not_starved():
    clock = FakeClock()
    limiter = RateLimiter(rpm=None, tpm=6000, clock=clock)  # 100 tokens/s, burst 100
    first = limiter.reserve(500)
    second = limiter.reserve(50)
    assert first.delay_s == pytest.approx(4.0)  # 400 tokens of debt at 100/s
    assert second.delay_s == pytest.approx(4.5)  # waits behind the big one: first come, first served


def test_unused_tokens_are_refunded_after_usage_comes_back():
    clock = FakeClock()
    limiter = RateLimiter(rpm=None, tpm=6000, clock=clock)
    reservation = limiter.reserve(100)
    assert limiter.stats().tokens_level == pytest.approx(0)
    limiter.settle(reservation.permit, ok(30, 20))
    assert limiter.stats().tokens_level == pytest.approx(50)
    assert limiter.stats().tokens_refunded == 50


def test_a_429_on_tokens_pauses_the_token_budget_for_the_fleet():
    clock = FakeClock()
    limiter = RateLimiter(rpm=600, tpm=60000, clock=clock)
    reservation = limiter.reserve(10)
    body = '{"error": {"message": "Rate limit reached ... on tokens per min (TPM)", "type": "tokens"}}'
    limiter.settle(reservation.permit, AttemptOutcome(429, {}, None, None, body), retry_hint_s=3.0)
    assert limiter.stats().paused_for_s == pytest.approx(3.0)
    assert limiter.reserve(10).delay_s >= 3.0
    assert limiter.stats().rate_limited == 1


def test_unlimited_limiter_never_waits():
    limiter = RateLimiter()
    assert all(limiter.reserve(10_000).delay_s == 0 for _ in range(100))


@pytest.mark.parametrize("rpm, tpm", [(0, None), (None, -5)])
def test_invalid_limits_are_clear_errors(rpm, tpm):
    with pytest.raises(ValueError, match="must be at least 1"):
        RateLimiter(rpm=rpm, tpm=tpm)


def test_local_limiter_sleeps_exactly_the_reserved_delay():
    clock = FakeClock()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = LocalLimiter(RateLimiter(rpm=60, clock=clock), sleep=fake_sleep)

    async def go():
        for _ in range(3):
            permit = await limiter.acquire(1)
            await limiter.release(permit, ok(1, 0))

    asyncio.run(go())
    assert slept == pytest.approx([1.0, 2.0])  # 1 request/s with a burst of one
