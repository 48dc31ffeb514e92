"""The simulator's RPM/TPM limits, as OpenAI enforces them.

Two token buckets (requests and tokens), refilled continuously at limit/60 per second. The
bucket's capacity is the per-minute limit, or, when quantized, one second's worth (limit/60): a
provider that says 600 RPM may mean 10 per second. A request is charged its prompt tokens plus its
``max_completion_tokens`` on arrival, before any answer exists. A request larger than a bucket is
admitted only when that bucket is full and leaves it in debt, so it is slow but never impossible.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


def format_duration(seconds: float) -> str:
    """OpenAI's reset/retry style: "12ms", "1s", "1.2s", "6m0s", "1m30.5s".

    Rounded up to the millisecond: a hint must never tell a client to come back too early.
    """
    seconds = max(0.0, math.ceil(seconds * 1000 - 1e-6) / 1000)
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60.0)
    rest_text = f"{rest:.3f}".rstrip("0").rstrip(".") or "0"
    return f"{int(minutes)}m{rest_text}s" if minutes else f"{rest_text}s"


class TokenBucket:
    def __init__(self, per_minute: int, *, quantized: bool, clock: Callable[[], float] = time.monotonic):
        self.limit = per_minute
        self.rate = per_minute / 60.0
        self.capacity = max(self.rate, 1.0) if quantized else float(per_minute)
        self._clock = clock
        self._level = self.capacity
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._last) * self.rate)
        self._last = now

    def level(self) -> float:
        self._refill()
        return self._level

    def can_take(self, amount: float) -> bool:
        return self.level() >= min(amount, self.capacity)

    def take(self, amount: float) -> None:
        self._refill()
        self._level -= amount

    def wait_s(self, amount: float) -> float:
        """Seconds until ``can_take(amount)`` becomes true."""
        missing = min(amount, self.capacity) - self.level()
        return max(0.0, missing / self.rate) if self.rate > 0 else math.inf

    def reset_s(self) -> float:
        """Seconds until the bucket is full again."""
        return max(0.0, (self.capacity - self.level()) / self.rate) if self.rate > 0 else 0.0

    def remaining(self) -> int:
        """What is left, in per-minute units (a quantized bucket scales its second up)."""
        return max(0, math.floor(self.level() * self.limit / self.capacity))

    def used(self) -> int:
        return max(0, self.limit - self.remaining())


@dataclass(frozen=True)
class Rejection:
    kind: str  # "requests" / "tokens"
    limit: int
    used: int
    requested: int
    wait_s: float


class RateLimits:
    """Both limits of one simulated organization; ``None`` means unlimited."""

    def __init__(self, rpm: int | None, tpm: int | None, *, quantized: bool,
                 clock: Callable[[], float] = time.monotonic):
        self.requests = TokenBucket(rpm, quantized=quantized, clock=clock) if rpm else None
        self.tokens = TokenBucket(tpm, quantized=quantized, clock=clock) if tpm else None

    def admit(self, charged_tokens: int) -> Rejection | None:
        """Charge one request of ``charged_tokens``, or say which limit refuses it (charging nothing)."""
        for kind, bucket, amount in (("requests", self.requests, 1), ("tokens", self.tokens, charged_tokens)):
            if bucket is not None and not bucket.can_take(amount):
                return Rejection(kind, bucket.limit, bucket.used(), amount, bucket.wait_s(amount))
        if self.requests is not None:
            self.requests.take(1)
        if self.tokens is not None:
            self.tokens.take(charged_tokens)
        return None

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for kind, bucket in (("requests", self.requests), ("tokens", self.tokens)):
            if bucket is not None:
                out[f"x-ratelimit-limit-{kind}"] = str(bucket.limit)
                out[f"x-ratelimit-remaining-{kind}"] = str(bucket.remaining())
                out[f"x-ratelimit-reset-{kind}"] = format_duration(bucket.reset_s())
        return out
