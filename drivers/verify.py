"""Check a ledger's integrity: ``python -m drivers.verify --workspace DIR`` (spec §6).

Exit 0: intact. Exit 1: integrity failure (the first bad seq and what is wrong are printed).
Exit 2: usage or I/O error (no such directory, unreadable file, bad flags).
Run it on a ledger no writer is appending to: a write in flight looks like a torn last line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from claim_assess.errors import LedgerError
from ledger.verify import VerifyReport, verify_ledger

EXIT_OK, EXIT_INTEGRITY, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m drivers.verify", description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--workspace", type=Path, help="workspace directory; the ledger is WORKSPACE/ledger")
    where.add_argument("--ledger", type=Path, help="the ledger directory itself")
    parser.add_argument("--json", action="store_true", help="print a machine-readable report")
    return parser


def render(directory: Path, report: VerifyReport) -> str:
    lines = [f"ledger {directory}: {'INTACT' if report.ok else 'INTEGRITY FAILURE'}"]
    if not report.ok:
        if report.first_bad_seq is not None:
            lines.append(f"  first bad seq: {report.first_bad_seq}")
        for where, message in report.problems:
            lines.append(f"  {where}: {message}")
    lines.append(f"  decisions: {report.decisions}   llm_calls: {report.llm_calls}")
    lines.append(f"  checkpoints: {report.checkpoints}   records after the last checkpoint: {report.unanchored}")
    lines.extend(f"  note: {note}" for note in report.notes)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    directory = args.ledger if args.ledger is not None else args.workspace / "ledger"
    try:
        report = verify_ledger(directory)
    except (LedgerError, OSError) as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc)}), file=out)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps({"ledger": str(directory), **report.to_json()}, indent=2), file=out)
    else:
        print(render(directory, report), file=out)
    return EXIT_OK if report.ok else EXIT_INTEGRITY


if __name__ == "__main__":
    sys.exit(main())
