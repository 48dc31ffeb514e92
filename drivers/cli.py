"""``claim-assess COMMAND ...``: one command for every entry point, running the same code as ``python -m drivers.X``."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from claim_assess import __version__

COMMANDS = {
    "assess": "assess a dataset of claims on Ray actors (the main job)",
    "verify": "check the audit trail; prove one decision's inclusion",
    "report": "(re)write a run's report.html",
    "evaluate": "compare a run's decisions with the dataset's expected outcomes",
    "whatif": "decide a run's claims again under new policy terms, with the recorded answers, and compare",
    "generate": "write a synthetic dataset",
    "simulate": "run the built-in OpenAI-compatible simulator on its own",
    "bench": "the benchmark (from a source checkout)",
}
USAGE = "usage: claim-assess COMMAND [options]   (claim-assess COMMAND --help for its options)"


def _overview() -> str:
    width = max(map(len, COMMANDS))
    rows = "\n".join(f"  {name:<{width}}  {what}" for name, what in COMMANDS.items())
    return (f"{USAGE}\n\ncommands:\n{rows}\n\nexit codes: 0 done, 1 the work failed (each command says how), "
            "2 bad usage or unreadable input\n\nexample:\n  claim-assess assess --actors 2")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_overview())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"claim-assess {__version__}")
        return 0
    if args[0] not in COMMANDS:
        print(f"{USAGE}\nclaim-assess: unknown command {args[0]!r} (choose from {', '.join(COMMANDS)})",
              file=sys.stderr)
        return 2
    command = importlib.import_module(f"claim_assess.drivers.{args[0]}")
    return command.main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
