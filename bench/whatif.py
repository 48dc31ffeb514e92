"""The what-if benchmark: ``python -m drivers.bench whatif [--claims 20000]``.

The target (issue 14): a what-if on 20,000 claims with a changed deductible in under 30 s, with no network call.
The ledger is the replay benchmark's (``bench/replay.py``: one real run of the 50-claim sample, its decisions and
call records replicated under distinct claim ids through the library's writer), with the run's settings.json beside
it; the new terms are the sample's policies with every deductible's minimum raised by 100.00 and its percent by 5.
``python -m drivers.whatif`` runs as a child (its wall and CPU seconds, its own peak RSS from os.wait4), its page
written beside the data. No network: the what-if has no LLM client to call with (its tests hold that it runs with
openai unimportable and sockets refused).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from claim_assess.bench.replay import HELPER, ROOT, RUN_ID, _sample_run, measure_command
from claim_assess.drivers.options import EXIT_FAILED, EXIT_OK, command_parser
from claim_assess.run.settings import new_settings, save

TARGET_S = 30.0


def _prepare(target: Path) -> Path:
    """The run's settings.json (the replicated ledger is the workspace's) and the new policies file."""
    if not (target / "runs" / RUN_ID / "settings.json").exists():
        save(new_settings(workspace=target, run_id=RUN_ID, input=target / "data"))
    new = target / "new-policies.jsonl"
    policies = [json.loads(line) for line in (target / "data" / "policies.jsonl").read_text().splitlines()]
    new.write_text("".join(json.dumps({**p, "deductible": {
        "percent": str(Decimal(p["deductible"]["percent"]) + 5),
        "minimum": f"{Decimal(p['deductible']['minimum']) + 100:.2f}"}}) + "\n" for p in policies), encoding="utf-8")
    return new


def main(argv: Sequence[str] | None = None) -> int:
    p = command_parser("bench whatif", __doc__, exit_codes=[(EXIT_OK, "the what-if completed"),
                                                            (EXIT_FAILED, "it failed, or missed the target")],
                       example="claim-assess bench whatif --claims 20000")
    p.add_argument("--claims", type=int, default=20_000)
    p.add_argument("--dir", type=Path, default=Path("bench-replay"),
                   help="work directory, shared with the replay benchmark (kept for reuse)")
    p.add_argument("--jobs", type=int, action="append", default=[],
                   help="measure with this many worker processes (repeatable; default: 1 and 2)")
    args = p.parse_args(argv)
    sample_ws = _sample_run(args.dir)
    target = args.dir / f"replicated-{args.claims}"
    if not (target / "ledger" / "checkpoints.jsonl").exists():
        subprocess.run([sys.executable, "-m", HELPER, "--build", str(sample_ws), str(target), str(args.claims)],
                       cwd=ROOT, check=True)
    new = _prepare(target)
    runs = []
    for jobs in args.jobs or [1, 2]:
        cmd = [sys.executable, "-m", "drivers.whatif", "--run", RUN_ID, "--workspace", str(target), "--policies",
               str(new), "--json", "--html", str(target / "whatif.html"), "--jobs", str(jobs)]
        figures, report = measure_command(cmd, args.claims)
        runs.append({"jobs": jobs, "met": figures["exit"] == 0 and figures["wall_s"] < TARGET_S, **figures,
                     "compared": report.get("claims"), "questions": report.get("questions"),
                     "transitions": report.get("transitions"),
                     "payout": (report.get("payout") or {}).get("per_currency")})
    print(json.dumps({"scenario": "whatif", "claims": args.claims, "target_s": TARGET_S, "load_average":
                      os.getloadavg(), "ledger": "50 real sample decisions replicated with distinct claim ids "
                      "(see bench/replay.py)", "runs": runs}, indent=2))
    return EXIT_OK if any(r["met"] for r in runs) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
