"""Judging a run against ground truth: decisions, reasons and payouts compared with what was expected.

`evaluate` is pure: rows are result records (``claims.results.read_results`` dicts, or anything with
``claim_id``, ``decision``, ``reasons`` and ``payout``), expectations are ``{claim_id, decision, reason,
payout}`` records as in a dataset's ``expected.jsonl``. A claim counts once: the run's rows are keyed by
claim id, an expected claim the run never decided is *missing* (reported, not scored), a decided claim
nobody expected anything of is *unexpected* (ignored). The reason check compares the deciding reason,
the first of ``reasons`` (spec 2.6: the deciding code comes first).

The two readers at the bottom load expectations from a dataset directory: ``expected.jsonl`` (outcomes
the rules alone decide) and ``scenarios.jsonl`` ``llm_expected`` (the outcome when every LLM answer
follows the simulator's deterministic model), which is a different yardstick and is reported apart.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from claim_assess.errors import InputError
from claim_assess.claims.decision import APPROVE, DENY, FAILED, PARTIAL, REFER

EXPECTED_FILE, SCENARIOS_FILE = "expected.jsonl", "scenarios.jsonl"
DECISION_ORDER = (APPROVE, PARTIAL, DENY, REFER, FAILED)


@dataclass(frozen=True)
class Expectation:
    claim_id: str
    decision: str
    reason: str | None
    payout: Decimal | None
    scenario: str | None = None


@dataclass(frozen=True)
class ReasonScore:
    """How the run did on the claims expected to be decided for one reason code."""

    reason: str
    expected: int  # claims compared whose expected reason is this code
    decision_correct: int
    reason_correct: int  # the run's deciding reason equals this code

    @property
    def decision_accuracy(self) -> float:
        return self.decision_correct / self.expected if self.expected else 0.0


@dataclass(frozen=True)
class Mismatch:
    claim_id: str
    scenario: str | None
    expected_decision: str
    actual_decision: str
    expected_reason: str | None
    actual_reason: str | None
    expected_payout: Decimal | None
    actual_payout: Decimal | None


@dataclass(frozen=True)
class Evaluation:
    expected: int  # expectations given (one per claim)
    compared: int  # expected claims the run decided
    decision_correct: int
    reason_compared: int  # compared claims with an expected reason
    reason_correct: int
    # (expected decision, actual decision) -> claims; only pairs that occurred
    confusion: Mapping[tuple[str, str], int]
    payout_compared: int  # compared claims with an expected payout
    payout_exact: int
    payout_mean_abs_error: Decimal | None
    payout_max_abs_error: Decimal | None
    per_reason: tuple[ReasonScore, ...]
    missing: tuple[str, ...]  # expected claim ids the run did not decide
    mismatches: tuple[Mismatch, ...]  # compared claims whose decision or deciding reason differs

    @property
    def decision_accuracy(self) -> float | None:
        return self.decision_correct / self.compared if self.compared else None

    @property
    def reason_accuracy(self) -> float | None:
        return self.reason_correct / self.reason_compared if self.reason_compared else None

    def decisions(self) -> tuple[str, ...]:
        """Decision labels present in the confusion table, in the usual order, unknown labels last."""
        seen = {d for pair in self.confusion for d in pair}
        return tuple(d for d in DECISION_ORDER if d in seen) + tuple(sorted(seen - set(DECISION_ORDER)))


def _field(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _deciding_reason(reasons: Any) -> str | None:
    if not reasons:
        return None
    return str(list(reasons)[0])


def evaluate(rows: Iterable[Any], expected: Iterable[Expectation]) -> Evaluation:
    by_claim = {str(_field(row, "claim_id")): row for row in rows}
    expectations = list({e.claim_id: e for e in expected}.values())
    confusion: Counter[tuple[str, str]] = Counter()
    missing: list[str] = []
    mismatches: list[Mismatch] = []
    errors: list[Decimal] = []
    decision_correct = reason_correct = 0
    per_reason: dict[str, list[int]] = {}

    for exp in expectations:
        row = by_claim.get(exp.claim_id)
        if row is None:
            missing.append(exp.claim_id)
            continue
        decision = str(_field(row, "decision"))
        reason = _deciding_reason(_field(row, "reasons"))
        payout = _decimal(_field(row, "payout"))
        confusion[(exp.decision, decision)] += 1
        decision_ok, reason_ok = decision == exp.decision, exp.reason is not None and reason == exp.reason
        decision_correct += decision_ok
        reason_correct += reason_ok
        if exp.reason is not None:
            score = per_reason.setdefault(exp.reason, [0, 0, 0])
            score[0] += 1
            score[1] += decision_ok
            score[2] += reason_ok
        if exp.payout is not None:
            # A FAILED row or one without a payout has paid nothing: that is the error to count.
            errors.append(abs((payout if payout is not None else Decimal("0.00")) - exp.payout))
        if not decision_ok or (exp.reason is not None and not reason_ok):
            mismatches.append(Mismatch(exp.claim_id, exp.scenario, exp.decision, decision, exp.reason, reason,
                                       exp.payout, payout))

    return Evaluation(
        expected=len(expectations),
        compared=len(expectations) - len(missing),
        decision_correct=decision_correct,
        reason_compared=sum(counts[0] for counts in per_reason.values()),
        reason_correct=reason_correct,
        confusion=dict(confusion),
        payout_compared=len(errors),
        payout_exact=sum(1 for e in errors if e == 0),
        payout_mean_abs_error=(sum(errors, Decimal("0")) / len(errors)).quantize(Decimal("0.01")) if errors else None,
        payout_max_abs_error=max(errors) if errors else None,
        per_reason=tuple(ReasonScore(code, *counts) for code, counts in
                         sorted(per_reason.items(), key=lambda kv: (-kv[1][0], kv[0]))),
        missing=tuple(sorted(missing)),
        mismatches=tuple(sorted(mismatches, key=lambda m: m.claim_id)),
    )


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def evaluation_to_json(ev: Evaluation) -> dict[str, Any]:
    money = lambda v: None if v is None else f"{v:.2f}"  # noqa: E731
    return {
        "expected": ev.expected,
        "compared": ev.compared,
        "missing": len(ev.missing),
        "missing_claims": list(ev.missing),
        "decision_accuracy": _ratio(ev.decision_accuracy),
        "decision_correct": ev.decision_correct,
        "reason_accuracy": _ratio(ev.reason_accuracy),
        "reason_compared": ev.reason_compared,
        "reason_correct": ev.reason_correct,
        "confusion": [{"expected": e, "actual": a, "claims": n} for (e, a), n in sorted(ev.confusion.items())],
        "payout": {"compared": ev.payout_compared, "exact": ev.payout_exact,
                   "mean_abs_error": money(ev.payout_mean_abs_error),
                   "max_abs_error": money(ev.payout_max_abs_error)},
        "per_reason": [{"reason": s.reason, "expected": s.expected, "decision_correct": s.decision_correct,
                        "reason_correct": s.reason_correct, "decision_accuracy": _ratio(s.decision_accuracy)}
                       for s in ev.per_reason],
        "mismatches": [{"claim_id": m.claim_id, "scenario": m.scenario, "expected_decision": m.expected_decision,
                        "actual_decision": m.actual_decision, "expected_reason": m.expected_reason,
                        "actual_reason": m.actual_reason, "expected_payout": money(m.expected_payout),
                        "actual_payout": money(m.actual_payout)} for m in ev.mismatches],
    }


# --- reading expectations ----------------------------------------------------------------------------


def _jsonl(path: Path) -> Iterable[tuple[int, dict]]:
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path} line {number}: not valid JSON: {exc.msg}") from exc
            if not isinstance(value, dict):
                raise InputError(f"{path} line {number}: expected a JSON object")
            yield number, value


def _expectation(record: Mapping[str, Any], where: str, scenario: str | None) -> Expectation:
    claim_id, decision = record.get("claim_id"), record.get("decision")
    if not isinstance(claim_id, str) or not isinstance(decision, str):
        raise InputError(f"{where}: needs string claim_id and decision")
    reason = record.get("reason")
    return Expectation(claim_id, decision, reason if isinstance(reason, str) else None,
                       _decimal(record.get("payout")), scenario)


def read_expected(dataset_dir: str | Path) -> tuple[Expectation, ...] | None:
    """The dataset's expected.jsonl, or None when it has none."""
    path = Path(dataset_dir) / EXPECTED_FILE
    if not path.is_file():
        return None
    return tuple(_expectation(rec, f"{path} line {n}", rec.get("scenario") if isinstance(rec.get("scenario"), str)
                              else None) for n, rec in _jsonl(path))


def read_llm_expected(dataset_dir: str | Path) -> tuple[Expectation, ...] | None:
    """scenarios.jsonl's ``llm_expected`` outcomes (the simulator's model), or None when absent."""
    path = Path(dataset_dir) / SCENARIOS_FILE
    if not path.is_file():
        return None
    out = []
    for n, rec in _jsonl(path):
        outcome = rec.get("llm_expected")
        if not isinstance(outcome, Mapping):
            continue
        scenario = rec.get("scenario") if isinstance(rec.get("scenario"), str) else None
        out.append(_expectation({**outcome, "claim_id": rec.get("claim_id")}, f"{path} line {n}", scenario))
    return tuple(out)
