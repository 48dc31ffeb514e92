"""The simulator's RPM/TPM limits, as providers enforce them, in one of three modes (``QUANTIZE_MODES``).

- ``"none"``: a token bucket per limit whose capacity is the per-minute limit; it starts full and refills
  continuously at limit/60 per second, as OpenAI documents its limits.
- ``"aligned"``: the bucket holds one second's budget, max(limit/60, 1), refilled continuously: a provider
  that says 600 RPM may mean 10 per second. Like a counter reset on every whole second, it is not strict
  over a sliding second: a full bucket drained at once plus what refills in the next second lets up to about
  twice limit/60 through in some 1-second window.
- ``"sliding"``: a strict provider: in any 1-second window, wherever it starts, at most ceil(limit/60)
  requests and ceil(limit/60) charged tokens (``SlidingWindow``).

A request is charged its prompt tokens plus its ``max_completion_tokens`` on arrival, before any answer
exists. A request larger than a limit's capacity is never impossible: a bucket admits it only when full and
is left in debt; a sliding window admits it only when empty.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

QUANTIZE_MODES = ("none", "aligned", "sliding")


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


class Limit(Protocol):
    """What ``RateLimits`` needs of one limit, whichever mode enforces it."""

    limit: int

    def can_take(self, amount: float) -> bool: ...
    def take(self, amount: float) -> None: ...
    def wait_s(self, amount: float) -> float: ...
    def reset_s(self) -> float: ...
    def remaining(self) -> int: ...
    def used(self) -> int: ...


class TokenBucket:
    """Modes "none" (capacity: the per-minute limit) and "aligned" (capacity: one second's budget)."""

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


class SlidingWindow:
    """Mode "sliding": at most ``capacity`` = ceil(limit/60) in the window (now - 1 s, now], wherever now is.

    It keeps every admission of the last second as (arrival time, amount): a strict provider cannot be gamed
    by bursting across a whole-second boundary, which a bucket or an aligned counter allows.
    """

    WINDOW_S = 1.0

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic):
        self.limit = per_minute
        self.capacity = math.ceil(per_minute / 60)
        self._clock = clock
        self._admitted: deque[tuple[float, float]] = deque()
        self._sum = 0.0

    def _in_window(self) -> float:
        """Forget admissions that left the window; return the clock's now."""
        now = self._clock()
        while self._admitted and self._admitted[0][0] <= now - self.WINDOW_S:
            self._sum -= self._admitted.popleft()[1]
        if not self._admitted:
            self._sum = 0.0  # no float residue once the window is empty
        return now

    def can_take(self, amount: float) -> bool:
        self._in_window()
        return not self._admitted or self._sum + amount <= self.capacity

    def take(self, amount: float) -> None:
        self._admitted.append((self._in_window(), amount))
        self._sum += amount

    def wait_s(self, amount: float) -> float:
        """Seconds until enough of the window has expired for ``can_take(amount)``."""
        now = self._in_window()
        left, last = self._sum, len(self._admitted) - 1
        for index, (arrived, taken) in enumerate(self._admitted):
            left -= taken
            if index == last or left + amount <= self.capacity:  # an empty window admits any amount
                return max(0.0, arrived + self.WINDOW_S - now)
        return 0.0

    def reset_s(self) -> float:
        """Seconds until the window is empty."""
        now = self._in_window()
        return max(0.0, self._admitted[-1][0] + self.WINDOW_S - now) if self._admitted else 0.0

    def remaining(self) -> int:
        """What is free, scaled to per-minute units as the aligned bucket reports it."""
        self._in_window()
        free = max(0.0, self.capacity - self._sum)
        return max(0, math.floor(free / self.capacity * self.limit))

    def used(self) -> int:
        return max(0, self.limit - self.remaining())


def make_limit(per_minute: int, mode: str, clock: Callable[[], float]) -> Limit:
    if mode == "sliding":
        return SlidingWindow(per_minute, clock=clock)
    if mode in ("none", "aligned"):
        return TokenBucket(per_minute, quantized=mode == "aligned", clock=clock)
    raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {mode!r}")


@dataclass(frozen=True)
class Rejection:
    kind: str  # "requests" / "tokens"
    limit: int
    used: int
    requested: int
    wait_s: float


class RateLimits:
    """Both limits of one simulated organization; ``None`` means unlimited.

    ``mode`` is one of ``QUANTIZE_MODES``; ``quantized=True`` is the older spelling of ``mode="aligned"``.
    """

    def __init__(self, rpm: int | None, tpm: int | None, *, mode: str = "none", quantized: bool = False,
                 clock: Callable[[], float] = time.monotonic):
        if quantized:
            if mode not in ("none", "aligned"):
                raise ValueError(f"quantized=True means mode 'aligned', not {mode!r}")
            mode = "aligned"
        self.requests = make_limit(rpm, mode, clock) if rpm else None
        self.tokens = make_limit(tpm, mode, clock) if tpm else None

    def admit(self, charged_tokens: int) -> Rejection | None:
        """Charge one request of ``charged_tokens``, or say which limit refuses it (charging nothing)."""
        for kind, limit, amount in (("requests", self.requests, 1), ("tokens", self.tokens, charged_tokens)):
            if limit is not None and not limit.can_take(amount):
                return Rejection(kind, limit.limit, limit.used(), amount, limit.wait_s(amount))
        if self.requests is not None:
            self.requests.take(1)
        if self.tokens is not None:
            self.tokens.take(charged_tokens)
        return None

    def headers(self) -> dict[str, str]:
        """The x-ratelimit-* headers: limits per minute, what is left in per-minute units, time to a full budget."""
        out: dict[str, str] = {}
        for kind, limit in (("requests", self.requests), ("tokens", self.tokens)):
            if limit is not None:
                out[f"x-ratelimit-limit-{kind}"] = str(limit.limit)
                out[f"x-ratelimit-remaining-{kind}"] = str(limit.remaining())
                out[f"x-ratelimit-reset-{kind}"] = format_duration(limit.reset_s())
        return out
