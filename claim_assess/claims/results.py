"""The result files of a run (spec section 3): results.parquet and line_items.parquet.

Both are written whole or not at all (``claim_assess.files``): a crash leaves the old files or the new ones.
Where they live is ``claim_assess.run.workspace``; their names are ``claim_assess.claims.result_files``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from claim_assess.claims.decision import APPROVE, DENY, FAILED, PARTIAL, REFER
from claim_assess.claims.pipeline import Assessment
from claim_assess.claims.result_files import LINE_ITEMS_FILE, RESULTS_FILE
from claim_assess.files import replacing

DECISIONS = (APPROVE, PARTIAL, DENY, REFER, FAILED)

_MONEY = pa.decimal128(12, 2)
_TS = pa.timestamp("ms", tz="UTC")

RESULTS_SCHEMA = pa.schema([
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("claim_id", pa.string(), nullable=False),
    pa.field("policy_id", pa.string()),
    pa.field("decision", pa.string(), nullable=False),
    pa.field("reasons", pa.list_(pa.string()), nullable=False),
    pa.field("payout", _MONEY, nullable=False),
    pa.field("currency", pa.string()),
    pa.field("claimed_total", _MONEY),
    pa.field("covered_total", _MONEY),
    pa.field("confidence", pa.float64()),
    pa.field("gate", pa.string()),
    pa.field("llm_calls", pa.int64(), nullable=False),
    pa.field("prompt_tokens", pa.int64(), nullable=False),
    pa.field("completion_tokens", pa.int64(), nullable=False),
    pa.field("started_at", _TS, nullable=False),
    pa.field("finished_at", _TS, nullable=False),
    pa.field("duration_ms", pa.int64(), nullable=False),
    pa.field("actor", pa.string(), nullable=False),
    pa.field("decision_id", pa.string()),
    pa.field("error", pa.string()),
])

LINE_ITEMS_SCHEMA = pa.schema([
    pa.field("run_id", pa.string(), nullable=False),
    pa.field("claim_id", pa.string(), nullable=False),
    pa.field("item_id", pa.string(), nullable=False),
    pa.field("status", pa.string(), nullable=False),
    pa.field("method", pa.string(), nullable=False),
    pa.field("category", pa.string()),
    pa.field("clause", pa.string()),
    pa.field("total", _MONEY, nullable=False),
    pa.field("llm_confidence", pa.float64()),
])


@dataclass(frozen=True)
class ResultRow:
    run_id: str
    claim_id: str
    policy_id: str | None
    decision: str
    reasons: tuple[str, ...]
    payout: Decimal
    currency: str | None
    claimed_total: Decimal | None
    covered_total: Decimal | None
    confidence: float | None
    gate: str | None
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    started_at: dt.datetime
    finished_at: dt.datetime
    duration_ms: int
    actor: str
    decision_id: str | None
    error: str | None


@dataclass(frozen=True)
class ItemRow:
    run_id: str
    claim_id: str
    item_id: str
    status: str
    method: str
    category: str | None
    clause: str | None
    total: Decimal
    llm_confidence: float | None


def _utc(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    # Stored with millisecond precision; truncate here so a row equals what reading the file gives back.
    value = value.astimezone(dt.timezone.utc)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def result_row(assessment: Assessment, *, run_id: str, started_at: dt.datetime, finished_at: dt.datetime,
               actor: str, decision_id: str | None, llm_calls: int, prompt_tokens: int,
               completion_tokens: int) -> ResultRow:
    started, finished = _utc(started_at, "started_at"), _utc(finished_at, "finished_at")
    is_failed = assessment.decision == FAILED
    return ResultRow(
        run_id=run_id,
        claim_id=assessment.claim_id,
        policy_id=assessment.policy_id,
        decision=assessment.decision,
        reasons=tuple(assessment.reasons),
        payout=assessment.payout,
        currency=assessment.currency,
        claimed_total=assessment.claimed_total,
        covered_total=assessment.covered_total,
        confidence=None if is_failed else assessment.confidence,
        gate=assessment.gate,
        llm_calls=llm_calls,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        started_at=started,
        finished_at=finished,
        duration_ms=max(0, round((finished - started).total_seconds() * 1000)),
        actor=actor,
        decision_id=None if is_failed else decision_id,  # spec: null for FAILED
        error=assessment.error if is_failed else None,
    )


def item_rows(run_id: str, assessment: Assessment) -> list[ItemRow]:
    return [ItemRow(run_id, assessment.claim_id, c.item_id, c.status, c.method, c.category, c.clause, c.total,
                    c.llm_confidence) for c in assessment.items]


def _table(rows: Sequence[Any], schema: pa.Schema) -> pa.Table:
    records = [asdict(row) for row in rows]
    for record in records:
        if "reasons" in record:
            record["reasons"] = list(record["reasons"])
    return pa.Table.from_pylist(records, schema=schema)


def write_results(run_dir: str | os.PathLike[str], rows: Sequence[ResultRow],
                  items: Sequence[ItemRow]) -> tuple[Path, Path]:
    """Both files in ``run_dir`` in one go (small runs and tests)."""
    directory = Path(run_dir)
    return write_results_in_batches(directory / RESULTS_FILE, directory / LINE_ITEMS_FILE, [(rows, items)])


def write_results_in_batches(results_path: str | os.PathLike[str], line_items_path: str | os.PathLike[str],
                             batches: Iterable[tuple[Sequence[ResultRow], Sequence[ItemRow]]]) -> tuple[Path, Path]:
    """Write results.parquet and line_items.parquet a batch (row group) at a time.

    Memory stays bounded by one batch however many claims a run has; both files appear whole or not at
    all (temp names, fsync, rename), so a crash never leaves a half file.
    """
    targets = (Path(results_path), Path(line_items_path))
    targets[0].parent.mkdir(parents=True, exist_ok=True)
    with replacing(*targets) as temps:
        with pq.ParquetWriter(temps[0], RESULTS_SCHEMA) as results, \
                pq.ParquetWriter(temps[1], LINE_ITEMS_SCHEMA) as lines:
            for rows, items in batches:
                results.write_table(_table(rows, RESULTS_SCHEMA))
                lines.write_table(_table(items, LINE_ITEMS_SCHEMA))
    return targets


def read_results(run_dir: str | os.PathLike[str]) -> tuple[list[dict], list[dict]]:
    directory = Path(run_dir)
    return (pq.read_table(directory / RESULTS_FILE).to_pylist(),
            pq.read_table(directory / LINE_ITEMS_FILE).to_pylist())
