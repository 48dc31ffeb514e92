"""RayFleet: the driver's facade over a run's actors. It spawns them, takes claims, hands back what finished.

The driver never touches an ObjectRef: ``submit`` returns a ticket, ``wait`` returns outcomes or
``ClaimError``s (Ray's exceptions are mapped onto the project's at this edge, in ``_as_claim_error``), and the
claim loop (``claim_assess.run.claim_loop``) decides what to do with them. Actors are named in the run's
namespace: ``assessor-1..N``, ``ledger``, ``rate-limiter``, ``progress``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import ray
from ray.exceptions import ActorDiedError, GetTimeoutError, RayTaskError, TaskCancelledError

from claim_assess.actors.assessor import AssessorActor
from claim_assess.actors.dispatch import ACTOR_LOST, Dispatcher
from claim_assess.actors.ledger_actor import LedgerActor
from claim_assess.actors.metrics import RunMetrics
from claim_assess.actors.placement import ASSESSOR_CPUS, check_capacity, ledger_placement, spread
from claim_assess.actors.progress import ProgressActor
from claim_assess.actors.rate_limiter import RateLimiterActor
from claim_assess.claims.dataset import ClaimEntry
from claim_assess.errors import EndpointRejected, EndpointUnavailable, QuotaExhausted, RunError
from claim_assess.ledger.checkpoints import CheckpointInfo
from claim_assess.ledger.store import OpenFileLedger
from claim_assess.llm.accounting import LLMUsage
from claim_assess.llm.ratelimit import LimiterStats
from claim_assess.llm.reuse import ReuseIndex
from claim_assess.run.assessor import PolicyBook
from claim_assess.run.claim_loop import Tick
from claim_assess.run.endpoint import LLMEndpoint
from claim_assess.run.failures import ClaimError, Lost
from claim_assess.run.outcome import ClaimOutcome, claim_outcome, decision_draft, failed_by_engine
from claim_assess.run.progress import ProgressSnapshot

log = logging.getLogger(__name__)
CALL_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class FleetConfig:
    run_id: str
    namespace: str
    actors: int
    claims_per_actor: int
    ledger_dir: str
    endpoint: LLMEndpoint
    rpm: int | None
    tpm: int | None
    driver_node_id: str
    per_claim_task_names: bool = True
    learned_limits: tuple[dict, ...] = ()  # what an interrupted run's limiter learned (a resume starts there)


class RayFleet:
    def __init__(self, config: FleetConfig, book: PolicyBook, reuse: ReuseIndex | None = None):
        check_capacity(config.actors)
        self.config = config
        common = {"namespace": config.namespace, "lifetime": None, "max_restarts": -1}
        # The only writer, on the driver's node where the workspace lives; restarted on a crash (it recovers
        # from its files), never two at once (its OS lock enforces that).
        self.ledger = ray.remote(LedgerActor).options(
            name="ledger", num_cpus=0, max_concurrency=1000, scheduling_strategy=ledger_placement(config.driver_node_id),
            **common).remote(OpenFileLedger(config.ledger_dir))
        self.limiter = ray.remote(RateLimiterActor).options(name="rate-limiter", num_cpus=0, **common).remote(
            config.rpm, config.tpm, config.run_id, learned=config.learned_limits)
        self.progress = ray.remote(ProgressActor).options(name="progress", num_cpus=0, **common).remote()
        # The policy book goes inline with each assessor's creation (it is small): a restarted assessor must find
        # its constructor arguments again, which an object-store ref does not guarantee.
        # The --reuse-answers index can be large (tens of MB for 100,000 calls): put in the object store once, so a
        # node holds one copy whatever its number of assessors, and passed inside a list, so Ray hands each assessor
        # the ref and not the value inline. The fleet keeps the ref for the run's life: the driver owns the object, so
        # a restarted assessor finds it again (the guarantee the book gets by going inline).
        self._reuse_ref = [ray.put(reuse)] if reuse else []
        self.assessor_names = tuple(f"assessor-{i + 1}" for i in range(config.actors))
        self.assessors = [
            ray.remote(AssessorActor).options(
                name=name, num_cpus=ASSESSOR_CPUS, max_concurrency=config.claims_per_actor + 8,
                scheduling_strategy=placement, **common,
            ).remote(name, config.run_id, book, config.endpoint, config.namespace, self._reuse_ref)
            for name, placement in zip(self.assessor_names, spread(config.actors, config.driver_node_id), strict=True)
        ]
        self._started()
        self.metrics = RunMetrics(config.run_id)
        self._dispatch = Dispatcher(self.assessors, config.per_claim_task_names)
        self._tickets: dict[ray.ObjectRef, int] = {}  # in flight: ref -> assessor index

    def _started(self) -> None:
        """Fail fast with a clear message if an actor cannot even start (bad ledger dir, locked ledger...)."""
        try:
            ray.get([self.ledger.height.remote()] + [a.name.remote() for a in self.assessors])
        except RayTaskError as exc:
            raise RunError(f"could not start the run's actors: {_cause(exc)}") from exc
        except ACTOR_LOST as exc:
            raise RunError(f"could not start the run's actors: {exc}") from exc

    def begin(self, total: int, endpoint: str, model: str) -> None:
        ray.get(self.progress.begin.remote(total, actors=self.assessor_names, rpm=self.config.rpm,
                                           tpm=self.config.tpm, endpoint=endpoint, model=model))

    def set_total(self, total: int) -> None:
        self.progress.set_total.remote(total)  # fire and forget: the next snapshot shows it

    # --- the claim loop's Fleet protocol ----------------------------------------------------------------

    def submit(self, entry: ClaimEntry) -> ray.ObjectRef | None:
        index = self._dispatch.pick()
        if index is None:
            return None  # every assessor is restarting: wait for a ping to come back
        ref = self._dispatch.submit(index, entry)
        self._tickets[ref] = index
        return ref

    def wait(self, timeout_s: float) -> list[tuple[ray.ObjectRef, ClaimOutcome | ClaimError]]:
        waiting = [*self._tickets, *self._dispatch.pings]
        if not waiting:
            return []
        ready, rest = ray.wait(waiting, num_returns=1, timeout=timeout_s)
        if ready and rest:
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        finished = []
        for ref in ready:
            if ref not in self._tickets:
                self._dispatch.answered(ref)
                continue
            index = self._tickets.pop(ref)
            self._dispatch.finished(index)
            finished.append((ref, self._result(ref, index)))
        return finished

    def _result(self, ref: ray.ObjectRef, index: int) -> ClaimOutcome | ClaimError:
        try:
            return ray.get(ref)
        except (TaskCancelledError, *ACTOR_LOST, RayTaskError) as exc:
            error = _as_claim_error(exc)
            if error.kind is Lost.LOST and not isinstance(exc, RayTaskError):
                log.warning("%s was lost mid-claim (%s); its claims go to the others", self.assessor_names[index],
                            error.message)
                self._dispatch.lost(index)  # the assessor itself: out of rotation until it answers a ping
            return error

    def cancel(self, tickets: Iterable[ray.ObjectRef]) -> None:
        # Not recursive: Ray's default also cancels the tasks a claim started, among them the ledger calls that log
        # a cut-short claim's attempts (README: "its attempts are still logged") and batches of others' decisions.
        for ref in tickets:
            ray.cancel(ref, recursive=False)

    def record_failed(self, entry: ClaimEntry, error: str) -> ClaimOutcome:
        log.warning("claim %s recorded FAILED by the driver: %s", entry.claim_id, error)
        assessment = failed_by_engine(entry, error)
        draft = decision_draft(self.config.run_id, "driver", self.config.endpoint.model, entry, assessment, None)
        record = ray.get(self.ledger.append.remote(draft, []))
        now = datetime.now(UTC)
        return claim_outcome(assessment, record, run_id=self.config.run_id, actor="driver", started_at=now,
                             finished_at=now, usage=LLMUsage())

    def log_calls(self, calls: list) -> int:
        """LLM calls no decision references (the run's preflight), appended to the ledger's call log."""
        return ray.get(self.ledger.append_calls.remote(calls))

    def limiter_stats(self) -> LimiterStats | None:
        try:
            return ray.get(self.limiter.stats.remote(), timeout=CALL_TIMEOUT_S)
        except (GetTimeoutError, *ACTOR_LOST):
            return None  # a restarting limiter costs a moment of steering, never a claim

    # --- around the loop ---------------------------------------------------------------------------------

    def decided_claims(self) -> set[str]:
        """Claims with a non-FAILED decision for this run in the ledger (what a resume may skip)."""
        return set(ray.get(self.ledger.decided_claims.remote(self.config.run_id)))

    def snapshot(self, tick: Tick) -> ProgressSnapshot | None:
        """Refresh the board with the ledger height and limiter state, then read it (None if unavailable)."""
        self.metrics.admission_limit(tick.admission_limit)
        limiter = tick.limiter
        try:
            height = ray.get(self.ledger.height.remote(), timeout=CALL_TIMEOUT_S)
            self.metrics.ledger_height(height)
            self.progress.set_ledger_height.remote(height)
            if limiter is not None:
                self.progress.set_limiter.remote(rpm=limiter.rpm_limit, tpm=limiter.tpm_limit,
                                                 paused_s=limiter.paused_for_s,
                                                 pacing=tuple(e.describe() for e in limiter.enforcement))
            return ray.get(self.progress.snapshot.remote(), timeout=CALL_TIMEOUT_S)
        except (GetTimeoutError, *ACTOR_LOST):
            return None

    def flush_progress(self) -> None:
        """Make the assessors send their last progress reports (best effort: the display only)."""
        try:
            ray.get([a.flush.remote() for a in self.assessors], timeout=10)
        except (GetTimeoutError, RayTaskError, *ACTOR_LOST):
            pass

    def close(self) -> tuple[int, CheckpointInfo | None]:
        """Flush the ledger, sign its final checkpoint, stop every actor of the run; (height, newest checkpoint)."""
        try:
            checkpoint = ray.get(self.ledger.checkpoint.remote())
            height = ray.get(self.ledger.close.remote())
        except (RayTaskError, *ACTOR_LOST) as exc:
            raise RunError(f"closing the ledger failed: {exc}") from exc
        finally:
            for handle in [*self.assessors, self.limiter, self.progress, self.ledger]:
                ray.kill(handle, no_restart=True)
        return height, checkpoint


def _as_claim_error(exc: BaseException) -> ClaimError:
    """Ray's ways of not returning an outcome, as the claim loop's ``ClaimError``."""
    if isinstance(exc, TaskCancelledError):
        return ClaimError(Lost.CANCELLED, "cancelled")
    cause = _cause(exc) if isinstance(exc, RayTaskError) else exc
    if isinstance(cause, QuotaExhausted):
        return ClaimError(Lost.QUOTA, str(cause))
    if isinstance(cause, EndpointRejected):
        return ClaimError(Lost.REJECTED, str(cause))
    if isinstance(cause, EndpointUnavailable):
        return ClaimError(Lost.UNAVAILABLE, str(cause))
    if isinstance(cause, asyncio.CancelledError):
        return ClaimError(Lost.INTERRUPTED, "cancelled inside the assessor")
    if isinstance(cause, ACTOR_LOST):
        # The assessor, or the ledger it was writing to, died or is restarting.
        return ClaimError(Lost.LOST, str(cause), died=isinstance(cause, ActorDiedError))
    return ClaimError(Lost.ERROR, f"{type(cause).__name__}: {cause}")


def _cause(exc: RayTaskError) -> BaseException:
    """The exception the remote code raised (Ray wraps it)."""
    return exc.cause if isinstance(exc.cause, BaseException) else exc
