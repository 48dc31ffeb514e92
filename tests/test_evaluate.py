"""Evaluation against ground truth on a hand-made dataset whose scores are known."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from claim_assess.errors import InputError
from claim_assess.claims.evaluation import Expectation, evaluate, evaluation_to_json, read_expected, read_llm_expected
from claim_assess.claims.results import write_results
from claim_assess.drivers import evaluate as evaluate_cli
from test_report import ROWS


def result(claim_id: str, decision: str, reasons: list[str], payout: str) -> dict:
    return {"claim_id": claim_id, "decision": decision, "reasons": reasons, "payout": Decimal(payout)}


def expect(claim_id: str, decision: str, reason: str | None, payout: str | None) -> Expectation:
    return Expectation(claim_id, decision, reason, Decimal(payout) if payout is not None else None)


# Five expected claims. The run gets four decisions right (E-5 should be DENY, was REFER), three deciding
# reasons right (E-2 decided right for the wrong reason, E-5 wrong), payouts off by 0, 0, 10.50, 0, 200.
RUN = [
    result("E-1", "DENY", ["POLICY_INACTIVE"], "0.00"),
    result("E-2", "DENY", ["MILEAGE_EXCEEDED", "POLICY_INACTIVE"], "0.00"),
    result("E-3", "REFER", ["RECONCILIATION_FAILED"], "710.00"),
    result("E-4", "REFER", ["FLAG_SUSPECTED_INJECTION"], "448.53"),
    result("E-5", "REFER", ["LLM_REFER"], "200.00"),
    result("X-9", "APPROVE", ["COVERED"], "99.00"),  # nobody expected anything of it
]
EXPECTED = [
    expect("E-1", "DENY", "POLICY_INACTIVE", "0.00"),
    expect("E-2", "DENY", "POLICY_INACTIVE", "0.00"),
    expect("E-3", "REFER", "RECONCILIATION_FAILED", "699.50"),
    expect("E-4", "REFER", "FLAG_SUSPECTED_INJECTION", "448.53"),
    expect("E-5", "DENY", "NOT_COVERED", "0.00"),
    expect("E-6", "DENY", "POLICY_INACTIVE", "0.00"),  # the run never decided it
]


def test_scores_of_a_known_run() -> None:
    ev = evaluate(RUN, EXPECTED)
    assert (ev.expected, ev.compared, ev.missing) == (6, 5, ("E-6",))
    assert ev.decision_correct == 4 and ev.decision_accuracy == pytest.approx(0.8)
    assert ev.reason_correct == 3 and ev.reason_accuracy == pytest.approx(0.6)
    assert ev.confusion == {("DENY", "DENY"): 2, ("REFER", "REFER"): 2, ("DENY", "REFER"): 1}
    assert ev.decisions() == ("DENY", "REFER")
    assert ev.payout_compared == 5 and ev.payout_exact == 3
    assert ev.payout_max_abs_error == Decimal("200.00")
    assert ev.payout_mean_abs_error == Decimal("42.10")  # (10.50 + 200) / 5
    scores = {s.reason: (s.expected, s.decision_correct, s.reason_correct) for s in ev.per_reason}
    assert scores == {"POLICY_INACTIVE": (2, 2, 1), "RECONCILIATION_FAILED": (1, 1, 1),
                      "FLAG_SUSPECTED_INJECTION": (1, 1, 1), "NOT_COVERED": (1, 0, 0)}
    assert ev.per_reason[0].reason == "POLICY_INACTIVE"  # most claims first
    assert [m.claim_id for m in ev.mismatches] == ["E-2", "E-5"]
    assert (ev.mismatches[1].expected_decision, ev.mismatches[1].actual_decision) == ("DENY", "REFER")


def test_failed_claims_count_as_wrong_and_as_paying_nothing() -> None:
    ev = evaluate([result("E-1", "FAILED", [], "0.00")], [expect("E-1", "REFER", "HIGH_VALUE", "812.00")])
    assert ev.decision_accuracy == 0.0 and ev.confusion == {("REFER", "FAILED"): 1}
    assert ev.payout_max_abs_error == Decimal("812.00")


def test_nothing_to_compare() -> None:
    ev = evaluate([], [expect("E-1", "DENY", None, None)])
    assert ev.compared == 0 and ev.decision_accuracy is None and ev.reason_accuracy is None
    assert ev.payout_mean_abs_error is None and ev.missing == ("E-1",)


def test_json_form() -> None:
    data = evaluation_to_json(evaluate(RUN, EXPECTED))
    assert data["decision_accuracy"] == 0.8 and data["missing_claims"] == ["E-6"]
    assert data["payout"] == {"compared": 5, "exact": 3, "mean_abs_error": "42.10", "max_abs_error": "200.00"}
    assert {"expected": "DENY", "actual": "REFER", "claims": 1} in data["confusion"]
    json.dumps(data)  # serializable as is


def test_readers(tmp_path: Path) -> None:
    assert read_expected(tmp_path) is None and read_llm_expected(tmp_path) is None
    (tmp_path / "expected.jsonl").write_text(
        '{"claim_id": "E-1", "scenario": "s", "decision": "DENY", "reason": "POLICY_INACTIVE", "payout": "0.00"}\n\n')
    (tmp_path / "scenarios.jsonl").write_text(
        '{"claim_id": "E-1", "scenario": "s", "llm_expected": {"decision": "APPROVE", "reason": "COVERED", '
        '"payout": "12.50"}}\n')
    assert read_expected(tmp_path) == (Expectation("E-1", "DENY", "POLICY_INACTIVE", Decimal("0.00"), "s"),)
    assert read_llm_expected(tmp_path) == (Expectation("E-1", "APPROVE", "COVERED", Decimal("12.50"), "s"),)
    (tmp_path / "expected.jsonl").write_text('{"claim_id": "E-1"}\n')
    with pytest.raises(InputError, match="line 1"):
        read_expected(tmp_path)


def test_sample_expectations_are_read() -> None:
    sample = Path(__file__).resolve().parent.parent / "claim_assess" / "data" / "sample"
    expected, model = read_expected(sample), read_llm_expected(sample)
    assert expected is not None and model is not None
    assert len(expected) == sum(1 for line in (sample / "expected.jsonl").read_text().splitlines() if line.strip())
    assert len(model) == sum(1 for line in (sample / "scenarios.jsonl").read_text().splitlines() if line.strip())


def _dataset(root: Path) -> Path:
    root.mkdir()
    (root / "expected.jsonl").write_text(
        json.dumps({"claim_id": "C-3", "decision": "DENY", "reason": "POLICY_INACTIVE", "payout": "0.00"}) + "\n"
        + json.dumps({"claim_id": "C-4", "decision": "DENY", "reason": "MILEAGE_EXCEEDED", "payout": "0.00"}) + "\n")
    (root / "scenarios.jsonl").write_text(json.dumps(
        {"claim_id": "C-1", "llm_expected": {"decision": "APPROVE", "reason": "COVERED", "payout": "500.00"}}) + "\n")
    return root


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_results(tmp_path / "ws" / "runs" / "run-1", ROWS, [])
    dataset = _dataset(tmp_path / "data")
    code = evaluate_cli.main(["--input", str(dataset), "--run", "run-1", "--workspace", str(tmp_path / "ws"), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["expected"]["decision_accuracy"] == 0.5 and out["expected"]["decision_correct"] == 1
    assert out["simulator_model"]["decision_accuracy"] == 1.0 and out["simulator_model"]["compared"] == 1


def test_cli_text_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_results(tmp_path / "ws" / "runs" / "run-1", ROWS, [])
    dataset = _dataset(tmp_path / "data")
    assert evaluate_cli.main(["--input", str(dataset), "--run", "run-1", "--workspace", str(tmp_path / "ws")]) == 0
    out = capsys.readouterr().out
    assert "50.0%" in out and "vs the simulator's model" in out and "MILEAGE_EXCEEDED" in out
    assert evaluate_cli.main(["--input", str(dataset), "--run", "nope", "--workspace", str(tmp_path / "ws")]) == 2
    assert "nope" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert evaluate_cli.main(["--input", str(empty), "--run", "run-1", "--workspace", str(tmp_path / "ws")]) == 2
    assert "expected.jsonl" in capsys.readouterr().err


def test_rows_given_as_a_generator_reach_both_yardsticks(tmp_path):
    """A one-pass iterable of rows is kept for the second yardstick, not consumed by the first."""
    from claim_assess.report.evaluation import evaluate_run

    (tmp_path / "expected.jsonl").write_text(
        '{"claim_id": "C-1", "scenario": "s", "decision": "DENY", "reason": null, "payout": "0.00"}\n')
    (tmp_path / "scenarios.jsonl").write_text(
        '{"claim_id": "C-1", "scenario": "s", "policy_id": "P", "rule_decided": true, '
        '"llm_expected": {"decision": "DENY", "reason": null, "payout": "0.00"}}\n')
    rows = ({"claim_id": "C-1", "decision": "DENY", "reasons": [], "payout": "0.00"} for _ in range(1))
    result = evaluate_run(rows, tmp_path, "r")
    assert result is not None and result.rules is not None and result.model is not None
    assert result.model.missing == result.rules.missing
    assert not result.model.missing
