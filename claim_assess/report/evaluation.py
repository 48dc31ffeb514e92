"""A run judged against its dataset's ground truth, with two yardsticks reported apart.

``rules``: DIR/expected.jsonl, the outcomes the rules decide alone (any difference is a defect).
``model``: DIR/scenarios.jsonl ``llm_expected``, what every claim should get when each LLM answer follows the
simulator's deterministic model (meaningful for simulator runs; against a real model it shows where it differs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claim_assess.claims.evaluation import Evaluation, evaluate, evaluation_to_json, read_expected, read_llm_expected


@dataclass(frozen=True)
class RunEvaluation:
    """The run judged against the dataset's rules (``rules``) and the simulator's model (``model``)."""

    run_id: str
    dataset: str
    rules: Evaluation | None
    model: Evaluation | None


def evaluate_run(rows: Iterable[Any] | Callable[[], Iterable[Any]], dataset_dir: Path,
                 run_id: str) -> RunEvaluation | None:
    """None when the dataset holds no expectations at all. ``rows``: the run's result rows (mappings, or records
    with ``claim_id``, ``decision``, ``reasons`` and ``payout``), or a callable streaming them afresh for each
    yardstick (so they need not all be in memory twice)."""
    expected, llm_expected = read_expected(dataset_dir), read_llm_expected(dataset_dir)
    if expected is None and llm_expected is None:
        return None
    # Each yardstick walks the rows once: a plain iterable is kept as a tuple, or a generator would reach the second
    # yardstick empty.
    kept = None if callable(rows) else tuple(rows)
    stream = rows if kept is None else (lambda: kept)
    return RunEvaluation(
        run_id=run_id,
        dataset=str(dataset_dir),
        rules=evaluate(stream(), expected) if expected is not None else None,
        model=evaluate(stream(), llm_expected) if llm_expected is not None else None,
    )


def run_evaluation_to_json(result: RunEvaluation) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "dataset": result.dataset,
        "expected": evaluation_to_json(result.rules) if result.rules else None,
        "simulator_model": evaluation_to_json(result.model) if result.model else None,
    }
