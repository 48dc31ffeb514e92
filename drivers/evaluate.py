"""python -m drivers.evaluate: compare a run's decisions with a dataset's ground truth.

    python -m drivers.evaluate --input DIR --run RUN_ID [--workspace DIR] [--json]

Scores the run against DIR/expected.jsonl (outcomes the rules decide alone) and, where present, against
DIR/scenarios.jsonl ``llm_expected`` ("vs the simulator's model": what every claim should get when each
LLM answer follows the simulator's deterministic model). Exit 0: evaluated; 2: the run, its results or
the expectations cannot be found or read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from claim_assess.errors import InputError
from claim_assess.claims.evaluation import Evaluation, evaluate, evaluation_to_json, read_expected, read_llm_expected
from claim_assess.claims.results import RESULTS_FILE, read_results

EXIT_OK, EXIT_USAGE = 0, 2
MAX_MISMATCHES_SHOWN = 20


@dataclass(frozen=True)
class RunEvaluation:
    """The run judged against the dataset's rules (``rules``) and the simulator's model (``model``)."""

    run_id: str
    dataset: str
    rules: Evaluation | None
    model: Evaluation | None


def run_rows(workspace: Path, run_id: str) -> list[dict]:
    run_dir = workspace / "runs" / run_id
    if not (run_dir / RESULTS_FILE).is_file():
        raise InputError(f"run {run_id!r} has no {RESULTS_FILE} in {run_dir}")
    rows, _ = read_results(run_dir)
    return rows


def evaluate_run(rows: Sequence[dict], dataset_dir: Path, run_id: str) -> RunEvaluation | None:
    """None when the dataset holds no expectations at all."""
    expected, llm_expected = read_expected(dataset_dir), read_llm_expected(dataset_dir)
    if expected is None and llm_expected is None:
        return None
    return RunEvaluation(
        run_id=run_id,
        dataset=str(dataset_dir),
        rules=evaluate(rows, expected) if expected is not None else None,
        model=evaluate(rows, llm_expected) if llm_expected is not None else None,
    )


def run_evaluation_to_json(result: RunEvaluation) -> dict:
    return {
        "run_id": result.run_id,
        "dataset": result.dataset,
        "expected": evaluation_to_json(result.rules) if result.rules else None,
        "simulator_model": evaluation_to_json(result.model) if result.model else None,
    }


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def render_evaluation(title: str, ev: Evaluation) -> RenderableType:
    head = Table.grid(padding=(0, 2))
    head.add_row("decision accuracy", f"{_percent(ev.decision_accuracy)}  ({ev.decision_correct} of {ev.compared})")
    head.add_row("deciding reason", f"{_percent(ev.reason_accuracy)}  ({ev.reason_correct} of {ev.reason_compared})")
    payout = "n/a" if ev.payout_mean_abs_error is None else (
        f"{ev.payout_exact} of {ev.payout_compared} exact · mean abs error {ev.payout_mean_abs_error:.2f}"
        f" · max {ev.payout_max_abs_error:.2f}")
    head.add_row("payout", payout)
    head.add_row("missing from the run", str(len(ev.missing)) + (f"  ({', '.join(ev.missing[:5])}"
                                                                   f"{' …' if len(ev.missing) > 5 else ''})"
                                                                   if ev.missing else ""))
    labels = ev.decisions()
    confusion = Table(title="expected (rows) × decided (columns)", title_justify="left")
    confusion.add_column("expected")
    for label in labels:
        confusion.add_column(label, justify="right")
    for exp in labels:
        confusion.add_row(exp, *(str(ev.confusion.get((exp, act), "")) or "·" for act in labels))
    reasons = Table(title="per expected reason code", title_justify="left")
    for name, justify in (("reason", "left"), ("claims", "right"), ("decision right", "right"),
                          ("reason right", "right")):
        reasons.add_column(name, justify=justify)  # type: ignore[arg-type]
    for score in ev.per_reason:
        reasons.add_row(score.reason, str(score.expected), f"{score.decision_correct} ({score.decision_accuracy:.0%})",
                        str(score.reason_correct))
    parts: list[RenderableType] = [Text(title, style="bold"), head, confusion, reasons]
    if ev.mismatches:
        wrong = Table(title=f"mismatches ({len(ev.mismatches)})", title_justify="left")
        for name in ("claim", "scenario", "expected", "decided", "payout expected / decided"):
            wrong.add_column(name)
        for m in ev.mismatches[:MAX_MISMATCHES_SHOWN]:
            wrong.add_row(m.claim_id, m.scenario or "", f"{m.expected_decision} {m.expected_reason or ''}",
                          f"{m.actual_decision} {m.actual_reason or ''}",
                          f"{m.expected_payout if m.expected_payout is not None else '—'} / "
                          f"{m.actual_payout if m.actual_payout is not None else '—'}")
        parts.append(wrong)
    return Group(*parts)


def render_run_evaluation(result: RunEvaluation) -> RenderableType:
    parts: list[RenderableType] = [Text(f"Run {result.run_id} vs {result.dataset}", style="bold underline")]
    if result.rules is not None:
        parts.append(render_evaluation("vs expected.jsonl (outcomes the rules decide)", result.rules))
    if result.model is not None:
        parts.append(render_evaluation("vs the simulator's model (scenarios.jsonl llm_expected)", result.model))
    return Group(*parts)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m drivers.evaluate", description=__doc__.strip().splitlines()[0])
    p.add_argument("--input", required=True, type=Path, help="dataset directory holding expected.jsonl")
    p.add_argument("--run", required=True, help="run id (WORKSPACE/runs/RUN_ID)")
    p.add_argument("--workspace", type=Path, default=Path("workspace"), help="default ./workspace")
    p.add_argument("--json", action="store_true", help="print a machine-readable evaluation")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        if not args.input.is_dir():
            raise InputError(f"--input {args.input} is not a directory")
        rows = run_rows(args.workspace, args.run)
        result = evaluate_run(rows, args.input, args.run)
    except (InputError, OSError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    if result is None:
        console.print(f"[red]error:[/] {args.input} has no expected.jsonl or scenarios.jsonl to compare with",
                      highlight=False, soft_wrap=True)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(run_evaluation_to_json(result), indent=2))
    else:
        Console().print(render_run_evaluation(result))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
