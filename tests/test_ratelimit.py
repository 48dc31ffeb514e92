"""The shared limiter's core with an injected clock: no test sleeps."""

from __future__ import annotations

import json

import pytest

from claim_assess.errors import QuotaExhausted
from claim_assess.llm.limiter import AttemptOutcome
from claim_assess.llm.ratelimit import RateLimiter, TokenBucket


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
    limiter = RateLimiter(rpm=None, tpm=6000, burst_s=1.0, clock=clock)  # 100 tokens/s, burst 100
    first = limiter.reserve(500)
    second = limiter.reserve(50)
    assert first.delay_s == pytest.approx(4.0)  # 400 tokens of debt at 100/s
    assert second.delay_s == pytest.approx(4.5)  # waits behind the big one: first come, first served


def test_the_prompt_estimate_error_is_refunded_but_not_the_unused_completion_allowance():
    clock = FakeClock()
    limiter = RateLimiter(rpm=None, tpm=6000, burst_s=1.0, clock=clock)  # burst 100
    reservation = limiter.reserve(100)  # an estimated 60 prompt tokens + max_completion_tokens 40
    assert limiter.stats().tokens_level == pytest.approx(0)
    outcome = AttemptOutcome(200, {}, prompt_tokens=50, completion_tokens=5, max_completion_tokens=40)
    limiter.settle(reservation.permit, outcome)
    # The provider charged 50 + 40 = 90: only the 10 we over-estimated come back, not the 35 unused.
    assert limiter.stats().tokens_level == pytest.approx(10)
    assert limiter.stats().tokens_refunded == 10


def test_without_the_allowance_usage_is_taken_as_the_charge():
    clock = FakeClock()
    limiter = RateLimiter(rpm=None, tpm=6000, clock=clock)
    reservation = limiter.reserve(100)
    limiter.settle(reservation.permit, ok(30, 20))
    assert limiter.stats().tokens_refunded == 50


def rate_limited(kind: str, headers: dict | None = None, message: str = "") -> AttemptOutcome:
    body = json.dumps({"error": {"message": message or f"Rate limit reached on {kind} per min.", "type": kind,
                                 "param": None, "code": "rate_limit_exceeded"}})
    return AttemptOutcome(429, headers or {}, None, None, body)


def test_a_429_on_tokens_pauses_only_the_token_budget_for_the_hinted_time():
    clock = FakeClock()
    limiter = RateLimiter(rpm=600, tpm=60000, clock=clock)
    permit = limiter.reserve(10).permit
    limiter.settle(permit, rate_limited("tokens", {"retry-after-ms": "3000"}))
    stats = limiter.stats()
    assert stats.paused_for_s == pytest.approx(3.0)
    assert (stats.rate_limited_tokens, stats.rate_limited_requests) == (1, 0)
    assert limiter.reserve(10).delay_s >= 3.0


@pytest.mark.parametrize(
    "headers, message, expected_pause",
    [
        ({"retry-after-ms": "1500"}, "", 1.5),
        ({"retry-after": "2"}, "", 2.0),
        ({}, "Rate limit reached for gpt-4o on requests per min (RPM): Limit 600. Please try again in 1.2s.", 1.2),
        ({"x-ratelimit-reset-requests": "1m30.5s"}, "", 90.5),
        ({}, "", 0.5),  # no hint at all: backoff starts at 0.5 s
        ({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, "", 0.5),  # an HTTP date is ignored
    ],
)
def test_the_pause_follows_the_providers_hint_in_order_of_precedence(headers, message, expected_pause):
    clock = FakeClock()
    limiter = RateLimiter(rpm=600, clock=clock)
    limiter.settle(limiter.reserve(1).permit, rate_limited("requests", headers, message))
    assert limiter.stats().paused_for_s == pytest.approx(expected_pause)


def test_backoff_doubles_with_consecutive_429s_and_resets_after_a_success():
    clock = FakeClock()
    limiter = RateLimiter(rpm=6000, clock=clock)
    pauses = []
    for _ in range(4):
        limiter.settle(limiter.reserve(1).permit, rate_limited("requests"))
        pauses.append(limiter.stats().paused_for_s)
        clock.advance(60)
    assert pauses == pytest.approx([0.5, 1.0, 2.0, 4.0])
    limiter.settle(limiter.reserve(1).permit, ok(1, 1))
    limiter.settle(limiter.reserve(1).permit, rate_limited("requests"))
    assert limiter.stats().paused_for_s == pytest.approx(0.5)


def test_a_429_before_any_limit_is_known_still_pauses_the_fleet():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    limiter.settle(limiter.reserve(1).permit, rate_limited("requests", {"retry-after": "2"}))
    assert limiter.reserve(1).delay_s == pytest.approx(2.0)


def test_insufficient_quota_stops_every_later_reservation_with_a_clear_message():
    limiter = RateLimiter(rpm=600, clock=FakeClock())
    body = json.dumps({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                                 "code": "insufficient_quota"}})
    limiter.settle(limiter.reserve(1).permit, AttemptOutcome(429, {}, None, None, body))
    assert "insufficient_quota" in limiter.stats().quota_exhausted
    with pytest.raises(QuotaExhausted, match="later run"):
        limiter.reserve(1)


def test_limits_are_learned_from_the_first_response_headers_when_not_given():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    headers = {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "0",
               "x-ratelimit-limit-tokens": "60000", "x-ratelimit-remaining-tokens": "59000"}
    limiter.settle(limiter.reserve(10).permit, AttemptOutcome(200, headers, 5, 5, None))
    stats = limiter.stats()
    assert (stats.rpm_limit, stats.tpm_limit, stats.limits_learned) == (600, 60000, True)
    # The provider said no request is left: the next one waits for one to refill (0.1 s at 10/s).
    assert limiter.reserve(1).delay_s == pytest.approx(0.1)


def test_remaining_below_our_estimate_re_anchors_the_budget_downwards_only():
    clock = FakeClock()
    limiter = RateLimiter(rpm=600, burst_s=1.0, clock=clock)  # burst 10
    limiter.settle(limiter.reserve(1).permit, AttemptOutcome(200, {"x-ratelimit-remaining-requests": "2"}, 1, 1))
    assert limiter.stats().requests_level == pytest.approx(2)
    limiter.settle(limiter.reserve(1).permit, AttemptOutcome(200, {"x-ratelimit-remaining-requests": "500"}, 1, 1))
    assert limiter.stats().requests_level == pytest.approx(1)  # more than we believe is not trusted


@pytest.mark.parametrize("value", ["", "abc", "-5", "1.5e3", "NaN"])
def test_garbage_headers_are_ignored(value):
    limiter = RateLimiter(clock=FakeClock())
    headers = {"x-ratelimit-limit-requests": value, "x-ratelimit-remaining-requests": value}
    limiter.settle(limiter.reserve(1).permit, AttemptOutcome(200, headers, 1, 1))
    assert limiter.stats().rpm_limit is None


def test_backlog_reports_how_far_ahead_the_budget_is_booked():
    clock = FakeClock()
    limiter = RateLimiter(rpm=60, clock=clock)  # 1 request/s, burst 1
    for _ in range(4):
        limiter.reserve(1)
    assert limiter.stats().backlog_s == pytest.approx(3.0)
    clock.advance(3)
    assert limiter.stats().backlog_s == pytest.approx(0.0)


def test_unlimited_limiter_never_waits():
    limiter = RateLimiter()
    assert all(limiter.reserve(10_000).delay_s == 0 for _ in range(100))


@pytest.mark.parametrize("rpm, tpm", [(0, None), (None, -5)])
def test_invalid_limits_are_clear_errors(rpm, tpm):
    with pytest.raises(ValueError, match="must be at least 1"):
        RateLimiter(rpm=rpm, tpm=tpm)
