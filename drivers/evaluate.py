"""``claim-assess evaluate``: compare a run's decisions with a dataset's ground truth (``python -m drivers.evaluate``).

Scores the run against DIR/expected.jsonl (outcomes the rules decide alone) and, where present, against
DIR/scenarios.jsonl ``llm_expected`` (what every claim should get when each LLM answer follows the simulator's
deterministic model).
"""

from __future__ import annotations

import json
import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from claim_assess.drivers.options import EXIT_OK, EXIT_USAGE, add_run, add_workspace, command_parser, returns_exit_code
from claim_assess.errors import InputError
from claim_assess.report.data import run_rows
from claim_assess.report.evaluation import evaluate_run, run_evaluation_to_json
from claim_assess.report.evaluation_console import render_run_evaluation


def _parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "evaluate", "Compare a run's decisions with a dataset's expected outcomes.",
        exit_codes=[(EXIT_OK, "evaluated"),
                    (EXIT_USAGE, "bad usage, or the run, its results or the expectations cannot be found or read")],
        example="claim-assess evaluate --run run-20261129T100000Z-ab12 --input claim_assess/data/sample")
    add_run(parser, "the run to evaluate (WORKSPACE/runs/RUN_ID)", required=True)
    parser.add_argument("--input", required=True, type=Path, metavar="DIR",
                        help="dataset directory holding expected.jsonl and/or scenarios.jsonl")
    add_workspace(parser)
    parser.add_argument("--json", action="store_true", help="print a machine-readable evaluation")
    return parser


@returns_exit_code
def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if not args.input.is_dir():
            raise InputError(f"--input {args.input} is not a directory")
        result = evaluate_run(run_rows(args.workspace, args.run), args.input, args.run)
        if result is None:
            raise InputError(f"{args.input} has no expected.jsonl or scenarios.jsonl to compare with")
    except (InputError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(run_evaluation_to_json(result), indent=2))
    else:
        Console().print(render_run_evaluation(result))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
