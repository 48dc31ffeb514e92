"""The shared request and token budget for one (endpoint, model): the pure core of RateLimiterActor.

Why reservations: every caller books its request and tokens the moment it asks and is told how long
to wait (as Go's ``rate.Limiter.Reserve`` does). Callers are served first come, first served, a large
token request cannot be starved by small ones, and the limiter never has to wake anybody up: it hands
out delays, and the caller sleeps on its own side (in an assessor, not in the limiter actor).

Budgets refill continuously at limit/60 per second and hold at most ``burst_s`` seconds of rate, so a
provider that enforces per second ("quantized" limits) rarely sees a burst above its share.
A request reserves its estimated prompt tokens plus ``max_completion_tokens`` (what the provider
charges on arrival); when the usage comes back, the error of the prompt estimate is refunded. The unused
completion allowance is not: the provider keeps that charge, and refunding it would run the fleet over TPM.

What the provider says wins over our estimate:
- ``x-ratelimit-remaining-*`` below our own level lowers it (re-anchoring; someone else may share the key);
- ``x-ratelimit-limit-*`` teaches the limits when ``--rpm`` / ``--tpm`` were not given;
- a 429 pauses the budget it names (requests or tokens, from the body) for the whole fleet until the hinted
  time: ``retry-after-ms``, ``retry-after``, "try again in Xs", the matching reset header, else a backoff
  that doubles with consecutive 429s;
- ``insufficient_quota`` stops every later reservation with ``QuotaExhausted``: retrying cannot help.
Without headers (some gateways send none) it carries on from its own estimate.
Time is injected (``clock``) so tests advance a fake clock instead of sleeping.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from claim_assess.errors import QuotaExhausted
from claim_assess.llm.limiter import AttemptOutcome, Permit
from claim_assess.llm.retry import ErrorKind, classify, parse_duration, retry_hint

Clock = Callable[[], float]
log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 20.0


class TokenBucket:
    """A continuously refilled budget that may go into debt: debt is time the next caller waits."""

    def __init__(self, rate_per_s: float, burst: float, clock: Clock = time.monotonic, level: float | None = None):
        if rate_per_s <= 0 or burst <= 0:
            raise ValueError(f"rate and burst must be positive, got {rate_per_s} and {burst}")
        self.rate = rate_per_s
        self.burst = burst
        self._clock = clock
        self._level = burst if level is None else min(burst, level)
        self._stamp = clock()
        self._paused_until = 0.0

    def _refill(self) -> float:
        now = self._clock()
        # While paused nothing refills: the provider told us this budget is spent until then.
        since = max(self._stamp, self._paused_until)
        if now > since:
            self._level = min(self.burst, self._level + (now - since) * self.rate)
        self._stamp = max(now, self._stamp)
        return now

    def reserve(self, amount: float) -> float:
        """Book ``amount`` now; return the seconds the caller must wait before using it."""
        now = self._refill()
        self._level -= amount
        return self._wait(now)

    def _wait(self, now: float) -> float:
        start = max(now, self._paused_until)
        debt = -self._level if self._level < 0 else 0.0
        return (start - now) + debt / self.rate

    def refund(self, amount: float) -> None:
        """Give back budget that was reserved but not used (never above the burst)."""
        self._refill()
        self._level = min(self.burst, self._level + amount)

    def cap(self, remaining: float) -> None:
        """The provider says only ``remaining`` is left: never believe we have more than that."""
        self._refill()
        self._level = min(self._level, remaining)

    def pause(self, seconds: float) -> None:
        """Stop refilling and drain the budget until ``seconds`` from now (a 429 says it is spent)."""
        now = self._refill()
        self._paused_until = max(self._paused_until, now + seconds)
        self._level = min(self._level, 0.0)

    @property
    def level(self) -> float:
        self._refill()
        return self._level

    def backlog_s(self) -> float:
        """How far into the future this budget is already booked (0 when callers need not wait)."""
        return self._wait(self._refill())

    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())


@dataclass(frozen=True)
class Reservation:
    permit: Permit
    delay_s: float
    # No limit to enforce (none given or learned, no pause): a caller may skip asking for a moment.
    unlimited: bool = False


@dataclass(frozen=True)
class LimiterStats:
    """A snapshot for the live display, the admission controller and the dashboard."""

    rpm_limit: int | None
    tpm_limit: int | None
    requests_granted: int
    tokens_reserved: int
    tokens_refunded: int
    requests_level: float | None
    tokens_level: float | None
    paused_for_s: float
    backlog_s: float
    rate_limited: int
    rate_limited_requests: int
    rate_limited_tokens: int
    outstanding: int
    limits_learned: bool
    quota_exhausted: str | None


class _Budget:
    """One kind of budget (requests or tokens): its bucket once the limit is known, and its 429 history."""

    def __init__(self, name: str, per_min: int | None, burst_s: float, clock: Clock):
        self.name, self._burst_s, self._clock = name, burst_s, clock
        self.limit: int | None = None
        self.bucket: TokenBucket | None = None
        self.learned = False
        self.consecutive_429 = 0
        self.rate_limited = 0
        if per_min is not None:
            self.set_limit(per_min)

    def set_limit(self, per_min: int, level: float | None = None) -> None:
        self.limit = per_min
        # At least one request's worth of burst, else a low limit could never admit anything.
        self.bucket = TokenBucket(per_min / 60, max(1.0, per_min / 60 * self._burst_s), self._clock, level)

    def learn(self, headers: Mapping[str, str]) -> None:
        """Take the limit from the headers when none was given; lower our level to what the provider reports."""
        limit = _header_int(headers, f"x-ratelimit-limit-{self.name}")
        remaining = _header_int(headers, f"x-ratelimit-remaining-{self.name}")
        if self.bucket is None and limit:
            self.set_limit(limit, level=remaining)
            self.learned = True
            log.info("learned the provider's %s limit from its headers: %d per minute", self.name, limit)
        elif self.bucket is not None and remaining is not None:
            self.bucket.cap(remaining)

    def throttled(self, headers: Mapping[str, str], body: str | None) -> float:
        """A 429 for this budget: pause it and return for how long."""
        self.rate_limited += 1
        self.consecutive_429 += 1
        pause = retry_hint(headers, body)
        if pause is None:
            reset = headers.get(f"x-ratelimit-reset-{self.name}")
            pause = parse_duration(reset) if reset else None
        if pause is None:
            pause = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (self.consecutive_429 - 1))
        if self.bucket is not None:
            self.bucket.pause(pause)
        log.info("429 on %s: the fleet pauses this budget for %.1fs (%d in a row)", self.name, pause,
                 self.consecutive_429)
        return pause


class RateLimiter:
    """Request and token budgets for one endpoint; ``None`` limits are learned from headers, else unlimited."""

    def __init__(
        self,
        rpm: int | None = None,
        tpm: int | None = None,
        *,
        burst_s: float = 1.0,
        clock: Clock = time.monotonic,
    ):
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 when given, got {value}")
        self._clock = clock
        self._requests = _Budget("requests", rpm, burst_s, clock)
        self._tokens = _Budget("tokens", tpm, burst_s, clock)
        # A 429 for a budget whose limit we do not know yet still pauses the fleet.
        self._paused_until = 0.0
        self._ids = itertools.count(1)
        self._outstanding: dict[str, int] = {}
        self._granted = self._reserved = self._refunded = 0
        self._quota_exhausted: str | None = None

    @property
    def rpm(self) -> int | None:
        return self._requests.limit

    @property
    def tpm(self) -> int | None:
        return self._tokens.limit

    def reserve(self, tokens: int) -> Reservation:
        if self._quota_exhausted is not None:
            raise QuotaExhausted(self._quota_exhausted)
        now = self._clock()
        delay = max(0.0, self._paused_until - now)
        if self._requests.bucket:
            delay = max(delay, self._requests.bucket.reserve(1))
        if self._tokens.bucket:
            delay = max(delay, self._tokens.bucket.reserve(tokens))
        permit = Permit(permit_id=f"p{next(self._ids)}", tokens=tokens)
        self._outstanding[permit.permit_id] = tokens
        self._granted += 1
        self._reserved += tokens
        unlimited = not (self._requests.bucket or self._tokens.bucket) and delay == 0
        return Reservation(permit, delay, unlimited)

    def settle(self, permit: Permit, outcome: AttemptOutcome) -> None:
        """Learn from what one attempt saw: usage refunds, header re-anchoring, 429 pauses, quota."""
        reserved = self._outstanding.pop(permit.permit_id, permit.tokens)
        headers = {k.lower(): v for k, v in outcome.headers.items()}
        for budget in (self._requests, self._tokens):
            budget.learn(headers)
        if outcome.status == 429:
            kind = classify(429, outcome.error_body)
            if kind is ErrorKind.QUOTA:
                if self._quota_exhausted is None:
                    log.warning("insufficient_quota: every later request is refused, the run stops")
                self._quota_exhausted = _quota_message(outcome.error_body)
                return
            budget = self._tokens if kind is ErrorKind.RATE_LIMIT_TOKENS else self._requests
            pause = budget.throttled(headers, outcome.error_body)
            if budget.bucket is None:
                self._paused_until = max(self._paused_until, self._clock() + pause)
            return
        if isinstance(outcome.status, int) and outcome.status < 400:
            self._requests.consecutive_429 = self._tokens.consecutive_429 = 0
        if outcome.prompt_tokens is not None and self._tokens.bucket:
            # Refund only what the provider did not charge. It charges the prompt plus max_completion_tokens
            # on arrival and keeps that, so the unused completion allowance is NOT given back; what comes
            # back is the error of our prompt estimate. Without max_completion_tokens, usage is the charge.
            allowance = outcome.max_completion_tokens
            used = outcome.prompt_tokens + (allowance if allowance is not None else outcome.completion_tokens or 0)
            unused = max(0, reserved - used)
            self._tokens.bucket.refund(unused)
            self._refunded += unused

    def stats(self) -> LimiterStats:
        now = self._clock()
        buckets = [b.bucket for b in (self._requests, self._tokens) if b.bucket]
        paused = max([max(0.0, self._paused_until - now), *(b.paused_for() for b in buckets)])
        backlog = max([max(0.0, self._paused_until - now), *(b.backlog_s() for b in buckets)])
        return LimiterStats(
            rpm_limit=self.rpm,
            tpm_limit=self.tpm,
            requests_granted=self._granted,
            tokens_reserved=self._reserved,
            tokens_refunded=self._refunded,
            requests_level=self._requests.bucket.level if self._requests.bucket else None,
            tokens_level=self._tokens.bucket.level if self._tokens.bucket else None,
            paused_for_s=paused,
            backlog_s=backlog,
            rate_limited=self._requests.rate_limited + self._tokens.rate_limited,
            rate_limited_requests=self._requests.rate_limited,
            rate_limited_tokens=self._tokens.rate_limited,
            outstanding=len(self._outstanding),
            limits_learned=self._requests.learned or self._tokens.learned,
            quota_exhausted=self._quota_exhausted,
        )


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None  # garbage from a gateway: carry on from our own estimate
    return number if number >= 0 else None


def _quota_message(body: str | None) -> str:
    detail = (body or "").strip()[:300]
    return (
        "the provider reports insufficient_quota (the account is out of credit); undecided claims are left "
        f"for a later run. Provider said: {detail}"
    )
