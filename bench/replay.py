"""The replay benchmark: ``python -m drivers.bench replay [--decisions 100000]``.

Measures ``python -m drivers.verify --replay`` (a subprocess: its CPU seconds and its own peak RSS from os.wait4) on
a ledger of N decisions, in decisions per CPU-second, and its peak memory at two sizes to show it stays flat.

How the ledger is made, honestly: N real decisions need a run of N real claims. Instead one real run of the bundled
50-claim sample (the real driver, Ray and the simulator) is made, then replicated: copy k of sample claim C becomes
claim ``C-Rk`` in a synthetic claims.jsonl, and its decision is appended again through the library's writer
(``FileLedger``, fsync off, checkpoints every 1000) with that claim id, the new claim's input digest, and the same
call records under fresh call ids, their requests carrying the new claim id (the assessment prompt holds it). Every
replicated decision is thus a decision the rules really made, with evidence replay checks in full; what the copy
does not give is variety beyond the sample's 50 claims (the same rule paths, prompt sizes and answer shapes).

The build runs in a child process (this module, ``--build``) so that this launcher stays small: a child's peak RSS
counts the image it was forked from.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from claim_assess.drivers.options import EXIT_FAILED, EXIT_OK, command_parser
from claim_assess.run.settings import sample_dataset

HELPER = "claim_assess.bench.replay"
RUN_ID = "bench-replay"
ROOT = Path(__file__).resolve().parent.parent


def _sample_run(workdir: Path) -> Path:
    workspace = workdir / "sample-ws"
    if not (workspace / "runs" / RUN_ID / "summary.json").exists():
        env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
        subprocess.run([sys.executable, "-m", "drivers.assess", "--actors", "2", "--workspace", str(workspace),
                        "--run", RUN_ID, "--quiet", "--no-dashboard"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
    return workspace


def build(sample_ws: Path, target: Path, decisions: int) -> None:
    """The replicated dataset and ledger (see the module docstring)."""
    from claim_assess.claims.dataset import read_dataset
    from claim_assess.ledger.canonical import digest, parse_canonical
    from claim_assess.ledger.records import DecisionDraft
    from claim_assess.ledger.store import FileLedger

    source = read_dataset(sample_dataset())
    claims = {e.claim_id: e.raw for e in source.entries}
    ledger = sample_ws / "ledger"
    calls = {c["call_id"]: c for c in map(parse_canonical, (ledger / "llm_calls.jsonl").read_bytes().splitlines(True))}
    recorded = [parse_canonical(x) for x in (ledger / "decisions.jsonl").read_bytes().splitlines(True)]
    (target / "data").mkdir(parents=True)
    (target / "data" / "policies.jsonl").write_bytes((Path(sample_dataset()) / "policies.jsonl").read_bytes())
    counter = 0
    with open(target / "data" / "claims.jsonl", "w", encoding="utf-8") as out, \
            FileLedger.open(target / "ledger", fsync=lambda fd: None) as store:
        batch: list[Any] = []
        for n in range(decisions):
            record, copy = recorded[n % len(recorded)], n // len(recorded)
            old, new = record["claim_id"], f"{record['claim_id']}-R{copy}"
            raw = {**claims[old], "claim_id": new}
            out.write(json.dumps(raw) + "\n")
            attempts = []
            for ref in record["llm_calls"]:
                counter += 1
                call = {k: v for k, v in calls[ref["call_id"]].items() if k != "record_hash"}
                attempts.append({**call, "call_id": f"call_{counter:016x}", "claim_id": new,
                                 "request": json.loads(json.dumps(call["request"]).replace(old, new))})
            fields = {k: record[k] for k in ("run_id", "policy_id", "decision", "reasons", "payout", "currency",
                                             "confidence", "policy_digest", "versions", "actor", "error", "covered_total",
                                             "items_digest")}
            batch.append((DecisionDraft(claim_id=new, input_digest=digest(raw), **fields), attempts))
            if len(batch) == 1000:
                store.append_many(batch)
                batch = []
        if batch:
            store.append_many(batch)
        store.checkpoint()


def measure(target: Path, decisions: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "drivers.verify", "--replay", "--input", str(target / "data"), "--ledger",
           str(target / "ledger"), "--json"]
    figures, report = measure_command(cmd, decisions)
    return {"decisions": decisions, "counts": report.get("counts"), **figures}


def measure_command(cmd: list[str], decisions: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``cmd`` (a command printing one JSON object) as a child: (its exit code, wall and CPU seconds and its own
    peak RSS; the object it printed)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()  # to EOF; then wait4 reaps the child and reports its own peak RSS
    _, status, usage = os.wait4(proc.pid, 0)
    proc.stdout.close()
    wall, cpu = time.perf_counter() - started, usage.ru_utime + usage.ru_stime
    return ({"exit": os.waitstatus_to_exitcode(status), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
             "decisions_per_cpu_s": round(decisions / cpu), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)},
            json.loads(out or b"{}"))


def main(argv: Sequence[str] | None = None) -> int:
    p = command_parser("bench replay", __doc__, exit_codes=[(EXIT_OK, "every replayed decision reproduced"),
                                                            (EXIT_FAILED, "a decision did not reproduce")],
                       example="claim-assess bench replay --decisions 100000 --also 10000")
    p.add_argument("--decisions", type=int, default=100_000)
    p.add_argument("--also", type=int, default=10_000, help="a smaller size too, to show memory is flat (0: none)")
    p.add_argument("--dir", type=Path, default=Path("bench-replay"), help="work directory (kept for reuse)")
    p.add_argument("--build", nargs=3, metavar=("SAMPLE_WS", "TARGET", "N"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.build:
        build(Path(args.build[0]), Path(args.build[1]), int(args.build[2]))
        return EXIT_OK
    sample_ws = _sample_run(args.dir)
    results = []
    for size in sorted({s for s in (args.also, args.decisions) if s > 0}):
        target = args.dir / f"replicated-{size}"
        if not (target / "ledger" / "checkpoints.jsonl").exists():
            subprocess.run([sys.executable, "-m", HELPER, "--build", str(sample_ws), str(target), str(size)],
                           cwd=ROOT, check=True)
        results.append(measure(target, size))
    print(json.dumps({"scenario": "replay", "ledger": "50 real sample decisions replicated with distinct claim ids "
                      "(see bench/replay.py)", "runs": results}, indent=2))
    return EXIT_OK if all(r["exit"] == 0 for r in results) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
