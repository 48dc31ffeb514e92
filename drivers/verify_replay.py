"""``claim-assess verify --replay``: the flags' one call into ``claim_assess.replay``, with a progress bar on a
terminal (quiet when not a TTY or with --json). Exit codes as verify's: 0 every checked decision reproduced,
1 a difference or missing evidence, 2 usage or I/O (no dataset, no ledger, no decision of the run asked for)."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from claim_assess.claims.dataset import open_dataset
from claim_assess.drivers.options import EXIT_FAILED, EXIT_OK, usage_error
from claim_assess.errors import ClaimAssessError
from claim_assess.ledger.filestore import DECISIONS_FILE
from claim_assess.replay.render import render
from claim_assess.replay.replay import replay_ledger


def _line_count(path: Path) -> int | None:
    try:
        with open(path, "rb") as f:
            return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return None  # replay itself names the problem


def replay(args: argparse.Namespace, directory: Path, out: TextIO) -> int:
    shown = sys.stderr.isatty() and not args.json
    progress = Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        transient=True, console=Console(stderr=True)) if shown else None
    try:
        dataset = open_dataset(args.input)
        with progress if progress is not None else nullcontext():
            task = progress.add_task("replay", total=_line_count(directory / DECISIONS_FILE)) if progress else None
            advance = (lambda verdict: progress.advance(task)) if progress is not None else (lambda verdict: None)
            report = replay_ledger(directory, dataset, run_id=args.run, on_record=advance)
    except (ClaimAssessError, OSError) as exc:
        return usage_error(args, str(exc), out)
    if report.checked == 0:
        return usage_error(args, report.notes[0], out)
    data = {"ledger": str(directory), "input": str(args.input), **report.to_json()}
    print(json.dumps(data, indent=2) if args.json else render(directory, report), file=out)
    return EXIT_OK if report.ok else EXIT_FAILED
