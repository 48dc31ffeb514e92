"""What would a run have decided under other policy terms? ``claim-assess whatif`` decides the run's claims again
under NEW_POLICIES.jsonl (its policies replace the dataset's of the same policy_id; an id the dataset does not hold
is an error) or a changed dataset (--input), with the answers the model gave in the run, and compares.

A question whose prompt is unchanged gets its recorded answer (exact). One whose prompt changed (the assessment
prompt shows the payout, so a new deductible changes it) gets the recorded answer of its purpose and line item all
the same: the model's judgement is held constant, the question is counted and listed as "prompt changed, answer
assumed", and its claim is approximate. A question with no recorded answer (a line item the rules placed before and
now leave to the model) is never sent: its claim "needs new calls" and stays out of the figures. No LLM call, no
network, no Ray, and nothing is written to the ledger.

Without --input the run's own dataset (its settings.json) is used and must still hold the claims and policies the
run decided (a claim changed since is "not comparable"); with --input, claims that differ are compared on purpose
and counted as changed. The comparison goes to the terminal (or --json) and to an HTML page, by default
WORKSPACE/whatif/RUN_ID-<UTC time>.html.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from rich.console import Console

from claim_assess.claims.dataset import open_dataset
from claim_assess.drivers.options import (EXIT_OK, EXIT_USAGE, add_run, add_workspace, command_parser, positive_int,
                                          returns_exit_code, usage_error)
from claim_assess.errors import ClaimAssessError, InputError
from claim_assess.files import write_text
from claim_assess.run.settings import RunSettings
from claim_assess.run.workspace import Workspace
from claim_assess.whatif.analysis import what_if
from claim_assess.whatif.page import render_page
from claim_assess.whatif.render import render
from claim_assess.whatif.terms import with_new_policies

EXIT_CODES = [(EXIT_OK, "compared (the page's path is printed)"),
              (EXIT_USAGE, "bad usage or unreadable input: no such run, no ledger, a policies line that does not "
                           "validate (its line and field are named), a policy id the dataset does not hold")]


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("whatif", __doc__, exit_codes=EXIT_CODES,
                            example="claim-assess whatif --run run-20261129T100000Z-ab12 --policies new.jsonl")
    add_run(parser, "the run whose decisions to decide again", required=True)
    add_workspace(parser)
    parser.add_argument("--policies", type=Path, metavar="NEW_POLICIES.jsonl",
                        help="new terms: each policy replaces the dataset's policy of its policy_id")
    parser.add_argument("--input", metavar="DATASET",
                        help="the dataset (default: the run's own, from its settings.json); a changed one is "
                             "compared on purpose")
    parser.add_argument("--html", type=Path, metavar="PATH",
                        help="where to write the page (default WORKSPACE/whatif/RUN_ID-<UTC time>.html)")
    parser.add_argument("--jobs", type=positive_int("--jobs"), default=1,
                        help="processes that decide claims (default 1: this one; more start workers, which cost "
                             "about 60 %% more CPU in all for reading and pickling, and pay only where cores are idle)")
    parser.add_argument("--json", action="store_true", help="print one machine-readable object instead of tables")
    return parser


def _dataset_location(args: argparse.Namespace) -> str:
    if args.input is not None:
        return args.input
    workspace = Workspace(args.workspace)
    path = workspace.run(args.run).settings
    try:
        return RunSettings.from_json(json.loads(path.read_text(encoding="utf-8"))).input
    except FileNotFoundError:
        raise InputError(f"{workspace.unknown_run(args.run)} ({path} is missing; --input names the "
                               "dataset)") from None
    except (ValueError, TypeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


@returns_exit_code
def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    if args.policies is None and args.input is None:
        return usage_error(args, "give --policies NEW_POLICIES.jsonl, --input CHANGED_DATASET, or both", out)
    workspace = Workspace(args.workspace)
    started = dt.datetime.now(dt.UTC)
    try:
        dataset = open_dataset(_dataset_location(args))
        book = with_new_policies(dataset, args.policies) if args.policies is not None else None
        report = what_if(workspace.ledger_dir, dataset, args.run, book=book,
                         policies_file=str(args.policies) if args.policies else None,
                         changed_dataset=args.input is not None, jobs=args.jobs)
        if report.checked == 0:
            return usage_error(args, report.notes[0], out)
        page = args.html or workspace.root / "whatif" / f"{args.run}-{started:%Y%m%dT%H%M%SZ}.html"
        write_text(page, render_page(report, generated=started))
    except (ClaimAssessError, OSError) as exc:
        return usage_error(args, str(exc), out)
    if args.json:
        print(json.dumps({"ok": True, "html": str(page), **report.to_json()}, indent=2), file=out)
    else:
        console = Console(file=out, width=None if out.isatty() else 120)
        console.print(render(report))
        console.print(f"page: {page}", highlight=False, soft_wrap=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
