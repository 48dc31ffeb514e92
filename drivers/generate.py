"""Write a synthetic motor-warranty dataset: policies, claims and the outcomes the rules decide alone.

Writes DIR/policies.jsonl, the claims (claims.jsonl, claims.parquet or claims/<claim_id>.json),
DIR/expected.jsonl (claims whose outcome the rules decide alone) and DIR/scenarios.jsonl (the scenario
each claim was built for). The same seed always gives byte-identical files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from claim_assess.claims import synthetic
from claim_assess.drivers.options import EXIT_OK, EXIT_USAGE, command_parser, positive_int, returns_exit_code
from claim_assess.errors import ClaimAssessError


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "generate", __doc__,
        exit_codes=[(EXIT_OK, "the dataset was written"),
                    (EXIT_USAGE, "usage or I/O: bad flags, or DIR cannot be written (the error names the path)")],
        example="claim-assess generate --claims 300 --seed 3 --out datasets/book-300",
    )
    parser.add_argument("--claims", type=positive_int("--claims"), required=True, metavar="N",
                        help="number of claims (>= 1)")
    parser.add_argument("--seed", type=_seed, required=True, metavar="S", help="random seed (same seed, same bytes)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    parser.add_argument("--format", choices=synthetic.FORMATS, default="jsonl",
                        help="how to store the claims (default: jsonl)")
    parser.add_argument("--force", action="store_true",
                        help="write into an existing non-empty DIR, replacing earlier generated files")
    return parser


def _check_out(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    out: Path = args.out
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        parser.error(f"--out {out} exists and is not empty (use --force to overwrite the generated files)")


@returns_exit_code
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_out(parser, args)
    out: Path = args.out
    try:
        data = synthetic.generate(args.claims, args.seed)
        if args.force:
            synthetic.clear_outputs(out)
        synthetic.write_dataset(data, out, args.format)
    except OSError as exc:
        print(f"error: cannot write {exc.filename or out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except ClaimAssessError as exc:
        print(f"error: --out {out}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {len(data.claims)} claims ({len(data.expected)} with a rule-decided outcome) "
          f"and {len(data.policies)} policies to {out}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
