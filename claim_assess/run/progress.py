"""The live picture of a run: assessors report batches of events, the board serves frozen snapshots.

``ProgressBoard`` is plain Python (the ``progress`` actor is a thin shell over it, tests drive it with a fake
clock). ``ProgressReporter`` is the assessors' side: it buffers events and sends one ``ProgressBatch`` twice a
second, so the display costs the fleet next to nothing even at hundreds of requests per second. A batch carries each
claim's latest stage only: the board keeps no more than that (a claim's stages, in order, end in the last one).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from claim_assess.llm.accounting import LLMUsage
from claim_assess.llm.attempts import AttemptRecord

WINDOW_S = 60.0
# Every report is an actor message (about a millisecond of CPU at each end on the benchmark's machine) and the
# display redraws four times a second: two reports a second per assessor keep it current within half a second.
REPORT_EVERY_S = 0.5


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
    usage: LLMUsage = LLMUsage()  # the attempts that finished since the last batch
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
    llm: LLMUsage  # every attempt reported so far
    requests_per_min: float  # successful requests over the last minute (or since the start, if sooner)
    tokens_per_min: float
    ledger_height: int
    elapsed_s: float
    claims_per_s: float
    eta_s: float | None
    rpm_limit: int | None
    tpm_limit: int | None
    limiter_paused_s: float
    endpoint: str
    model: str
    limiter_pacing: tuple[str, ...] = ()  # how the limiter paces each budget, and why (Enforcement.describe)

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done)


@dataclass
class _ActorState:
    claims: dict[str, str] = field(default_factory=dict)


class ProgressBoard:
    """Collects progress batches; ``snapshot()`` is the only thing the driver reads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._started = clock()
        self._total = 0
        self._limits: tuple[int | None, int | None] = (None, None)
        self._endpoint = self._model = ""
        self._actors: dict[str, _ActorState] = {}
        self._decisions: Counter[str] = Counter()
        self._done_ids: set[str] = set()
        self._window: deque[tuple[float, int, int]] = deque()  # (time, successes, tokens) per batch
        self._llm = LLMUsage()
        self._ledger_height = 0
        self._paused_s = 0.0
        self._pacing: tuple[str, ...] = ()

    def begin(self, total: int, *, actors: tuple[str, ...] = (), rpm: int | None = None, tpm: int | None = None,
              endpoint: str = "", model: str = "") -> None:
        self._started = self._clock()
        self._total = total
        self._limits = (rpm, tpm)
        self._endpoint, self._model = endpoint, model
        for name in actors:
            self._actors.setdefault(name, _ActorState())

    def report(self, batch: ProgressBatch) -> None:
        state = self._actors.setdefault(batch.actor, _ActorState())
        for claim_id, stage in batch.stages:
            if stage:
                state.claims[claim_id] = stage
            else:
                state.claims.pop(claim_id, None)
        if batch.usage.requests or batch.usage.reused:
            self._llm += batch.usage
            self._window.append((self._clock(), batch.usage.succeeded, batch.usage.tokens))
        for claim in batch.finished:
            state.claims.pop(claim.claim_id, None)
            # A claim re-run after an actor restart must not be counted twice.
            if claim.claim_id not in self._done_ids:
                self._done_ids.add(claim.claim_id)
                self._decisions[claim.decision] += 1

    def set_total(self, total: int) -> None:
        """The run's total as it becomes known: a streamed dataset is counted beside the run, exact at its end."""
        self._total = total

    def set_ledger_height(self, height: int) -> None:
        self._ledger_height = height

    def set_limiter(self, *, rpm: int | None, tpm: int | None, paused_s: float,
                    pacing: tuple[str, ...] = ()) -> None:
        self._limits = (rpm, tpm)
        self._paused_s = paused_s
        self._pacing = pacing

    def snapshot(self) -> ProgressSnapshot:
        now = self._clock()
        while self._window and self._window[0][0] < now - WINDOW_S:
            self._window.popleft()
        elapsed = max(now - self._started, 1e-9)
        per_min = 60.0 / min(elapsed, WINDOW_S)
        done = len(self._done_ids)
        claims_per_s = done / elapsed
        remaining = max(0, self._total - done)
        return ProgressSnapshot(
            total=self._total,
            done=done,
            by_decision=tuple(sorted(self._decisions.items())),
            actors=tuple(ActorView(name, tuple(s.claims.items())) for name, s in sorted(self._actors.items())),
            llm=self._llm,
            requests_per_min=sum(ok for _, ok, _ in self._window) * per_min,
            tokens_per_min=sum(tokens for _, _, tokens in self._window) * per_min,
            ledger_height=self._ledger_height,
            elapsed_s=elapsed,
            claims_per_s=claims_per_s,
            eta_s=remaining / claims_per_s if claims_per_s > 0 else None,
            rpm_limit=self._limits[0],
            tpm_limit=self._limits[1],
            limiter_paused_s=self._paused_s,
            endpoint=self._endpoint,
            model=self._model,
            limiter_pacing=self._pacing,
        )


class ProgressReporter:
    """Buffers one assessor's events and sends them as one batch every ``every_s`` (fire and forget)."""

    def __init__(self, actor: str, send: Callable[[ProgressBatch], None], every_s: float = REPORT_EVERY_S):
        self._actor, self._send, self._every = actor, send, every_s
        self._stages: dict[str, str] = {}  # claim_id -> its latest stage since the last batch, in first-seen order
        self._usage = LLMUsage()
        self._finished: list[FinishedClaim] = []
        self._task: asyncio.Task | None = None

    def stage(self, claim_id: str, stage: str) -> None:
        self._stages[claim_id] = stage
        self._ensure_running()

    def attempt(self, record: AttemptRecord) -> None:
        self._usage += record.usage
        self._ensure_running()

    def finished(self, claim: FinishedClaim) -> None:
        self._finished.append(claim)
        self._ensure_running()

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._every)
        self.flush()

    def flush(self) -> None:
        if not (self._stages or self._usage.requests or self._usage.reused or self._finished):
            return
        batch = ProgressBatch(self._actor, tuple(self._stages.items()), self._usage, tuple(self._finished))
        self._stages, self._usage, self._finished = {}, LLMUsage(), []
        # A slow or restarting display must never hold up a claim: the sender does not wait for an answer.
        self._send(batch)
