"""AssessorActor: assesses claims, many at once, and appends each decision to the ledger.

Stateless between claims: everything a claim needs arrives with it (``ClaimEntry``) or once at start
(the policy book, through the object store), so a restarted actor can take any claim again; the
ledger's idempotency key makes a re-run claim cost calls, never a second decision.
The claim logic is ``claims.pipeline.assess_claim``; this shell wires in the LLM client, the shared
rate limiter, the ledger and the progress reports.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal


from claim_assess import __version__
from claim_assess.errors import CanonicalFormError, QuotaExhausted
from claim_assess.claims.dataset import ClaimEntry
from claim_assess.claims.pipeline import Assessment, assess_claim, failed
from claim_assess.claims.prompts import PROMPTS_DIGEST
from claim_assess.claims.results import ItemRow, ResultRow, item_rows, result_row
from claim_assess.ledger.canonical import digest
from claim_assess.ledger.records import DecisionDraft, DecisionRecord, format_confidence
from claim_assess.llm.advisor import ClaimAdvisor
from claim_assess.llm.attempts import AttemptRecord
from claim_assess.llm.client import LLMClient

from claim_assess.actors.metrics import RunMetrics
from claim_assess.actors.progress import AttemptTick, FinishedClaim, ProgressBatch
from claim_assess.actors.rate_limiter import RemoteLimiter
from claim_assess.actors.restarts import through_restart

RULES_VERSION = "claims-rules/1"
REPORT_EVERY_S = 0.25
LEDGER_RESTART_WAIT_S = 60.0


@dataclass(frozen=True)
class PolicyBook:
    """The dataset's policies as the assessors need them, shipped once through the object store."""

    policies: dict  # policy_id -> claims.models.Policy
    policy_errors: dict  # policy_id or location -> message
    policy_digests: dict  # policy_id -> H(canonical policy input)


@dataclass(frozen=True)
class LLMSettings:
    base_url: str
    model: str
    api_key: str
    timeout_s: float = 60.0

    def __repr__(self) -> str:  # never print the key (Ray shows actor arguments in logs and errors)
        return f"LLMSettings(base_url={self.base_url!r}, model={self.model!r}, api_key=<hidden>)"


@dataclass(frozen=True)
class ClaimOutcome:
    """What the driver keeps of one claim: its result row, its line items, and its ledger position."""

    row: ResultRow
    items: tuple[ItemRow, ...]
    seq: int
    requests: int
    rate_limited: int
    retries: int


class _Reporter:
    """Buffers progress events and sends them as one batch a few times a second."""

    def __init__(self, actor: str, progress, metrics: RunMetrics):
        self._actor, self._progress, self._metrics = actor, progress, metrics
        self._stages: list[tuple[str, str]] = []
        self._attempts: list[AttemptTick] = []
        self._finished: list[FinishedClaim] = []
        self._task: asyncio.Task | None = None

    def stage(self, claim_id: str, stage: str) -> None:
        self._stages.append((claim_id, stage))
        self._ensure_running()

    def attempt(self, record: AttemptRecord) -> None:
        self._metrics.attempt(record)
        tokens = (record.prompt_tokens or 0) + (record.completion_tokens or 0)
        self._attempts.append(AttemptTick(record.status, tokens, record.attempt > 1))
        self._ensure_running()

    def finished(self, claim: FinishedClaim) -> None:
        self._metrics.claim_decided(claim.decision)
        self._finished.append(claim)
        self._ensure_running()

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(REPORT_EVERY_S)
        self.flush()

    def flush(self) -> None:
        if not (self._stages or self._attempts or self._finished):
            return
        batch = ProgressBatch(self._actor, tuple(self._stages), tuple(self._attempts), tuple(self._finished))
        self._stages, self._attempts, self._finished = [], [], []
        # Fire and forget: a slow or restarting display must never hold up a claim.
        self._progress.report.remote(batch)


class AssessorActor:
    def __init__(self, name: str, run_id: str, book: PolicyBook, llm: LLMSettings, namespace: str):
        import ray  # the one Ray touch point of this class: find the run's singletons by name

        # By name, not by handle: a restarted assessor (or a restarted singleton) is found again.
        limiter = ray.get_actor("rate-limiter", namespace=namespace)
        ledger = ray.get_actor("ledger", namespace=namespace)
        progress = ray.get_actor("progress", namespace=namespace)
        self._name, self._run_id, self._book = name, run_id, book
        self._model = llm.model
        metrics = RunMetrics(run_id)
        self._client = LLMClient(
            base_url=llm.base_url,
            api_key=llm.api_key,
            model=llm.model,
            limiter=RemoteLimiter(limiter, on_inflight=lambda count: metrics.requests_in_flight(name, count)),
            timeout_s=llm.timeout_s,
        )
        self._ledger = ledger
        self._reporter = _Reporter(name, progress, metrics)

    def name(self) -> str:
        return self._name

    def node_id(self) -> str:
        """The Ray node this assessor runs on (placement checks, dashboard cross-reference)."""
        import ray

        return ray.get_runtime_context().get_node_id()

    async def assess(self, entry: ClaimEntry) -> ClaimOutcome:
        claim_id = entry.claim_id
        started_at, t0 = datetime.now(UTC), time.monotonic()
        reporter = self._reporter
        reporter.stage(claim_id, "start")
        advisor = ClaimAdvisor(self._client, run_id=self._run_id, claim_id=claim_id, on_attempt=reporter.attempt)
        try:
            assessment = await assess_claim(
                entry,
                self._book.policies,
                self._book.policy_errors,
                advisor,
                on_stage=lambda stage: reporter.stage(claim_id, stage),
            )
        except (QuotaExhausted, asyncio.CancelledError):
            reporter.stage(claim_id, "")
            reporter.flush()
            raise
        except Exception as exc:  # a bug must cost one claim, never the run: record it as FAILED
            assessment = failed(claim_id, entry_policy_id(entry), f"internal error: {type(exc).__name__}: {exc}")
        reporter.stage(claim_id, "ledger")
        attempts = advisor.attempts
        try:
            draft = self._draft(entry, assessment)
        except Exception as exc:  # same rule as above: a bug costs this claim, recorded as FAILED
            assessment = failed(claim_id, entry_policy_id(entry), f"internal error: {type(exc).__name__}: {exc}")
            draft = self._draft(entry, assessment)
        record = await self._append(draft, [a.to_json() for a in attempts])
        # The ledger is the truth: after a re-run it may hand back the decision made the first time.
        assessment = _as_recorded(assessment, record)
        finished_at = datetime.now(UTC)
        row = result_row(
            assessment,
            run_id=self._run_id,
            started_at=started_at,
            finished_at=finished_at,
            actor=self._name,
            decision_id=record.decision_id if record.decision != "FAILED" else None,
            llm_calls=len(attempts),
            prompt_tokens=sum(a.prompt_tokens or 0 for a in attempts),
            completion_tokens=sum(a.completion_tokens or 0 for a in attempts),
        )
        duration_ms = int((time.monotonic() - t0) * 1000)
        reporter.finished(FinishedClaim(claim_id, assessment.decision, duration_ms))
        return ClaimOutcome(
            row=row,
            items=tuple(item_rows(self._run_id, assessment)),
            seq=record.seq,
            requests=len(attempts),
            rate_limited=sum(1 for a in attempts if a.status == 429),
            retries=sum(1 for a in attempts if a.attempt > 1),
        )

    async def _append(self, draft: DecisionDraft, calls: list[dict]) -> DecisionRecord:
        """Append through a LedgerActor restart: it recovers from its files, and the key keeps one decision."""
        return await through_restart(lambda: self._ledger.append.remote(draft, calls), wait_s=LEDGER_RESTART_WAIT_S)

    def _draft(self, entry: ClaimEntry, assessment: Assessment) -> DecisionDraft:
        policy_digest = self._book.policy_digests.get(assessment.policy_id) if assessment.policy_id else None
        return decision_draft(self._run_id, self._name, self._model, entry, assessment, policy_digest)

    def flush(self) -> None:
        self._reporter.flush()


def decision_draft(run_id: str, actor: str, model: str | None, entry: ClaimEntry, assessment: Assessment,
                   policy_digest: str | None) -> DecisionDraft:
    """What the ledger records of one assessed (or FAILED) claim."""
    return DecisionDraft(
        run_id=run_id,
        claim_id=assessment.claim_id,
        policy_id=assessment.policy_id,
        decision=assessment.decision,
        reasons=assessment.reasons,
        payout=f"{assessment.payout:.2f}",
        currency=assessment.currency,
        confidence=format_confidence(assessment.confidence),
        input_digest=_input_digest(entry),
        policy_digest=policy_digest,
        versions={"engine": __version__, "rules": RULES_VERSION, "model": model, "prompts": PROMPTS_DIGEST},
        actor=actor,
        error=assessment.error,
    )


def _as_recorded(assessment: Assessment, record: DecisionRecord) -> Assessment:
    if (record.decision, tuple(record.reasons), f"{assessment.payout:.2f}") == (
        assessment.decision, assessment.reasons, record.payout
    ):
        return assessment
    return replace(
        assessment,
        decision=record.decision,
        reasons=tuple(record.reasons),
        payout=Decimal(record.payout),
        confidence=float(record.confidence) if record.confidence is not None else None,
        error=record.error,
    )


def _input_digest(entry: ClaimEntry) -> str | None:
    """H(canonical claim input); null when the input was unreadable or has no canonical form (NaN, huge ints)."""
    if entry.raw is None:
        return None
    try:
        return digest(entry.raw)
    except (CanonicalFormError, UnicodeError, ValueError):
        return None


def entry_policy_id(entry: ClaimEntry) -> str | None:
    value = entry.raw.get("policy_id") if isinstance(entry.raw, dict) else None
    return value if isinstance(value, str) else None
