"""python -m drivers.bench: the benchmark , its ledger benchmark (``ledger``) and its soak (``faults``).

The benchmark's code is the top-level bench/ package of the source repository (``claim_assess.bench`` in a
checkout). A wheel never installs it: it measures the engine the way a user runs it from a clone. So this entry
point only hands over, and says where to find it when it is absent.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from claim_assess.drivers.options import returns_exit_code

NOT_INSTALLED = (
    "the benchmark ships with the source repository, not with the installed claim-assess package.\n"
    "Run it from a clone of the repository, in its root folder:\n"
    "  python -m drivers.bench --help"
)


@returns_exit_code
def main(argv: Sequence[str] | None = None) -> int:
    try:
        from claim_assess.bench.cli import main as bench_main
    except ModuleNotFoundError as exc:
        if exc.name not in ("claim_assess.bench", "claim_assess.bench.cli"):
            raise  # something the benchmark needs is missing: that is not "the benchmark is absent"
        print(f"claim-assess bench: {NOT_INSTALLED}", file=sys.stderr)
        return 2
    return bench_main(argv)


if __name__ == "__main__":
    sys.exit(main())
