"""Write a synthetic dataset: `python -m drivers.generate --claims N --seed S --out DIR [--format ...]`.

Writes DIR/policies.jsonl, the claims (claims.jsonl, claims.parquet or claims/<claim_id>.json),
DIR/expected.jsonl (claims whose outcome the rules decide alone) and DIR/scenarios.jsonl (the scenario
each claim was built for). The same seed always gives byte-identical files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from claim_assess.errors import ClaimAssessError
from claim_assess.claims import synthetic
from claim_assess.drivers.cli import positive_int


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m drivers.generate",
        description="Generate a synthetic motor-warranty dataset (policies, claims, expected outcomes).",
    )
    parser.add_argument("--claims", type=positive_int("--claims"), required=True, metavar="N", help="number of claims (>= 1)")
    parser.add_argument("--seed", type=_seed, required=True, metavar="S", help="random seed (same seed, same bytes)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    parser.add_argument("--format", choices=synthetic.FORMATS, default="jsonl",
                        help="how to store the claims (default: jsonl)")
    parser.add_argument("--force", action="store_true",
                        help="write into an existing non-empty DIR, replacing earlier generated files")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out: Path = args.out
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        parser.error(f"--out {out} exists and is not empty (use --force to overwrite the generated files)")
    if args.format == "parquet" and synthetic.parquet_writer() is None:
        parser.error("--format parquet is not available yet (claims.dataset.write_claims_parquet is missing); "
                     "use jsonl or files")
    try:
        data = synthetic.generate(args.claims, args.seed)
        if args.force:
            synthetic.clear_outputs(out)
        synthetic.write_dataset(data, out, args.format)
    except (ClaimAssessError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(data.claims)} claims ({len(data.expected)} with a rule-decided outcome) "
          f"and {len(data.policies)} policies to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
