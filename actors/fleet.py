"""The driver's facade over a run's actors: spawn them, stream claims through them, shut them down.

The driver never touches ObjectRefs: ``Fleet.run`` keeps a bounded number of claims in flight, hands
each finished ``ClaimOutcome`` to a callback, and turns Ray's errors into the project's own. A claim
whose assessor died is given to another assessor (the ledger's idempotency key keeps it to one
decision); one that kills assessors again and again is recorded as FAILED rather than stall the run.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import ray
from ray.exceptions import ActorDiedError, RayTaskError, TaskCancelledError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from claim_assess.errors import QuotaExhausted, RunError
from claim_assess.claims.dataset import ClaimEntry
from claim_assess.claims.pipeline import failed
from claim_assess.claims.results import item_rows, result_row
from claim_assess.ledger.checkpoints import CheckpointInfo
from claim_assess.llm.concurrency import AdmissionController
from claim_assess.llm.ratelimit import LimiterStats

from claim_assess.actors.assessor import AssessorActor, ClaimOutcome, LLMSettings, PolicyBook, decision_draft, entry_policy_id
from claim_assess.actors.dispatch import ACTOR_LOST, Dispatcher
from claim_assess.actors.ledger_actor import LedgerActor
from claim_assess.actors.metrics import RunMetrics
from claim_assess.actors.progress import ProgressActor, ProgressSnapshot
from claim_assess.actors.rate_limiter import RateLimiterActor

MAX_DEATHS_PER_CLAIM = 5

# Not zero, on purpose. Ray 2.60 hands a zero-resource actor's creation to a random node's scheduler,
# which ignores a soft node affinity: nine zero-CPU assessors aimed round-robin at three nodes landed at
# random (and a node was often left without any). With any resource request, creation goes through the
# driver's node, which honours the affinity. A thousandth of a CPU lets a thousand assessors share one core.
ASSESSOR_CPUS = 0.001


@dataclass(frozen=True)
class FleetConfig:
    run_id: str
    namespace: str
    actors: int
    claims_per_actor: int
    ledger_dir: str
    llm: LLMSettings
    rpm: int | None
    tpm: int | None
    driver_node_id: str


class StopRun(RunError):
    """The run stopped before every claim was decided (quota exhausted, ledger failure, interrupt)."""


class Fleet:
    def __init__(self, config: FleetConfig, book: PolicyBook):
        self.config = config
        cpus = ray.cluster_resources().get("CPU", 0.0)
        if config.actors * ASSESSOR_CPUS > cpus:
            raise RunError(f"--actors {config.actors} is too many for this cluster's {cpus:g} CPUs "
                           f"(each assessor reserves {ASSESSOR_CPUS} CPU): they could never all start")
        common = {"namespace": config.namespace, "lifetime": None}
        # Ledger: the only writer, on the driver's node where the workspace lives; restarted on a crash
        # (it recovers from its files), never two at once (its OS lock enforces that).
        self.ledger = (
            ray.remote(LedgerActor)
            .options(
                name="ledger",
                num_cpus=0,
                max_restarts=-1,
                max_concurrency=1000,
                scheduling_strategy=NodeAffinitySchedulingStrategy(config.driver_node_id, soft=False),
                **common,
            )
            .remote(config.ledger_dir)
        )
        self.limiter = (
            ray.remote(RateLimiterActor)
            .options(name="rate-limiter", num_cpus=0, max_restarts=-1, **common)
            .remote(config.rpm, config.tpm, config.run_id)
        )
        self.progress = (
            ray.remote(ProgressActor).options(name="progress", num_cpus=0, max_restarts=-1, **common).remote()
        )
        # The policy book goes inline with each assessor's creation (it is small): a restarted assessor
        # must find its constructor arguments again, which an object-store ref does not guarantee.
        self.assessor_names = tuple(f"assessor-{i + 1}" for i in range(config.actors))
        self.assessors = [
            ray.remote(AssessorActor)
            .options(
                name=name,
                num_cpus=ASSESSOR_CPUS,
                max_restarts=-1,
                max_concurrency=config.claims_per_actor + 8,
                scheduling_strategy=placement,
                **common,
            )
            .remote(name, config.run_id, book, config.llm, config.namespace)
            for name, placement in zip(self.assessor_names, _spread(config.actors, config.driver_node_id), strict=True)
        ]
        # Fail fast with a clear message if an actor cannot even start (bad ledger dir, locked ledger...).
        try:
            ray.get([self.ledger.height.remote()] + [a.name.remote() for a in self.assessors])
        except RayTaskError as exc:
            raise RunError(f"could not start the run's actors: {_cause(exc)}") from exc
        except ACTOR_LOST as exc:
            raise RunError(f"could not start the run's actors: {exc}") from exc

        # Admission: from one claim per assessor up to the configured maximum, steered by the limiter.
        self.admission = AdmissionController(minimum=config.actors, maximum=config.actors * config.claims_per_actor)
        self.metrics = RunMetrics(config.run_id)
        self.inflight = 0
        self.limiter_stats: LimiterStats = ray.get(self.limiter.stats.remote())

    def begin(self, total: int, endpoint: str, model: str) -> None:
        ray.get(
            self.progress.begin.remote(
                total,
                actors=self.assessor_names,
                rpm=self.config.rpm,
                tpm=self.config.tpm,
                endpoint=endpoint,
                model=model,
            )
        )

    def run(
        self,
        entries: Iterable[ClaimEntry],
        on_outcome: Callable[[ClaimOutcome], None],
        on_tick: Callable[[], None] = lambda: None,
        tick_s: float = 0.25,
        should_stop: Callable[[], bool] = lambda: False,
        per_claim_task_names: bool = True,
    ) -> None:
        """Assess ``entries``, keeping as many claims in flight as the admission controller allows."""
        pending: deque[tuple[ClaimEntry, int]] = deque((entry, 0) for entry in entries)
        inflight: dict[ray.ObjectRef, tuple[int, ClaimEntry, int]] = {}
        dispatch = Dispatcher(self.assessors, per_claim_task_names)
        stop_reason: str | None = None
        cancelled = False
        last_tick = 0.0
        while (pending and stop_reason is None) or inflight:
            while pending and stop_reason is None and len(inflight) < self.admission.limit:
                index = dispatch.pick()
                if index is None:
                    break  # every assessor is restarting: wait for a ping to come back
                entry, deaths = pending.popleft()
                inflight[dispatch.submit(index, entry)] = (index, entry, deaths)
            self.inflight = len(inflight)
            waiting = [*inflight, *dispatch.pings]
            ready, _ = ray.wait(waiting, num_returns=1, timeout=tick_s)
            if ready:
                more, _ = ray.wait([r for r in waiting if r not in ready], num_returns=len(waiting) - 1, timeout=0)
                ready += more
            for ref in ready:
                if ref not in inflight:
                    dispatch.answered(ref)
                    continue
                index, entry, deaths = inflight.pop(ref)
                dispatch.finished(index)
                try:
                    on_outcome(ray.get(ref))
                except TaskCancelledError:
                    pass  # stopped on purpose: the claim stays undecided for a resume
                except (*ACTOR_LOST, RayTaskError) as exc:
                    cause = _cause(exc) if isinstance(exc, RayTaskError) else exc
                    if isinstance(cause, QuotaExhausted):
                        stop_reason = stop_reason or str(cause)
                    elif isinstance(cause, asyncio.CancelledError) and stop_reason is not None:
                        pass
                    elif isinstance(cause, (*ACTOR_LOST, asyncio.CancelledError)):
                        # The assessor (or the ledger it was writing to) died mid-claim: give the claim to
                        # an assessor again; the ledger's idempotency key keeps it to one decision. Only a
                        # real death counts against the claim (a claim that kills every assessor it meets
                        # is a poison pill); "restarting, try later" does not.
                        if not isinstance(exc, RayTaskError):
                            dispatch.lost(index)
                        deaths += isinstance(cause, ActorDiedError)
                        if deaths <= MAX_DEATHS_PER_CLAIM:
                            pending.appendleft((entry, deaths))
                        else:
                            on_outcome(self._record_lost(entry, f"assessors died {deaths} times on this claim: {cause}"))
                    else:
                        stop_reason = stop_reason or f"{type(cause).__name__}: {cause}"
            self.inflight = len(inflight)
            if stop_reason is None and should_stop():
                stop_reason = "interrupted"
            if stop_reason is not None and not cancelled:
                # Stop admitting and cancel what is in flight; cancelled claims stay undecided for a resume.
                cancelled = True
                for ref in inflight:
                    ray.cancel(ref)
            now = time.monotonic()
            if now - last_tick >= tick_s:
                last_tick = now
                self._steer()
                if stop_reason is None and self.limiter_stats.quota_exhausted:
                    stop_reason = self.limiter_stats.quota_exhausted
                on_tick()
        if stop_reason is not None:
            raise StopRun(stop_reason)

    def decided_claims(self) -> set[str]:
        """Claims with a non-FAILED decision for this run in the ledger (what a resume may skip)."""
        return set(ray.get(self.ledger.decided_claims.remote(self.config.run_id)))

    def _steer(self) -> None:
        """Read the limiter once per tick and let the admission controller adjust the claims in flight."""
        try:
            self.limiter_stats = ray.get(self.limiter.stats.remote(), timeout=5)
        except (ray.exceptions.GetTimeoutError, *ACTOR_LOST):
            return  # a restarting limiter costs a moment of steering, never a claim
        limit = self.admission.observe(
            backlog_s=self.limiter_stats.backlog_s,
            rate_limited_total=self.limiter_stats.rate_limited,
            inflight=self.inflight,
        )
        self.metrics.admission_limit(limit)

    def _record_lost(self, entry: ClaimEntry, error: str) -> ClaimOutcome:
        """Record a claim no assessor could finish as FAILED, from the driver, so none goes unrecorded."""
        assessment = failed(entry.claim_id, entry_policy_id(entry), error)
        draft = decision_draft(self.config.run_id, "driver", self.config.llm.model, entry, assessment, None)
        record = ray.get(self.ledger.append.remote(draft, []))
        now = datetime.now(UTC)
        row = result_row(
            assessment,
            run_id=self.config.run_id,
            started_at=now,
            finished_at=now,
            actor="driver",
            decision_id=None,
            llm_calls=0,
            prompt_tokens=0,
            completion_tokens=0,
        )
        return ClaimOutcome(row, tuple(item_rows(self.config.run_id, assessment)), record.seq, 0, 0, 0)

    def snapshot(self) -> ProgressSnapshot | None:
        """Refresh the board with the ledger height and limiter state, then read it (None if unavailable)."""
        limiter = self.limiter_stats
        try:
            height = ray.get(self.ledger.height.remote(), timeout=5)
            self.metrics.ledger_height(height)
            self.progress.set_ledger_height.remote(height)
            self.progress.set_limiter.remote(rpm=limiter.rpm_limit, tpm=limiter.tpm_limit, paused_s=limiter.paused_for_s)
            return ray.get(self.progress.snapshot.remote(), timeout=5)
        except (ray.exceptions.GetTimeoutError, *ACTOR_LOST):
            return None

    def flush_progress(self) -> None:
        """Make the assessors send their last progress reports (best effort: the display only)."""
        try:
            ray.get([a.flush.remote() for a in self.assessors], timeout=10)
        except (ray.exceptions.GetTimeoutError, RayTaskError, *ACTOR_LOST):
            pass

    def close(self) -> tuple[int, CheckpointInfo | None]:
        """Flush the ledger, sign its final checkpoint, stop every actor of the run.

        Returns the ledger height and the newest checkpoint (None for an empty ledger)."""
        try:
            checkpoint = ray.get(self.ledger.checkpoint.remote())
            height = ray.get(self.ledger.close.remote())
        except (RayTaskError, *ACTOR_LOST) as exc:
            raise RunError(f"closing the ledger failed: {exc}") from exc
        finally:
            for handle in [*self.assessors, self.limiter, self.progress, self.ledger]:
                ray.kill(handle, no_restart=True)
        return height, checkpoint


def _spread(count: int, driver_node_id: str) -> list[NodeAffinitySchedulingStrategy]:
    """Assessors round-robin over the live nodes, workers first (the driver's node holds the ledger).

    Soft affinity: if a node is lost, Ray restarts its assessors wherever there is room. (Ray's "SPREAD"
    is best effort and, with zero-CPU actors, can leave a node empty.) It holds only because assessors
    ask for ASSESSOR_CPUS, not zero: see there.
    """
    nodes = sorted(
        (node["NodeID"] for node in ray.nodes() if node.get("Alive")),
        key=lambda node_id: (node_id == driver_node_id, node_id),
    )
    return [NodeAffinitySchedulingStrategy(nodes[i % len(nodes)], soft=True) for i in range(count)]


def _cause(exc: RayTaskError) -> BaseException:
    """The exception the remote code raised (Ray wraps it)."""
    return exc.cause if isinstance(exc.cause, BaseException) else exc
