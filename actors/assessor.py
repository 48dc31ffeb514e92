"""AssessorActor: a Ray shell over ``claim_assess.run.assessor.ClaimAssessor``.

It finds the run's singletons by name (a restarted assessor, or a restarted singleton, is found again), builds
the LLM client over the shared limiter, and forwards ``assess`` to the plain class. Many claims run at once:
the actor is async, and each claim's coverage calls run concurrently.
"""

from __future__ import annotations

import asyncio
import logging

import ray

from claim_assess.actors.metrics import RunMetrics
from claim_assess.actors.rate_limiter import shared_limiter_client
from claim_assess.actors.restarts import through_restart
from claim_assess.claims.dataset import ClaimEntry
from claim_assess.ledger.group_commit import AppendBatcher
from claim_assess.logs import guard_secret
from claim_assess.run.assessor import ClaimAssessor, PolicyBook
from claim_assess.run.endpoint import LLMEndpoint
from claim_assess.run.outcome import ClaimOutcome
from claim_assess.run.progress import ProgressReporter

LEDGER_RESTART_WAIT_S = 60.0
log = logging.getLogger(__name__)


class AssessorActor:
    def __init__(self, name: str, run_id: str, book: PolicyBook, endpoint: LLMEndpoint, namespace: str,
                 reuse: list[ray.ObjectRef] | None = None):
        # Imported in the actor's process, not at the top: the driver imports this module to create the actor,
        # and the openai client is about a second of import it has no use for (it would delay the first call).
        from claim_assess.llm.client import LLMClient

        limiter = ray.get_actor("rate-limiter", namespace=namespace)
        ledger = ray.get_actor("ledger", namespace=namespace)
        progress = ray.get_actor("progress", namespace=namespace)
        guard_secret(endpoint.api_key)
        metrics = RunMetrics(run_id)
        client = LLMClient(
            base_url=endpoint.base_url, api_key=endpoint.api_key, model=endpoint.model, timeout_s=endpoint.timeout_s,
            limiter=shared_limiter_client(limiter, lambda count: metrics.requests_in_flight(name, count)),
            reuse=ray.get(reuse[0]) if reuse else None,  # --reuse-answers: fetched once, from this node's store
        )

        async def append_many(appends):
            # Through a LedgerActor restart: it recovers from its files, and the key keeps one decision per claim
            # of a batch sent again.
            return await through_restart(lambda: ledger.append_many.remote(appends), wait_s=LEDGER_RESTART_WAIT_S)

        append = AppendBatcher(append_many).append  # one actor call per batch of claims, not per claim

        async def log_calls(calls):
            return await ledger.append_calls.remote(calls)

        reporter = ProgressReporter(name, lambda batch: progress.report.remote(batch))
        self._metrics, self._flusher = metrics, None
        self._core = ClaimAssessor(name=name, run_id=run_id, book=book, client=client, append=append,
                                   reporter=reporter, metrics=metrics, log_calls=log_calls)
        log.info("%s ready on node %s (%s, model %s)", name, self.node_id()[:8], client.endpoint, client.model)

    def name(self) -> str:
        return self._core.name

    def node_id(self) -> str:
        """The Ray node this assessor runs on (placement checks, dashboard cross-reference)."""
        return ray.get_runtime_context().get_node_id()

    async def assess(self, entry: ClaimEntry) -> ClaimOutcome:
        if self._flusher is None:  # started here: the actor's event loop runs its calls, not its constructor
            self._flusher = asyncio.get_running_loop().create_task(self._metrics.keep_flushing())
        return await self._core.assess(entry)

    def flush(self) -> None:
        self._core.flush()
