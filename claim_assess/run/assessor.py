"""ClaimAssessor: what an assessor does with one claim, as plain async code (the Ray actor is a thin shell).

Stateless between claims: everything a claim needs arrives with it (``ClaimEntry``) or once at start (the
``PolicyBook``), so a restarted assessor can take any claim again; the ledger's idempotency key makes a
re-run claim cost calls, never a second decision. The claim logic is ``claims.pipeline.assess_claim``; this
class wires in the LLM client, the ledger append, the progress reports and the metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from claim_assess.claims.dataset import ClaimEntry, Dataset
from claim_assess.claims.models import Policy
from claim_assess.claims.pipeline import Assessment, assess_claim
from claim_assess.errors import EndpointError
from claim_assess.ledger.canonical import digest
from claim_assess.ledger.records import DecisionDraft, DecisionRecord
from claim_assess.llm.advisor import ClaimAdvisor
from claim_assess.llm.attempts import AttemptRecord
from claim_assess.run.outcome import ClaimOutcome, claim_outcome, decision_draft, failed_by_engine
from claim_assess.run.progress import FinishedClaim, ProgressReporter

if TYPE_CHECKING:  # only the assessor that builds the client imports openai (see actors.assessor)
    from claim_assess.llm.client import LLMClient

AppendDecision = Callable[[DecisionDraft, Sequence[Mapping[str, Any]]], Awaitable[DecisionRecord]]
LogCalls = Callable[[list[Mapping[str, Any]]], Awaitable[int]]
LOG_CALLS_WAIT_S = 10.0  # a claim cut short never holds up a stop for long, even with a ledger gone
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyBook:
    """The dataset's policies as the assessors need them, shipped once with each assessor."""

    policies: Mapping[str, Policy]
    policy_errors: Mapping[str, str]  # policy_id or location -> message
    policy_digests: Mapping[str, str]  # policy_id -> H(canonical policy input)

    @classmethod
    def of(cls, dataset: Dataset) -> PolicyBook:
        return cls(dict(dataset.policies), dict(dataset.policy_errors),
                   {pid: digest(raw) for pid, raw in dataset.raw_policies.items()})


class AssessorMetrics(Protocol):
    """May tally what it is told and hand it on later (actors.metrics does, once a second): ``flush`` sends it now."""

    def attempt(self, record: AttemptRecord) -> None: ...

    def claim_decided(self, decision: str) -> None: ...

    def flush(self) -> None: ...


class _NoMetrics:
    def attempt(self, record: AttemptRecord) -> None:
        pass

    def claim_decided(self, decision: str) -> None:
        pass

    def flush(self) -> None:
        pass


class ClaimAssessor:
    def __init__(self, *, name: str, run_id: str, book: PolicyBook, client: LLMClient, append: AppendDecision,
                 reporter: ProgressReporter, metrics: AssessorMetrics | None = None, log_calls: LogCalls | None = None,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 clock: Callable[[], float] = time.monotonic):
        self.name, self._run_id, self._book = name, run_id, book
        self._client, self._append, self._reporter = client, append, reporter
        self._metrics = metrics or _NoMetrics()
        self._log_calls = log_calls
        self._wall_clock, self._clock = wall_clock, clock

    async def assess(self, entry: ClaimEntry) -> ClaimOutcome:
        claim_id, reporter = entry.claim_id, self._reporter
        started_at, t0 = self._wall_clock(), self._clock()
        reporter.stage(claim_id, "start")
        advisor = ClaimAdvisor(self._client, run_id=self._run_id, claim_id=claim_id, on_attempt=self._attempted)
        try:
            assessment = await assess_claim(entry, self._book.policies, self._book.policy_errors, advisor,
                                            on_stage=lambda stage: reporter.stage(claim_id, stage))
        except (EndpointError, asyncio.CancelledError):
            # No fair try (the endpoint failed, or the run is stopping): no decision, the claim stays undecided.
            # Its attempts still go to the call log, so the trail shows what was tried.
            reporter.stage(claim_id, "")
            reporter.flush()
            await self._log_attempts(claim_id, advisor)
            raise
        except Exception as exc:  # a bug must cost one claim, never the run: record it as FAILED
            assessment = failed_by_engine(entry, f"internal error: {type(exc).__name__}: {exc}")
        reporter.stage(claim_id, "ledger")
        draft, assessment = self._draft(entry, assessment)
        record = await self._append(draft, [a.to_json() for a in advisor.attempts])
        outcome = claim_outcome(assessment, record, run_id=self._run_id, actor=self.name, started_at=started_at,
                                finished_at=self._wall_clock(), usage=advisor.usage)
        duration_ms = int((self._clock() - t0) * 1000)
        reporter.finished(FinishedClaim(claim_id, outcome.row.decision, duration_ms))
        self._metrics.claim_decided(outcome.row.decision)
        return outcome

    async def _log_attempts(self, claim_id: str, advisor: ClaimAdvisor) -> None:
        if self._log_calls is None or not advisor.attempts:
            return
        calls = [a.to_json() for a in advisor.attempts]
        try:  # shielded: a cancelled claim still logs what it sent; bounded, so a stop never waits on a lost ledger
            await asyncio.wait_for(asyncio.shield(self._log_calls(calls)), LOG_CALLS_WAIT_S)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the call log is evidence, not the decision: a stop goes on without it
            log.warning("the %d LLM attempts of claim %s cut short were not logged: %s", len(calls), claim_id, exc)

    def _attempted(self, record: AttemptRecord) -> None:
        self._reporter.attempt(record)
        self._metrics.attempt(record)

    def _draft(self, entry: ClaimEntry, assessment: Assessment) -> tuple[DecisionDraft, Assessment]:
        try:
            draft = decision_draft(self._run_id, self.name, self._client.model, entry, assessment,
                                   self._policy_digest(assessment))
        except Exception as exc:  # same rule: a bug in building the record costs this claim, recorded FAILED
            assessment = failed_by_engine(entry, f"internal error: {type(exc).__name__}: {exc}")
            draft = decision_draft(self._run_id, self.name, self._client.model, entry, assessment, None)
        return draft, assessment

    def _policy_digest(self, assessment: Assessment) -> str | None:
        return self._book.policy_digests.get(assessment.policy_id) if assessment.policy_id else None

    def flush(self) -> None:
        """Send what the progress reporter and the metrics still hold (the end of a run)."""
        self._reporter.flush()
        self._metrics.flush()
