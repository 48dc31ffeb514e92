"""What every command line of the project shares: the parser with --version and an epilog of exit codes and an
example, typed flags whose errors name the flag, and the one spelling of a run id (``--run RUN_ID``).

argparse exits 2 on a usage error; every command uses 2 for usage and I/O errors too, so a scheduler can tell
"fix the command" (2) from "the work failed" (1).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from claim_assess import __version__
from claim_assess.logs import DEFAULT_LEVEL, LEVELS
from claim_assess.run.workspace import is_run_id

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def command_parser(name: str, description: str, *, exit_codes: Sequence[tuple[int, str]],
                   example: str) -> argparse.ArgumentParser:
    """``claim-assess NAME``'s parser; ``--help`` ends with the exit codes and one example."""
    codes = "\n".join(f"  {code:<4}{meaning}" for code, meaning in exit_codes)
    parser = argparse.ArgumentParser(
        prog=f"claim-assess {name}",
        description=description,
        epilog=f"exit codes:\n{codes}\n\nexample:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"claim-assess {__version__}")
    return parser


def returns_exit_code(main: Callable[..., int]) -> Callable[..., int]:
    """``main(argv)`` returns its exit code for every outcome: argparse's --help / --version (0) and usage errors
    (2) too, instead of raising SystemExit, so ``claim-assess`` and tests call every command the same way."""

    @functools.wraps(main)
    def command(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)

    return command


def _positive(name: str, kind: type, what: str):
    """An argparse type: a ``kind`` above zero (finite); the error names the flag and what was given."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {what}, got {text!r}") from None
        if kind is int and value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {value}")
        if kind is float and (not math.isfinite(value) or value <= 0):
            raise argparse.ArgumentTypeError(f"{name} must be a positive number, got {text}")
        return value

    return parse


def positive_int(name: str):
    return _positive(name, int, "a whole number")


def positive_float(name: str):
    return _positive(name, float, "a number")


def run_id(text: str) -> str:
    if not is_run_id(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a run id: 1-64 letters, digits, '.', '_' or '-'")
    return text


def add_run(parser: argparse.ArgumentParser, help: str, *, required: bool = False) -> None:
    parser.add_argument("--run", type=run_id, metavar="RUN_ID", required=required, help=help)


def add_workspace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", type=Path, default=Path("workspace"),
                        help="where the ledger and runs/ live (default ./workspace)")


def add_log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-level", default=DEFAULT_LEVEL, type=str.upper, choices=LEVELS,
                        help=f"what the engine and its actors log (default {DEFAULT_LEVEL}); never a key, never a "
                             "prompt above DEBUG")


def usage_error(args: argparse.Namespace, message: str, out: TextIO) -> int:
    """EXIT_USAGE, having said why: one JSON object on ``out`` with --json (a script reads one shape whatever
    happened), else ``error: ...`` on stderr."""
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "error": message}), file=out)
    else:
        print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE
