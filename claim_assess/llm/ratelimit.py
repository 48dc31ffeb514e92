"""The shared request and token budget for one (endpoint, model): the pure core of RateLimiterActor.

Why reservations: every caller books its request and tokens the moment it asks and is told how long to wait
(``llm.bucket``). Callers are served first come, first served, a large token request cannot be starved by small
ones, and the limiter never has to wake anybody up: it hands out delays, and the caller sleeps on its own side (in
an assessor, not in the limiter actor).

A request reserves its estimated prompt tokens plus ``max_completion_tokens`` (what the provider charges on
arrival); when the usage comes back, the error of the prompt estimate is refunded. The unused completion allowance
is not: the provider keeps that charge, and refunding it would run the fleet over TPM.

Each budget (``llm.budget``) starts with about one second of burst and learns from what the provider says:
- ``x-ratelimit-limit-*`` teaches the limits when ``--rpm`` / ``--tpm`` were not given;
- ``x-ratelimit-remaining-*`` lowers the level, and (straight from a provider whose bucket holds a minute) raises it,
  so a fresh key's full bucket is spent at once;
- per-second enforcement (headers, or a 429 the budget did not expect) switches it to smooth pacing; a gateway's
  own lower limit (named in its 429, or revealed by 429s while the headers showed budget) lowers its rate;
- a 429 pauses the budget it names (requests or tokens) for the whole fleet until the hinted time;
- ``insufficient_quota`` stops every later reservation with ``QuotaExhausted``: retrying cannot help.
- a refusal of the run's configuration (401, 403, 404, a 4xx naming a request field) stops every later
  reservation with ``EndpointRejected``: no claim can pass.
Time is injected (``clock``) so tests advance a fake clock instead of sleeping.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from claim_assess.errors import EndpointRejected, QuotaExhausted
from claim_assess.llm.diagnosis import provider_said
from claim_assess.llm.budget import START_BURST_S, Budget, Enforcement, Mark
from claim_assess.llm.bucket import Clock, TokenBucket
from claim_assess.llm.gateway import behind_gateway
from claim_assess.llm.limiter import AttemptOutcome, Permit
from claim_assess.llm.retry import ErrorKind, classify

__all__ = ["Enforcement", "LimiterStats", "RateLimiter", "Reservation", "TokenBucket"]
log = logging.getLogger(__name__)
RECHECK_S = 0.2


@dataclass(frozen=True)
class Reservation:
    permit: Permit
    delay_s: float
    # No limit to enforce (none given or learned, no pause): a caller may skip asking for a moment.
    unlimited: bool = False
    # The delay may still shrink (the provider's first answer may show a full bucket): ask again after this long.
    recheck_s: float | None = None


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
    enforcement: tuple[Enforcement, ...] = ()  # what each budget with a known limit has learned


@dataclass(frozen=True)
class _Pending:
    tokens: int
    requests: Mark
    token_mark: Mark


class RateLimiter:
    """Request and token budgets for one endpoint; ``None`` limits are learned from headers, else unlimited."""

    def __init__(
        self,
        rpm: int | None = None,
        tpm: int | None = None,
        *,
        burst_s: float = START_BURST_S,
        clock: Clock = time.monotonic,
        learned: Iterable[Enforcement] = (),
    ):
        for name, value in (("rpm", rpm), ("tpm", tpm)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 when given, got {value}")
        self._clock = clock
        remembered = {e.budget: e for e in learned}
        self._requests = Budget("requests", rpm, burst_s, clock, remembered.get("requests"))
        self._tokens = Budget("tokens", tpm, burst_s, clock, remembered.get("tokens"))
        # A 429 for a budget whose limit we do not know yet still pauses the fleet.
        self._paused_until = 0.0
        self._ids = itertools.count(1)
        self._outstanding: dict[str, _Pending] = {}
        self._granted = self._reserved = self._refunded = 0
        self._quota_exhausted: str | None = None
        self._rejected: str | None = None  # the endpoint refused the run's configuration (a 401, an unknown model)

    @property
    def rpm(self) -> int | None:
        return self._requests.limit

    @property
    def tpm(self) -> int | None:
        return self._tokens.limit

    def reserve(self, tokens: int) -> Reservation:
        if self._quota_exhausted is not None:
            raise QuotaExhausted(self._quota_exhausted)
        if self._rejected is not None:
            raise EndpointRejected(self._rejected)
        delay = max(0.0, self._paused_until - self._clock())
        request_delay, request_mark = self._requests.book(1)
        token_delay, token_mark = self._tokens.book(tokens)
        delay = max(delay, request_delay, token_delay)
        permit = Permit(permit_id=f"p{next(self._ids)}", tokens=tokens)
        self._outstanding[permit.permit_id] = _Pending(tokens, request_mark, token_mark)
        self._granted += 1
        self._reserved += tokens
        unlimited = not (self._requests.bucket or self._tokens.bucket) and delay == 0
        return Reservation(permit, delay, unlimited, self._recheck_after(delay))

    def _recheck_after(self, delay: float) -> float | None:
        provisional = self._requests.provisional or self._tokens.provisional
        return RECHECK_S if provisional and delay > RECHECK_S else None

    def recheck(self, permit: Permit) -> Reservation:
        """The remaining wait of a reservation made while its delay could still shrink (``recheck_s``)."""
        pending = self._outstanding.get(permit.permit_id)
        if pending is None:
            return Reservation(permit, 0.0)
        request_wait, request_mark = self._requests.recheck(pending.requests)
        token_wait, token_mark = self._tokens.recheck(pending.token_mark)
        self._outstanding[permit.permit_id] = _Pending(pending.tokens, request_mark, token_mark)
        delay = max(request_wait, token_wait, self._paused_until - self._clock(), 0.0)
        return Reservation(permit, delay, recheck_s=self._recheck_after(delay))

    def settle(self, permit: Permit, outcome: AttemptOutcome) -> None:
        """Learn from what one attempt saw: usage refunds, what the headers say, 429 pauses, quota."""
        pending = self._outstanding.pop(permit.permit_id, None)
        headers = {k.lower(): v for k, v in outcome.headers.items()}
        if outcome.status == 429:
            self._throttled(headers, outcome.error_body, pending)
            return
        if not isinstance(outcome.status, int):  # a timeout or a dropped connection: nothing to learn
            return
        refused = outcome.status >= 400 and self._rejected is None  # a success costs no classification
        if refused and classify(outcome.status, outcome.error_body) is ErrorKind.CONFIGURATION:
            # No request of the run can pass (a wrong key, an unknown model): every later reservation is refused,
            # so the fleet stops asking at once instead of one refusal per claim in flight.
            log.warning("the endpoint refused the run's configuration: every later request is refused, the run stops")
            self._rejected = ("the endpoint refused the run's configuration on an earlier request: "
                              f"{provider_said(outcome.status, outcome.error_body)}")
            return
        via_gateway = behind_gateway(headers)
        self._requests.answered(headers, pending.requests if pending else None, via_gateway, 1)
        self._tokens.answered(headers, pending.token_mark if pending else None, via_gateway, permit.tokens)
        self._refund(outcome, pending.tokens if pending is not None else permit.tokens)

    def _throttled(self, headers: dict[str, str], body: str | None, pending: _Pending | None) -> None:
        kind = classify(429, body)
        if kind is ErrorKind.QUOTA:
            if self._quota_exhausted is None:
                log.warning("insufficient_quota: every later request is refused, the run stops")
            self._quota_exhausted = _quota_message(body)
            return
        tokens = kind is ErrorKind.RATE_LIMIT_TOKENS
        budget = self._tokens if tokens else self._requests
        mark = None if pending is None else (pending.token_mark if tokens else pending.requests)
        pause = budget.throttled(headers, body, mark)
        if budget.bucket is None:
            self._paused_until = max(self._paused_until, self._clock() + pause)

    def _refund(self, outcome: AttemptOutcome, reserved: int) -> None:
        if outcome.prompt_tokens is None or self._tokens.bucket is None:
            return
        # Refund only what the provider did not charge. It charges the prompt plus max_completion_tokens on
        # arrival and keeps that, so the unused completion allowance is NOT given back; what comes back is the
        # error of our prompt estimate. Without max_completion_tokens, usage is the charge.
        allowance = outcome.max_completion_tokens
        used = outcome.prompt_tokens + (allowance if allowance is not None else outcome.completion_tokens or 0)
        unused = max(0, reserved - used)
        self._tokens.bucket.refund(unused)
        self._refunded += unused

    def enforcement(self) -> tuple[Enforcement, ...]:
        """What each budget with a known limit has learned (kept in the run's settings for a resume)."""
        return tuple(b.state for b in (self._requests, self._tokens) if b.limit is not None)

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
            limits_learned=self._requests.state.learned_from_headers or self._tokens.state.learned_from_headers,
            quota_exhausted=self._quota_exhausted,
            enforcement=self.enforcement(),
        )


def _quota_message(body: str | None) -> str:
    detail = (body or "").strip()[:300]
    return (
        "the provider reports insufficient_quota (the account is out of credit); undecided claims are left "
        f"for a later run. Provider said: {detail}"
    )
