"""What a claim leaves behind: its decision draft for the ledger, and the outcome the driver keeps.

One place builds both, for a claim an assessor finished and for one the driver records as FAILED because no
assessor could finish it (its assessors kept dying): the ledger record and the result row always agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from claim_assess import __version__
from claim_assess.claims.dataset import ClaimEntry
from claim_assess.claims.decision import FAILED, RULES_VERSION
from claim_assess.claims.pipeline import Assessment, failed
from claim_assess.claims.prompts import PROMPTS_DIGEST
from claim_assess.claims.results import ItemRow, ResultRow, item_rows, result_row
from claim_assess.errors import CanonicalFormError
from claim_assess.ledger.canonical import digest
from claim_assess.ledger.records import ITEM_FIELDS, DecisionDraft, DecisionRecord, format_confidence, items_digest
from claim_assess.llm.accounting import LLMUsage


@dataclass(frozen=True)
class ClaimOutcome:
    """What the driver keeps of one claim: its result row, its line items, its ledger position, its LLM use."""

    row: ResultRow
    items: tuple[ItemRow, ...]
    seq: int
    usage: LLMUsage
    failure: str | None = None  # a FAILED claim's cause (claims.pipeline.FAILURE_CAUSES); None otherwise


def decision_draft(run_id: str, actor: str, model: str | None, entry: ClaimEntry, assessment: Assessment,
                   policy_digest: str | None, *, known_input_digest: str | None = None) -> DecisionDraft:
    """What the ledger records of one assessed (or FAILED) claim. ``known_input_digest``: the entry's
    ``input_digest``, when the caller has computed it already (replay checks it first)."""
    return DecisionDraft(
        run_id=run_id,
        claim_id=assessment.claim_id,
        policy_id=assessment.policy_id,
        decision=assessment.decision,
        reasons=assessment.reasons,
        payout=f"{assessment.payout:.2f}",
        currency=assessment.currency,
        confidence=format_confidence(assessment.confidence),
        input_digest=known_input_digest if known_input_digest is not None else input_digest(entry),
        policy_digest=policy_digest,
        versions={"engine": __version__, "rules": RULES_VERSION, "model": model, "prompts": PROMPTS_DIGEST},
        actor=actor,
        error=assessment.error,
        covered_total=_money(assessment.covered_total),
        items_digest=_items_digest(run_id, assessment),
    )


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _items_digest(run_id: str, assessment: Assessment) -> str:
    """items_digest over the claim's line_items.parquet rows themselves (``results.item_rows``), ITEM_FIELDS of each
    as the record's text: money with 2 decimals, the confidence with 3."""
    return items_digest([{name: _as_text(getattr(row, name)) for name in ITEM_FIELDS}
                         for row in item_rows(run_id, assessment)])


def _as_text(value: object) -> object:
    if isinstance(value, Decimal):
        return _money(value)
    return format_confidence(value) if isinstance(value, float) else value


def claim_outcome(assessment: Assessment, record: DecisionRecord, *, run_id: str, actor: str,
                  started_at: datetime, finished_at: datetime, usage: LLMUsage) -> ClaimOutcome:
    """The outcome of a claim whose decision the ledger acknowledged as ``record``.

    The ledger is the truth: after a re-run it may hand back the decision made the first time, and the row
    then shows that one.
    """
    assessment = as_recorded(assessment, record)
    row = result_row(
        assessment,
        run_id=run_id,
        started_at=started_at,
        finished_at=finished_at,
        actor=actor,
        decision_id=record.decision_id if record.decision != FAILED else None,
        llm_calls=usage.requests,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
    )
    failure = (assessment.failure or "engine") if row.decision == FAILED else None
    return ClaimOutcome(row, tuple(item_rows(run_id, assessment)), record.seq, usage, failure)


def failed_by_engine(entry: ClaimEntry, error: str) -> Assessment:
    """FAILED for a reason of the engine's, not the claim's input: a bug while assessing it (it costs this claim,
    never the run), or assessors that kept dying on it (the driver records it so no claim goes unrecorded)."""
    return failed(entry.claim_id, entry_policy_id(entry), error, cause="engine")


def as_recorded(assessment: Assessment, record: DecisionRecord) -> Assessment:
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


def input_digest(entry: ClaimEntry) -> str | None:
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
