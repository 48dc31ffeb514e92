"""One budget of the shared limiter (requests or tokens per minute), and what it learns of how the provider enforces.

It starts conservatively: a bucket refilled at the limit's rate that holds ``burst_s`` seconds of it (by default
none: one request at a time, evenly spaced, until the provider's headers show it may hold more). Then it learns
from every answer and every 429 (see docs/architecture.md, "How the limiter learns"):

- **Trust what the server says it has.** Answers straight from the provider whose headers show a minute bucket
  (``remaining`` and ``reset`` imply a refill window near a minute) let the bucket hold a minute and its level rise to
  ``remaining`` less everything booked since that request (so a fresh key's full bucket is spent at once, as the
  provider allows). Every answer's ``remaining`` may lower the level (someone else may share the key).
- **Learn the enforcement granularity.** Headers that show a bucket refilling within seconds, or a 429 on a request the
  limiter had budget for, mean the provider enforces over a shorter window: the budget switches to smooth pacing
  (requests evenly spaced, a burst of one request) for the rest of the run. Later such 429s lower the paced rate a
  little (x0.99); a quiet stretch raises it back, never above the limit.
- **Learn a hidden lower limit.** A gateway's 429 that names its own limit (LiteLLM's ``rpm_limit``), or a 429 while
  the headers still showed budget (a gateway, a shared key), reveals a limit the headers do not describe: the budget
  paces at that limit (the named one, else what was admitted in the last minute), stops raising itself on headers,
  and probes upward slowly (+2 % a minute) so a limit that rises is found again.

A 429 that arrives for a request booked before the previous 429 was heard of is the same event, not new evidence.
Time is injected (``clock``); nothing here sleeps.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace

from claim_assess.llm.bucket import Clock, TokenBucket
from claim_assess.llm.gateway import gateway_limit
from claim_assess.llm.retry import parse_duration, retry_hint

log = logging.getLogger(__name__)

START_BURST_S = 0.0  # no burst until the provider shows one: a strict provider's first second is no 429 storm
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 20.0
SHORT_WINDOW_S = 10.0  # a bucket that refills within this is enforced per second, not per minute
PACED_DECREASE = 0.99  # a 429 while paced: the paced rate steps down by 1 %
PACED_FLOOR = 0.5
PACED_PROBE_S, PACED_PROBE_STEP = 20.0, 0.005  # a quiet stretch of 20 s: the paced rate steps back up by 0.5 %
HIDDEN_HEADROOM = 0.97  # pace a revealed limit a little under it: a fixed window forgives no jitter
HIDDEN_PROBE_S, HIDDEN_PROBE_STEP = 60.0, 0.02  # a quiet minute: try 2 % more of a revealed limit
ADMITTED_WINDOW_S = 60.0
WINDOW_SLACK_S = 1.0
REORDER_S = 0.25  # requests told to go this close together may reach the provider in either order (a busy loop sends late)
RECENT_BOOKINGS = 256  # our send time precedes the provider's arrival time: a window frees a little later


@dataclass(frozen=True)
class Enforcement:
    """What the limiter has learned about one budget: shown live, in the report, and kept for a resume."""

    budget: str  # "requests" | "tokens"
    limit: int | None = None  # per minute: given with --rpm/--tpm, or learned from the headers
    learned_from_headers: bool = False
    paced: bool = False
    reason: str | None = None  # why it paces (the first reason)
    hidden_limit: int | None = None  # a lower limit the 429s revealed, per minute
    headers_trusted: bool = True
    scale: float = 1.0  # share of the limit it paces at, after 429s while paced
    rate_per_min: float | None = None  # the rate it allows itself now

    def describe(self) -> str:
        if self.limit is None:
            return f"{self.budget}: no limit known"
        how = "paced evenly" if self.paced else "bucket"
        rate = f" at {self.rate_per_min:,.0f}/min" if self.rate_per_min is not None else ""
        hidden = f", hidden limit {self.hidden_limit:,}/min" if self.hidden_limit else ""
        distrust = ", headers not trusted" if not self.headers_trusted else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.budget}: {how}{rate}{hidden}{distrust}{why}"

    def to_json(self) -> dict[str, object]:
        return {"budget": self.budget, "limit": self.limit, "learned_from_headers": self.learned_from_headers,
                "paced": self.paced, "reason": self.reason, "hidden_limit": self.hidden_limit,
                "headers_trusted": self.headers_trusted, "scale": self.scale, "rate_per_min": self.rate_per_min}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Enforcement:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Mark:
    """Where one booking stood: to tell what was booked after it, and whether it was booked after a 429."""

    booked_after: float  # the budget's running total of bookings, this one included
    # Booked before it but sent within REORDER_S of it: they may reach the provider after it.
    may_arrive_after: float
    amount: float
    booked_at: float
    send_at: float  # when its caller was told to send it
    shifted_for: float = -math.inf  # the pause (its start) this booking was already moved back for


@dataclass(frozen=True)
class _Headers:
    limit: int | None
    remaining: int | None
    reset_s: float | None

    def window_s(self) -> float | None:
        """How long the provider's bucket takes to refill from empty, from one answer's headers (None: unknown)."""
        if not self.limit or self.remaining is None or self.reset_s is None or self.remaining >= self.limit:
            return None
        return self.reset_s * self.limit / (self.limit - self.remaining)


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None  # garbage from a gateway: carry on from our own estimate
    return number if number >= 0 else None


def _read_headers(headers: Mapping[str, str], name: str) -> _Headers:
    reset = headers.get(f"x-ratelimit-reset-{name}")
    return _Headers(_header_int(headers, f"x-ratelimit-limit-{name}"),
                    _header_int(headers, f"x-ratelimit-remaining-{name}"),
                    parse_duration(reset) if reset else None)


class Budget:
    """One kind of budget: its bucket once the limit is known, its 429 history and what it has learned."""

    def __init__(self, name: str, per_min: int | None, burst_s: float, clock: Clock,
                 learned: Enforcement | None = None):
        self.name, self._burst_s, self._clock = name, burst_s, clock
        self.bucket: TokenBucket | None = None
        self.state = Enforcement(name)
        self.consecutive_429 = 0
        self.rate_limited = 0
        self._capacity = 1.0
        self._booked = 0.0
        self._recent: deque[tuple[float, float]] = deque(maxlen=RECENT_BOOKINGS)  # (send time, amount)
        self._largest = 1.0  # the largest single booking: what "a burst of one request" holds for tokens
        self._last_adapted = -math.inf  # when a 429 last changed how this budget paces
        self._last_change = clock()
        self._admitted: deque[tuple[float, float]] = deque()  # (send time, amount) of what the provider let in
        self._last_remaining: tuple[int, Mark] | None = None
        self._heard = False  # an answer has said what the provider has left of this budget
        self._evidence_in_a_row = 0  # 429s that tested the current pacing, with no answer in between
        self._paused_at = self._pause_end = -math.inf  # when a 429 last paused this budget, and until when
        if per_min is not None:
            self._set_limit(per_min)
        if learned is not None:
            self._restore(learned)

    @property
    def limit(self) -> int | None:
        return self.state.limit

    # --- rate and capacity ------------------------------------------------------------------------

    def _rate_per_min(self) -> float:
        assert self.state.limit is not None
        hidden = self.state.hidden_limit
        base = hidden * HIDDEN_HEADROOM if hidden is not None and hidden < self.state.limit else self.state.limit
        return base * self.state.scale

    def _retune(self) -> None:
        if self.bucket is None:
            return
        rate = self._rate_per_min()
        burst = self._largest if self.state.paced else self._capacity
        self.bucket.retune(rate / 60, burst)
        self.state = replace(self.state, rate_per_min=round(rate, 2))

    def _set_limit(self, per_min: int, level: float | None = None, learned: bool = False) -> None:
        self.state = replace(self.state, limit=per_min, learned_from_headers=learned)
        # At least one request's worth of burst, else a low limit could never admit anything.
        self._capacity = max(1.0, per_min / 60 * self._burst_s)
        self.bucket = TokenBucket(per_min / 60, self._capacity, self._clock, level)
        self._retune()

    def _restore(self, learned: Enforcement) -> None:
        """A resumed run starts from what the interrupted one learned (the limit given now still wins)."""
        if self.state.limit is None and learned.limit:
            self._set_limit(learned.limit, learned=learned.learned_from_headers)
        if self.bucket is None:
            return
        self.state = replace(self.state, paced=learned.paced, reason=learned.reason,
                             hidden_limit=learned.hidden_limit, headers_trusted=learned.headers_trusted,
                             scale=learned.scale)
        self._retune()

    # --- booking ----------------------------------------------------------------------------------

    def book(self, amount: float) -> tuple[float, Mark]:
        """Book ``amount``; the seconds to wait, and the mark settling it needs."""
        now = self._clock()
        self._probe(now)
        self._booked += amount
        if amount > self._largest:
            self._largest = amount
            if self.state.paced:
                self._retune()
        delay = self.bucket.reserve(amount) if self.bucket is not None else 0.0
        send_at = now + delay
        overtaking = sum(a for t, a in self._recent if t > send_at - REORDER_S)
        self._recent.append((send_at, amount))
        return delay, Mark(self._booked, overtaking, amount, now, send_at)

    @property
    def provisional(self) -> bool:
        """The delays it hands out may still shrink: nothing has been heard of the provider's own level yet."""
        return self.bucket is not None and not self._heard and self.state.headers_trusted and not self.state.paced

    def recheck(self, mark: Mark) -> tuple[float, Mark]:
        """How long ``mark``'s caller must still wait. No debt left means what was booked is covered (refill, or
        a level raised on the provider's word): it may go now."""
        now = self._clock()
        if self.bucket is None:
            return 0.0, mark
        if self._paused_at > max(mark.booked_at, mark.shifted_for) and mark.send_at > self._paused_at:
            # A 429 since it was booked, before it went: a pause stops the bucket's clock, so every place booked
            # beyond its start moves back by its length. The spacing between them stays, and no place is lost.
            send_at = mark.send_at + (self._pause_end - self._paused_at)
            return max(0.0, send_at - now), replace(mark, send_at=send_at, shifted_for=self._paused_at)
        wait = self.bucket.paused_for() if self.bucket.level >= 0 else max(0.0, mark.send_at - now)
        if now + wait >= mark.send_at:
            return wait, mark
        # It goes ahead of requests booked after it: count it again as booked now, so that the answers of those
        # (which it may overtake) do not count it as already charged. Counting it twice only errs low.
        self._booked += mark.amount
        return wait, replace(mark, booked_after=self._booked, send_at=now + wait)

    def _left_after(self, remaining: float, mark: Mark) -> float:
        """At most what the provider has left now, from the ``remaining`` it reported when ``mark``'s request
        arrived, less everything booked after it (sent or about to be). Requests booked earlier are sent earlier
        and were counted in ``remaining``, except those sent so close before it that the wire may have swapped
        them. Its refill since is left out on purpose: a request reaches the provider later than it was told to go
        (an event loop busy elsewhere), so that credit would err high, and a constant shortfall of about one
        latency's refill costs one latency over a whole run."""
        return remaining - (self._booked - mark.booked_after) - mark.may_arrive_after

    # --- what an answer teaches -------------------------------------------------------------------

    def answered(self, headers: Mapping[str, str], mark: Mark | None, via_gateway: bool, amount: float) -> None:
        """An HTTP answer other than a 429: the provider admitted the request; learn from its headers.

        ``mark`` is None for a request that was never booked (sent while no limit was known): it counts as sent
        now, which is late, so what is estimated from it errs low.
        """
        if mark is None:
            now = self._clock()
            mark = Mark(self._booked, 0.0, amount, now, now)
        self._remember_admitted(mark)
        self.consecutive_429 = self._evidence_in_a_row = 0
        seen = _read_headers(headers, self.name)
        if self.bucket is None:
            if seen.limit:
                self._set_limit(seen.limit, level=seen.remaining, learned=True)
                log.info("learned the provider's %s limit from its headers: %d per minute", self.name, seen.limit)
            else:
                return
        if seen.remaining is None:
            return
        self._heard = True
        self._last_remaining = (seen.remaining, mark)
        estimate = self._left_after(seen.remaining, mark)
        self.bucket.cap(max(estimate, 0.0))
        self._learn_window(seen, estimate, via_gateway)

    def _learn_window(self, seen: _Headers, estimate: float, via_gateway: bool) -> None:
        window = seen.window_s()
        if window is None:
            return
        if window < SHORT_WINDOW_S:
            self._pace(f"the provider's headers show a bucket that refills in {window:.1f}s: it enforces per second")
            return
        state = self.state
        if via_gateway or not state.headers_trusted or state.paced or state.hidden_limit is not None:
            return  # behind a gateway the headers describe the provider, not everything between us and it
        assert self.bucket is not None and state.limit is not None and seen.limit
        capacity = min(float(state.limit), seen.limit * min(window, 60.0) / 60)
        if capacity > self._capacity:
            self._capacity = capacity
            self._retune()
        self.bucket.raise_to(estimate)

    def _remember_admitted(self, mark: Mark) -> None:
        self._admitted.append((mark.send_at, mark.amount))
        horizon = self._clock() - ADMITTED_WINDOW_S - WINDOW_SLACK_S
        while self._admitted and self._admitted[0][0] < horizon:
            self._admitted.popleft()

    # --- what a 429 teaches -----------------------------------------------------------------------

    def throttled(self, headers: Mapping[str, str], body: str | None, mark: Mark | None) -> float:
        """A 429 for this budget: learn from it, pause the budget and return for how long."""
        now = self._clock()
        # Only a request booked after the last adaptation tests it: those booked before were scheduled the old way.
        evidence = mark is not None and mark.booked_at > self._last_adapted
        self._evidence_in_a_row += int(evidence)
        self.rate_limited += 1
        self.consecutive_429 += 1
        if self.bucket is not None:
            gateway = gateway_limit(body)
            if gateway is not None and gateway.budget == self.name:
                self._adopt_hidden(gateway.limit, f"a gateway's own limit of {gateway.limit:,}/min, named in its 429")
                self._last_adapted = now
            elif evidence and mark is not None:
                self._unexpected_429(headers, mark)
                self._last_adapted = now
            self._last_change = now
        hint = retry_hint(headers, body)
        pause = self._pause_for(hint if hint is not None else self._reset_hint(headers), now)
        if self.bucket is not None:
            self.bucket.pause(pause)
            if now > self._pause_end:  # a new pause, not an extension of the one under way
                self._paused_at = now
            self._pause_end = max(self._pause_end, now + pause)
        log.info("429 on %s: the fleet pauses this budget for %.1fs (%d in a row)", self.name, pause,
                 self.consecutive_429)
        return pause

    def _reset_hint(self, headers: Mapping[str, str]) -> float | None:
        reset = headers.get(f"x-ratelimit-reset-{self.name}")
        return parse_duration(reset) if reset else None

    def _pause_for(self, hint: float | None, now: float) -> float:
        """The server's hint, else a backoff that doubles with consecutive 429s; bounded by a revealed limit.

        With a revealed limit of N a minute, the window (fixed or sliding) frees no later than a minute after the
        earliest of the last N admissions, and no sooner either: a gateway's generic "retry after 60" may be far
        longer than that, a bare 429's backoff far shorter. Once that moment has passed and the 429s go on, the
        bound is disproven (someone else shares the limit) and the hint or backoff alone applies.
        """
        frees_in = None
        hidden = self.state.hidden_limit
        # A second tested 429 with no answer in between: the window did not free when the bound said (someone else
        # shares the limit, or its minutes are aligned elsewhere), so this time the hint alone applies.
        if hidden is not None and len(self._admitted) >= hidden and self._evidence_in_a_row < 2:
            frees_in = self._admitted[-hidden][0] + ADMITTED_WINDOW_S + WINDOW_SLACK_S - now
            frees_in = frees_in if frees_in > 0 else None
        if hint is not None:
            return hint if frees_in is None else min(hint, frees_in)
        backoff = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (self.consecutive_429 - 1))
        return backoff if frees_in is None else max(backoff, frees_in)

    def _unexpected_429(self, headers: Mapping[str, str], mark: Mark) -> None:
        """A 429 on a request booked within budget, after the last adaptation: the provider disagrees."""
        own = _header_int(headers, f"x-ratelimit-remaining-{self.name}")
        if own is not None and own < mark.amount and self.state.headers_trusted and not self.state.paced:
            # The provider's own accounting says the bucket is empty: the estimate was a little high at the end of
            # a bucket, which says nothing about the window it counts over. The pause is the correction.
            self.bucket.cap(own)
            return
        if self._headers_showed_budget(headers, mark):
            admitted = sum(amount for _, amount in self._admitted)
            self._adopt_hidden(max(1, math.floor(admitted)),
                               "429s while the provider's headers still showed budget: a limit they do not describe; "
                               f"{admitted:,.0f} were admitted in the last minute")
        elif not self.state.paced:
            self._pace("a 429 while the limiter had budget: the provider enforces over a shorter window")
        elif self.state.hidden_limit is not None:  # a revealed limit that still refuses: a little lower
            self.state = replace(self.state, hidden_limit=max(1, math.floor(self.state.hidden_limit * PACED_DECREASE)))
            self._retune()
        else:
            self.state = replace(self.state, scale=round(max(PACED_FLOOR, self.state.scale * PACED_DECREASE), 4))
            self._retune()

    def _headers_showed_budget(self, headers: Mapping[str, str], mark: Mark) -> bool:
        own = _header_int(headers, f"x-ratelimit-remaining-{self.name}")
        if own is not None:  # the 429 itself says what is left
            return own >= mark.amount
        if self._last_remaining is None or not self.state.headers_trusted:
            return False
        remaining, seen_at = self._last_remaining
        return self._left_after(remaining, seen_at) >= mark.amount

    # --- switching --------------------------------------------------------------------------------

    def _pace(self, reason: str) -> None:
        if self.state.paced:
            return
        log.warning("rate limiter: %s are now paced evenly for the rest of the run: %s", self.name, reason)
        self.state = replace(self.state, paced=True, reason=self.state.reason or reason)
        self._retune()

    def _adopt_hidden(self, limit: int, reason: str) -> None:
        state = self.state
        if state.limit is not None and limit >= state.limit and state.hidden_limit is None:
            self._pace(reason)
            return
        if state.hidden_limit is None:
            log.warning("rate limiter: %s: %s; pacing at %.0f/min from now on", self.name, reason,
                        min(limit, state.limit or limit) * HIDDEN_HEADROOM)
        self.state = replace(state, hidden_limit=limit, headers_trusted=False, paced=True,
                             reason=state.reason or reason)
        self._retune()

    def _probe(self, now: float) -> None:
        """After a quiet stretch, ask for a little more: a limit that rises is found again."""
        state = self.state
        if self.bucket is None or not state.paced:
            return
        if state.hidden_limit is not None and now - self._last_change >= HIDDEN_PROBE_S:
            raised = state.hidden_limit + max(1, round(state.hidden_limit * HIDDEN_PROBE_STEP))
            self.state = replace(state, hidden_limit=raised if raised < (state.limit or math.inf) else None)
        elif state.hidden_limit is None and state.scale < 1.0 and now - self._last_change >= PACED_PROBE_S:
            self.state = replace(state, scale=round(min(1.0, state.scale + PACED_PROBE_STEP), 4))
        else:
            return
        self._last_change = now
        self._retune()
