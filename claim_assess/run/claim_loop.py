"""The claim loop: keep the fleet busy within the admission limit, act on what comes back, stop cleanly.

Plain code over a ``Fleet`` protocol (actors/fleet.py implements it on Ray; tests use a fake), so the rules a run
lives by are tested without a cluster:

- never more claims in flight than the admission controller allows (it follows the shared limiter's backlog
  and 429s, so calls of claims already started go before new claims);
- a lost claim goes back to the head of the queue, a poison pill is recorded FAILED, a quota error, a refused
  configuration or a broken ledger stops the run, a claim the endpoint failed goes to the back of the queue and
  the same on several claims in a row stops the run (``claim_assess.run.failures``);
- the claims are pulled from ``entries`` (a stream over the dataset) only as they are admitted; a read error
  part-way starts no new claim, lets those in flight finish, and returns why (a resume carries on);
- on a stop (those, or Ctrl-C through ``should_stop``) no new claim starts and those in flight are cancelled;
  the loop returns once every claim in flight has come back, with the reason it stopped (None: all done).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol

from claim_assess.claims.dataset import ClaimEntry
from claim_assess.errors import InputError
from claim_assess.llm.concurrency import AdmissionController
from claim_assess.llm.ratelimit import LimiterStats
from claim_assess.run.failures import Action, ClaimError, EndpointHealth, verdict
from claim_assess.run.outcome import ClaimOutcome

Ticket = Hashable


class Fleet(Protocol):
    def submit(self, entry: ClaimEntry) -> Ticket | None:
        """Start assessing ``entry``; None while no assessor can take a claim (all restarting)."""

    def wait(self, timeout_s: float) -> list[tuple[Ticket, ClaimOutcome | ClaimError]]:
        """The claims that came back within ``timeout_s`` (an empty list when none did)."""

    def cancel(self, tickets: Iterable[Ticket]) -> None:
        """Cancel these claims; each still comes back through ``wait`` (as CANCELLED or with its outcome)."""

    def record_failed(self, entry: ClaimEntry, error: str) -> ClaimOutcome:
        """Decide ``entry`` FAILED in the ledger from the driver (no assessor could finish it)."""

    def limiter_stats(self) -> LimiterStats | None:
        """The shared limiter's state, or None when it cannot be read right now."""


@dataclass(frozen=True)
class Queued:
    entry: ClaimEntry
    deaths: int = 0
    unavailable: int = 0


@dataclass(frozen=True)
class Tick:
    inflight: int
    admission_limit: int
    limiter: LimiterStats | None


def run_claims(fleet: Fleet, entries: Iterable[ClaimEntry], *, admission: AdmissionController,
               on_outcome: Callable[[ClaimOutcome], None], on_tick: Callable[[Tick], None] = lambda tick: None,
               should_stop: Callable[[], bool] = lambda: False, tick_s: float = 0.25,
               clock: Callable[[], float] = time.monotonic) -> str | None:
    """Assess ``entries`` through ``fleet``; returns why the run stopped early, or None when every claim came back."""
    loop = _ClaimLoop(fleet, entries, admission, on_outcome)
    last_tick = float("-inf")
    while loop.busy:
        loop.admit()
        for ticket, result in fleet.wait(tick_s):
            loop.finished(ticket, result)
        if loop.stop is None and should_stop():
            loop.stop = "interrupted"
        loop.cancel_on_stop()
        if clock() - last_tick >= tick_s:
            last_tick = clock()
            on_tick(loop.steer())
    return loop.stop


class _ClaimLoop:
    def __init__(self, fleet: Fleet, entries: Iterable[ClaimEntry], admission: AdmissionController,
                 on_outcome: Callable[[ClaimOutcome], None]):
        self._fleet, self._admission, self._on_outcome = fleet, admission, on_outcome
        # The dataset is pulled a claim at a time as the admission limit allows, never read ahead: a million
        # claims cost the driver what is in flight. Lost claims wait in front of it, to go first.
        self._source = iter(entries)
        self._next: Queued | None = None
        self._retry: deque[Queued] = deque()
        self._later: deque[tuple[int, Queued]] = deque()  # (its turn: claims taken by then, the claim)
        self._from: deque | None = None  # where the claim _peek chose comes from (None: the dataset)
        self._taken = 0
        self._inflight: dict[Ticket, Queued] = {}
        self._cancelled = False
        self._health = EndpointHealth()
        self.stop: str | None = None

    @property
    def busy(self) -> bool:
        return bool(self._inflight) or (self.stop is None and self._peek() is not None)

    def _peek(self) -> Queued | None:
        """The claim that goes next (a lost one first, then one the endpoint failed once its turn came), reading
        one more from the dataset when needed."""
        if self._retry:
            self._from = self._retry
            return self._retry[0]
        if self._later and self._later[0][0] <= self._taken:
            self._from = self._later
            return self._later[0][1]
        self._from = None
        if self._next is None and self._source is not None:
            try:
                entry = next(self._source, None)
            except InputError as exc:  # the dataset failed part-way (a disk, the network): stop, keep what is done
                self.stop = self.stop or f"the dataset could not be read further: {exc}"
                self._cancelled = True  # the claims in flight are paid for already: let them finish
                entry = None
            if entry is None:
                self._source = None
            else:
                self._next = Queued(entry)
        if self._next is None and self._later:  # the dataset is done: the claims waiting for their turn go now
            self._from = self._later
            return self._later[0][1]
        return self._next

    def _take(self) -> Queued:
        self._taken += 1
        if self._from is self._retry:
            return self._retry.popleft()
        if self._from is self._later:
            return self._later.popleft()[1]
        taken, self._next = self._next, None
        assert taken is not None
        return taken

    def _try_later(self, queued: Queued) -> None:
        """Again, but after as many other claims as can be in flight: a blip has passed by then, and a dead
        endpoint shows on other claims (``EndpointHealth``) before this one spends its retries on it again."""
        self._later.append((self._taken + self._admission.limit, queued))

    def admit(self) -> None:
        while self.stop is None and len(self._inflight) < self._admission.limit:
            queued = self._peek()
            if queued is None or self.stop is not None:
                return
            ticket = self._fleet.submit(queued.entry)
            if ticket is None:
                return  # every assessor is restarting: wait for one to come back
            self._inflight[ticket] = self._take()

    def finished(self, ticket: Ticket, result: ClaimOutcome | ClaimError) -> None:
        queued = self._inflight.pop(ticket)
        if isinstance(result, ClaimOutcome):
            if result.usage.succeeded:
                self._health.answered()
            self._on_outcome(result)
            return
        decided = verdict(result, deaths=queued.deaths, stopping=self.stop is not None,
                          unavailable=queued.unavailable)
        if decided.unavailable > queued.unavailable:
            self.stop = self.stop or self._health.gave_up(queued.entry.claim_id, decided.reason)
        if decided.action is Action.RETRY:
            self._retry.appendleft(Queued(queued.entry, decided.deaths, decided.unavailable))
        elif decided.action is Action.REQUEUE and self.stop is None:
            self._try_later(Queued(queued.entry, decided.deaths, decided.unavailable))
        elif decided.action is Action.RECORD_FAILED:
            self._on_outcome(self._fleet.record_failed(queued.entry, decided.reason))
        elif decided.action is Action.STOP:
            self.stop = self.stop or decided.reason

    def cancel_on_stop(self) -> None:
        if self.stop is not None and not self._cancelled:
            self._cancelled = True  # cancelled claims stay undecided for a resume
            self._fleet.cancel(list(self._inflight))

    def steer(self) -> Tick:
        """Once per tick: let the admission controller follow the limiter; a quota error seen there stops the run."""
        stats = self._fleet.limiter_stats()
        if stats is not None:
            self._admission.observe(backlog_s=stats.backlog_s, rate_limited_total=stats.rate_limited,
                                    inflight=len(self._inflight))
            if self.stop is None and stats.quota_exhausted:
                self.stop = stats.quota_exhausted
        return Tick(len(self._inflight), self._admission.limit, stats)
