"""The simulator's RPM/TPM buckets and duration formatting, on a fake clock."""

from __future__ import annotations

import pytest

from claim_assess.llm.retry import parse_duration
from claim_assess.simulator.limits import RateLimits, TokenBucket, format_duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.012, "12ms"), (0.0004, "1ms"), (1, "1s"), (1.2, "1.2s"), (360, "6m0s"), (90.5, "1m30.5s"),
     (59.9999, "1m0s")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
    assert seconds - 1e-9 <= parse_duration(text) <= seconds + 0.001


def test_per_minute_bucket_refills_continuously():
    clock = FakeClock()
    bucket = TokenBucket(60, quantized=False, clock=clock)
    for _ in range(60):
        assert bucket.can_take(1)
        bucket.take(1)
    assert not bucket.can_take(1)
    assert bucket.wait_s(1) == pytest.approx(1.0)
    clock.now += 0.5
    assert not bucket.can_take(1)
    clock.now += 0.5
    assert bucket.can_take(1)
    assert bucket.reset_s() == pytest.approx(59.0)


def test_quantized_bucket_allows_one_second_worth():
    clock = FakeClock()
    bucket = TokenBucket(600, quantized=True, clock=clock)  # 10 per second
    taken = 0
    while bucket.can_take(1):
        bucket.take(1)
        taken += 1
    assert taken == 10
    assert bucket.remaining() == 0
    clock.now += 1.0
    assert bucket.remaining() == 600  # reported in per-minute units


def test_oversized_request_waits_for_a_full_bucket_and_leaves_debt():
    clock = FakeClock()
    bucket = TokenBucket(6000, quantized=True, clock=clock)  # 100 tokens per second
    assert bucket.can_take(900)
    bucket.take(900)
    assert not bucket.can_take(900)
    assert bucket.wait_s(900) == pytest.approx(9.0)  # 800 of debt plus a full bucket at 100/s


def test_rate_limits_reject_without_charging_and_say_which_limit():
    clock = FakeClock()
    limits = RateLimits(rpm=3, tpm=1000, quantized=False, clock=clock)
    assert limits.admit(400) is None
    assert limits.admit(400) is None
    rejection = limits.admit(400)
    assert rejection is not None and rejection.kind == "tokens"
    assert (rejection.limit, rejection.used, rejection.requested) == (1000, 800, 400)
    assert rejection.wait_s == pytest.approx(200 / (1000 / 60))
    assert limits.admit(100) is None  # the rejected request charged nothing
    rejection = limits.admit(1)
    assert rejection is not None and rejection.kind == "requests"
    assert rejection.wait_s == pytest.approx(20.0)


def test_headers_follow_openai_names_and_formats():
    clock = FakeClock()
    limits = RateLimits(rpm=60, tpm=6000, quantized=False, clock=clock)
    limits.admit(600)
    headers = limits.headers()
    assert headers["x-ratelimit-limit-requests"] == "60"
    assert headers["x-ratelimit-remaining-requests"] == "59"
    assert headers["x-ratelimit-reset-requests"] == "1s"
    assert headers["x-ratelimit-limit-tokens"] == "6000"
    assert headers["x-ratelimit-remaining-tokens"] == "5400"
    assert headers["x-ratelimit-reset-tokens"] == "6s"
    assert RateLimits(None, None, quantized=False, clock=clock).headers() == {}
