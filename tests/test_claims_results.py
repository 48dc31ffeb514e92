from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from claim_assess.claims.coverage import ItemCoverage
from claim_assess.claims.pipeline import Assessment, failed
from claim_assess.claims.results import (
    LINE_ITEMS_SCHEMA,
    RESULTS_SCHEMA,
    item_rows,
    read_results,
    result_row,
    write_results,
)

T0 = dt.datetime(2026, 11, 29, 12, 0, 0, 123000, tzinfo=dt.timezone.utc)
T1 = T0 + dt.timedelta(milliseconds=1500)


def _assessment() -> Assessment:
    items = (ItemCoverage("L1", "covered", "rule", "engine", None, "oil pump", Decimal("1000.00"), None, None),
             ItemCoverage("L2", "not_covered", "llm", None, "E-4.2", "brake pads", Decimal("0.10"), 0.8, "r"))
    return Assessment("C-1", "P-1", "PARTIAL", ("PARTIALLY_COVERED", "DUPLICATE_LINE_ITEM"), Decimal("1234567890.05"),
                      "CHF", Decimal("1000.10"), Decimal("1000.00"), 0.9, "PASS", items, None, None)


def _row(assessment, **over):
    kwargs = dict(run_id="R1", started_at=T0, finished_at=T1, actor="assessor-0", decision_id="D-1", llm_calls=2,
                  prompt_tokens=300, completion_tokens=40)
    kwargs.update(over)
    return result_row(assessment, **kwargs)


def test_result_row_fields():
    row = _row(_assessment(), started_at=T0.astimezone(dt.timezone(dt.timedelta(hours=2))))
    assert row.duration_ms == 1500 and row.started_at.tzinfo == dt.timezone.utc
    assert row.decision_id == "D-1" and row.error is None and row.confidence == 0.9
    bad = _row(failed("C-2", None, "claim C-2: odometer_km: expected a non-negative integer"), decision_id="D-2")
    assert bad.decision_id is None and bad.confidence is None and bad.error.startswith("claim C-2")
    sub_ms = _row(_assessment(), started_at=T0.replace(microsecond=999999), finished_at=T1.replace(microsecond=1))
    assert sub_ms.started_at.microsecond == 999000 and sub_ms.finished_at.microsecond == 0
    with pytest.raises(ValueError, match="timezone-aware"):
        _row(_assessment(), started_at=T0.replace(tzinfo=None))


def test_round_trip_through_parquet_with_exact_decimals(tmp_path):
    ok, bad = _assessment(), failed("@claims.jsonl:2", None, "claims.jsonl line 2: not valid JSON")
    rows = [_row(ok), _row(bad, decision_id=None, llm_calls=0, prompt_tokens=0, completion_tokens=0)]
    items = item_rows("R1", ok) + item_rows("R1", bad)
    results_path, items_path = write_results(tmp_path / "runs" / "R1", rows, items)
    assert pq.read_schema(results_path).equals(RESULTS_SCHEMA)
    assert pq.read_schema(items_path).equals(LINE_ITEMS_SCHEMA)
    assert sorted(p.name for p in results_path.parent.iterdir()) == ["line_items.parquet", "results.parquet"]
    got_rows, got_items = read_results(tmp_path / "runs" / "R1")
    assert got_rows[0]["payout"] == Decimal("1234567890.05") and got_rows[0]["claimed_total"] == Decimal("1000.10")
    assert got_rows[0]["reasons"] == ["PARTIALLY_COVERED", "DUPLICATE_LINE_ITEM"]
    assert got_rows[0]["started_at"] == T0 and got_rows[0]["finished_at"] == T1
    assert got_rows[1]["decision"] == "FAILED" and got_rows[1]["payout"] == Decimal("0.00")
    assert got_rows[1]["claimed_total"] is None and got_rows[1]["confidence"] is None
    assert got_rows[1]["error"] == "claims.jsonl line 2: not valid JSON"
    assert got_items == [
        {"run_id": "R1", "claim_id": "C-1", "item_id": "L1", "status": "covered", "method": "rule",
         "category": "engine", "clause": None, "total": Decimal("1000.00"), "llm_confidence": None},
        {"run_id": "R1", "claim_id": "C-1", "item_id": "L2", "status": "not_covered", "method": "llm",
         "category": None, "clause": "E-4.2", "total": Decimal("0.10"), "llm_confidence": 0.8},
    ]


def test_write_replaces_previous_file_atomically(tmp_path):
    write_results(tmp_path, [_row(_assessment())], [])
    write_results(tmp_path, [], [])
    assert read_results(tmp_path) == ([], [])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


