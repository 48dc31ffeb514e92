"""``claim-assess report``: (re)write a run's self-contained report.html (``python -m drivers.report`` too).

The run's finalize step writes the report itself; this command rewrites it, for instance with another dataset's
expectations (``--input``) or after an older run gained a checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from claim_assess.drivers.options import EXIT_OK, EXIT_USAGE, add_run, add_workspace, command_parser, returns_exit_code
from claim_assess.errors import InputError
from claim_assess.report import write_report


def _parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "report", "Write a run's report.html: one self-contained page (no script, no fetch) that opens offline.",
        exit_codes=[(EXIT_OK, "written (the path is printed)"),
                    (EXIT_USAGE, "bad usage, no such run, or an unreadable workspace")],
        example="claim-assess report --run run-20261129T100000Z-ab12 --workspace workspace")
    add_run(parser, "the run to report on (WORKSPACE/runs/RUN_ID)", required=True)
    add_workspace(parser)
    parser.add_argument("--input", type=Path, metavar="DIR",
                        help="dataset whose expected.jsonl / scenarios.jsonl to evaluate against "
                             "(default: the run's own input)")
    return parser


@returns_exit_code
def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.input is not None and not args.input.is_dir():
        print(f"error: --input {args.input} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    try:
        path = write_report(args.workspace, args.run, input_dir=args.input)
    except (InputError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(path)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
