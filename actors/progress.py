"""ProgressActor: collects what the assessors report and serves immutable snapshots to the display.

The class is plain Python (no Ray import): ``actors.fleet`` wraps it with ``ray.remote`` at start-up, the
way ``ray.util.queue`` wraps its ``_QueueActor``; tests drive it directly with a fake clock.

Assessors send ``ProgressBatch``es (a few per second each, not one message per event) so the display
costs the fleet next to nothing even at hundreds of requests per second.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_S = 60.0


@dataclass(frozen=True)
class AttemptTick:
    """One finished HTTP attempt, as much as the display needs of it."""

    status: int | str
    tokens: int
    retry: bool


@dataclass(frozen=True)
class FinishedClaim:
    claim_id: str
    decision: str
    duration_ms: int


@dataclass(frozen=True)
class ProgressBatch:
    """What one assessor did since its last report."""

    actor: str
    stages: tuple[tuple[str, str], ...] = ()  # (claim_id, stage); stage "" means the claim left the actor
    attempts: tuple[AttemptTick, ...] = ()
    finished: tuple[FinishedClaim, ...] = ()


@dataclass(frozen=True)
class ActorView:
    name: str
    claims: tuple[tuple[str, str], ...]  # (claim_id, stage) in arrival order


@dataclass(frozen=True)
class ProgressSnapshot:
    total: int
    done: int
    by_decision: tuple[tuple[str, int], ...]
    actors: tuple[ActorView, ...]
    requests: int
    requests_per_min: float
    tokens: int
    tokens_per_min: float
    rate_limited: int
    retries: int
    errors: int
    ledger_height: int
    elapsed_s: float
    claims_per_s: float
    eta_s: float | None
    rpm_limit: int | None
    tpm_limit: int | None
    limiter_paused_s: float
    endpoint: str
    model: str

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done)


@dataclass
class _ActorState:
    claims: dict[str, str] = field(default_factory=dict)


class ProgressActor:
    """Collects progress events; ``snapshot()`` is the only thing the driver reads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._started = clock()
        self._total = 0
        self._limits: tuple[int | None, int | None] = (None, None)
        self._endpoint = self._model = ""
        self._actors: dict[str, _ActorState] = {}
        self._decisions: Counter[str] = Counter()
        self._done_ids: set[str] = set()
        self._window: deque[tuple[float, int]] = deque()  # (time, tokens) of successful attempts
        self._requests = self._tokens = self._rate_limited = self._retries = self._errors = 0
        self._ledger_height = 0
        self._paused_s = 0.0

    def begin(
        self,
        total: int,
        *,
        actors: tuple[str, ...] = (),
        rpm: int | None = None,
        tpm: int | None = None,
        endpoint: str = "",
        model: str = "",
    ) -> None:
        self._started = self._clock()
        self._total = total
        self._limits = (rpm, tpm)
        self._endpoint, self._model = endpoint, model
        for name in actors:
            self._actors.setdefault(name, _ActorState())

    def report(self, batch: ProgressBatch) -> None:
        now = self._clock()
        state = self._actors.setdefault(batch.actor, _ActorState())
        for claim_id, stage in batch.stages:
            if stage:
                state.claims[claim_id] = stage
            else:
                state.claims.pop(claim_id, None)
        for tick in batch.attempts:
            self._requests += 1
            self._retries += tick.retry
            if tick.status == 429:
                self._rate_limited += 1
            elif tick.status == 200:
                self._tokens += tick.tokens
                self._window.append((now, tick.tokens))
            else:
                self._errors += 1
        for claim in batch.finished:
            state.claims.pop(claim.claim_id, None)
            # A claim re-run after an actor restart must not be counted twice.
            if claim.claim_id not in self._done_ids:
                self._done_ids.add(claim.claim_id)
                self._decisions[claim.decision] += 1

    def set_ledger_height(self, height: int) -> None:
        self._ledger_height = height

    def set_limiter(self, *, rpm: int | None, tpm: int | None, paused_s: float) -> None:
        self._limits = (rpm, tpm)
        self._paused_s = paused_s

    def snapshot(self) -> ProgressSnapshot:
        now = self._clock()
        while self._window and self._window[0][0] < now - WINDOW_S:
            self._window.popleft()
        elapsed = max(now - self._started, 1e-9)
        per_min = 60.0 / min(elapsed, WINDOW_S)
        done = len(self._done_ids)
        claims_per_s = done / elapsed
        remaining = max(0, self._total - done)
        eta = remaining / claims_per_s if claims_per_s > 0 else None
        return ProgressSnapshot(
            total=self._total,
            done=done,
            by_decision=tuple(sorted(self._decisions.items())),
            actors=tuple(
                ActorView(name, tuple(state.claims.items())) for name, state in sorted(self._actors.items())
            ),
            requests=self._requests,
            requests_per_min=len(self._window) * per_min,
            tokens=self._tokens,
            tokens_per_min=sum(tokens for _, tokens in self._window) * per_min,
            rate_limited=self._rate_limited,
            retries=self._retries,
            errors=self._errors,
            ledger_height=self._ledger_height,
            elapsed_s=elapsed,
            claims_per_s=claims_per_s,
            eta_s=eta,
            rpm_limit=self._limits[0],
            tpm_limit=self._limits[1],
            limiter_paused_s=self._paused_s,
            endpoint=self._endpoint,
            model=self._model,
        )
