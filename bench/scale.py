"""python -m drivers.bench scale: a million claims on one machine. What streaming the dataset buys, measured.

Four figures, each from the real CLI in a subprocess of its own (so its peak RSS is its own: its VmHWM, read
until it exits):

1. read + validate throughput: ``claim-assess assess --dry-run --json`` over a dataset of UNIQUE synthetic claims
   (``claims.synthetic.generate``), pinned to one core with ``taskset`` where it exists. The target's figure is the
   claims over the CPU seconds the dry run itself counted reading and validating them (its ``cpu`` object, on the
   thread's own clock); the planning of each claim (prompts and token estimates, which only a dry run makes) is
   counted apart, and the whole run's claims per wall second are reported beside it;
2. the dry run's peak memory over the big dataset (default 1,000,000 claims);
3. the time from the engine's start to its first LLM call with the big dataset, and with the 50-claim sample
   alternating with it as the control (the difference is the dataset's; the rest is Ray starting): the bench starts
   the simulator itself and polls its ``/stats`` request count, so the clock is the bench's, from ``Popen`` to the
   first request the simulator saw. Each is measured ``--first-call-runs`` times (default 3) and the median is the
   figure, all runs reported: one start of Ray on a shared 2-core machine varies by seconds from one minute to the
   next;
4. the driver's memory through a real run of ``--real-claims`` claims of the big dataset (``--limit``) against
   that simulator (zero latency): RSS sampled every second beside the count of claims decided (the journal's
   lines), then bytes per claim = the rise of RSS from the first sample after warm-up (5 % of the claims) to the
   end, over the claims decided in between.

The big dataset is TILED from the unique one (``tile``): its lines repeat the unique claims under new ids, because
generating a million unique claims takes ten minutes. Repeated text can flatter any cache, so throughput is
measured on the unique dataset only; the big one is for memory and time to first call, which do not depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from claim_assess.bench.engine import PROJECT_ROOT, SIM_KEY, SIM_MODEL
from claim_assess.bench.memory import proc_status
from claim_assess.drivers.options import EXIT_FAILED, EXIT_OK, command_parser
from claim_assess.simulator.server import SimulatorConfig, start_simulator

TARGETS = {
    "dry_run_claims_per_s": 5000.0,  # >= , one core
    "first_call_s": 10.0,  # <= , 1,000,000-claim dataset
    "dry_run_peak_mb": 600.0,  # < , 1,000,000-claim dry run
    "driver_bytes_per_claim": 1024.0,  # < , real run, above the baseline
}
WARMUP_SHARE = 0.05


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "bench scale",
        "A million claims on one machine: dry-run throughput on one core, the dry run's peak memory, the time to the "
        "first LLM call and the driver's memory per claim through a real run, with a dataset streamed from disk.",
        exit_codes=[(EXIT_OK, "every measurement ran (targets are reported, not enforced, unless --strict)"),
                    (EXIT_FAILED, "a measurement broke, or a target was missed under --strict")],
        example="claim-assess bench scale --claims 1000000 --real-claims 200000 --workdir /tmp/scale",
    )
    p.add_argument("--claims", type=int, default=1_000_000, help="claims in the big (tiled) dataset")
    p.add_argument("--unique", type=int, default=100_000, help="unique claims (the throughput dataset, and the tile)")
    p.add_argument("--real-claims", type=int, default=200_000,
                   help="claims the real run assesses (0: skip the real run)")
    p.add_argument("--actors", type=int, default=2, help="assessors in the real run")
    p.add_argument("--first-call-runs", type=int, default=3,
                   help="times each dataset's first call is measured (the median is the figure)")
    p.add_argument("--workdir", required=True, help="datasets and workspaces go here (reused between invocations)")
    p.add_argument("--out", default="bench/scale-results.json", help="results file")
    p.add_argument("--markdown", help="also write the table as Markdown to this file")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return p


# --- datasets ------------------------------------------------------------------------------------------


# wait4's ru_maxrss on Linux also counts the parent's high-water mark at the fork that started the child (exec keeps
# the larger of the two). Measured: a bench that had generated 100,000 claims in its own process (1.6 GB) got 1,659 MB
# from wait4 for a dry run that peaked under 200 MB. So peaks are read from the child's own VmHWM (_wait_rusage), and
# the bench never holds a dataset itself anyway: it generates in a child process and tiles line by line.


def unique_dataset(workdir: Path, claims: int) -> Path:
    """``claims`` unique synthetic claims (seed 7), written once per workdir, by a child process."""
    path = workdir / f"unique-{claims}"
    if not (path / "claims.jsonl").is_file():
        code = ("import sys; from claim_assess.claims import synthetic; "
                "synthetic.write_dataset(synthetic.generate(int(sys.argv[1]), seed=7), sys.argv[2])")
        subprocess.run([sys.executable, "-c", code, str(claims), str(path)], check=True, cwd=PROJECT_ROOT, env=_env())
    return path


def tile(unique: Path, claims: int, out: Path) -> Path:
    """A dataset of ``claims`` entries repeating ``unique``'s claims in order under new ids (``T0000001-...``)."""
    if (out / "claims.jsonl").is_file() and (out / "tiled.json").is_file():
        if json.loads((out / "tiled.json").read_text())["claims"] == claims:
            return out
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(unique / "policies.jsonl", out / "policies.jsonl")
    tmp = out / "claims.jsonl.tmp"
    written = 0
    with open(tmp, "wb") as f:
        while written < claims:  # a pass over the unique claims at a time, a line at a time (see above)
            with open(unique / "claims.jsonl", "rb") as source:
                for line in source:
                    if written == claims:
                        break
                    if not line.strip():
                        continue
                    original = json.loads(line)["claim_id"]
                    old = b'"claim_id": ' + json.dumps(original).encode()
                    f.write(line.rstrip(b"\n").replace(old, b'"claim_id": "T%07d-%s"' % (written, original.encode()), 1))
                    f.write(b"\n")
                    written += 1
    os.replace(tmp, out / "claims.jsonl")
    (out / "tiled.json").write_text(json.dumps({"claims": claims, "from": str(unique)}))
    return out


# --- measurements --------------------------------------------------------------------------------------


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "drivers.assess", *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["OPENAI_API_KEY"] = SIM_KEY
    return env


def _one_core(cmd: list[str]) -> tuple[list[str], bool]:
    taskset = shutil.which("taskset")
    return ([taskset, "-c", "0", *cmd], True) if taskset else (cmd, False)


def dry_run(dataset: Path, claims: int, workdir: Path, *, one_core: bool) -> dict[str, Any]:
    cmd = _cli("--input", str(dataset), "--dry-run", "--json")
    cmd, pinned = _one_core(cmd) if one_core else (cmd, False)
    out_path, err_path = workdir / f"dry-{dataset.name}.json", workdir / f"dry-{dataset.name}.err"
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=PROJECT_ROOT, env=_env())
    result = _wait_rusage(proc.pid)  # this child's own peak RSS
    wall = time.monotonic() - started
    ok = result["exit_code"] == 0
    plan = json.loads(out_path.read_text()) if ok else None
    cpu = (plan or {}).get("cpu") or {}
    return {"dataset": str(dataset), "claims": claims, "exit_code": result["exit_code"], "wall_s": round(wall, 2),
            "claims_per_s": round(claims / wall, 1), "peak_mb": round(result["maxrss_kb"] / 1024, 1),
            "read_validate_claims_per_cpu_s": cpu.get("read_validate_claims_per_s"),
            "plan_claims_per_cpu_s": cpu.get("plan_claims_per_s"), "cpu": cpu or None,
            "one_core": pinned, "selected": plan.get("claims") if plan else None,
            "error": None if ok else err_path.read_text(errors="replace")[-500:]}


class _Journal:
    """Counts the lines of a growing outcomes.jsonl by reading only what was appended since the last look."""

    def __init__(self, path: Path) -> None:
        self.path, self._offset, self.lines = path, 0, 0

    def count(self) -> int:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return self.lines
        self._offset += len(data)
        self.lines += data.count(b"\n")
        return self.lines


def real_run(dataset: Path, claims: int, actors: int, workdir: Path) -> dict[str, Any]:
    """The engine on ``claims`` claims of ``dataset`` against a zero-latency simulator: time to the first call, the
    driver's RSS beside the claims decided, and the run's outcome."""
    workspace = workdir / "ws-real"
    shutil.rmtree(workspace, ignore_errors=True)
    run_id = "scale-real"
    series: list[tuple[float, int, int]] = []  # (s since start, driver RSS kB, claims decided)
    with start_simulator(SimulatorConfig(latency_median_ms=0, latency_p95_ms=0, seed=5)) as sim:
        cmd = _cli("--llm", "openai", "--base-url", sim.url, "--model", SIM_MODEL, "--input", str(dataset),
                   "--limit", str(claims), "--workspace", str(workspace), "--actors", str(actors), "--run", run_id,
                   "--json", "--quiet", "--no-dashboard", "--no-preflight")
        started = time.monotonic()
        with open(workdir / "real-stdout.txt", "wb") as out, open(workdir / "real-stderr.txt", "wb") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=PROJECT_ROOT, env=_env(),
                                    start_new_session=True)
        first_call_s = _first_request(sim, proc, started)
        journal = _Journal(workspace / "runs" / run_id / "outcomes.jsonl")
        result: dict[str, Any] = {}
        waiter = threading.Thread(target=lambda: result.update(_wait_rusage(proc.pid)), daemon=True)
        waiter.start()
        while waiter.is_alive():
            rss = proc_status(proc.pid).get("VmRSS")
            if rss:
                series.append((round(time.monotonic() - started, 1), rss, journal.count()))
            waiter.join(timeout=1.0)
        wall = time.monotonic() - started
        stats = sim.stats()
    summary = _summary(workdir / "real-stdout.txt")
    return {"claims": claims, "actors": actors, "exit_code": result.get("exit_code"), "wall_s": round(wall, 1),
            "first_call_s": round(first_call_s, 2) if first_call_s is not None else None,
            "driver_peak_mb": round(result.get("maxrss_kb", 0) / 1024, 1), "requests": stats["requests"],
            "decided": (summary or {}).get("claims"), "complete": (summary or {}).get("complete"),
            "memory": per_claim(series, claims), "series": series[:: max(1, len(series) // 200)]}


def _first_request(sim: Any, proc: subprocess.Popen, started: float) -> float | None:
    """Seconds from ``started`` to the simulator's first request (None: the engine exited before making one)."""
    while proc.poll() is None:
        if sim.stats()["requests"] > 0:
            return time.monotonic() - started
        time.sleep(0.02)  # polling another process's counter: there is nothing to synchronize on
    return None


def first_call(dataset: Path, workdir: Path, name: str) -> float | None:
    """Seconds from starting the engine on ``dataset`` to the first request the simulator sees; the run is then
    stopped (SIGTERM, the engine's graceful stop). Run on the big dataset and on the bundled 50-claim sample one
    after the other, the difference is what the dataset's size costs: the rest is Ray starting on this machine."""
    workspace = workdir / f"ws-first-{name}"
    shutil.rmtree(workspace, ignore_errors=True)
    with start_simulator(SimulatorConfig(latency_median_ms=0, latency_p95_ms=0, seed=5)) as sim:
        cmd = _cli("--llm", "openai", "--base-url", sim.url, "--model", SIM_MODEL, "--input", str(dataset),
                   "--workspace", str(workspace), "--actors", "2", "--run", "first", "--quiet", "--no-dashboard",
                   "--no-preflight")  # the first claim's call, not the preflight's
        started = time.monotonic()
        with open(workdir / f"first-{name}.err", "wb") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=PROJECT_ROOT, env=_env(),
                                    start_new_session=True)
        seconds = _first_request(sim, proc, started)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return round(seconds, 2) if seconds is not None else None


def first_calls(big: Path, sample: Path, workdir: Path, runs: int) -> dict[str, Any]:
    """``first_call`` on the big dataset and the sample, alternating (so both see the same minutes of the machine),
    ``runs`` times each; the medians are the figures (None if a run made no call)."""
    seen: dict[str, list[float | None]] = {"big": [], "sample": []}
    for _ in range(runs):
        for name, dataset in (("big", big), ("sample", sample)):
            seen[name].append(first_call(dataset, workdir, name))
    return {"big_s": _median(seen["big"]), "sample_s": _median(seen["sample"]), "big_runs_s": seen["big"],
            "sample_runs_s": seen["sample"]}


def _median(values: list[float | None]) -> float | None:
    return None if not values or None in values else round(statistics.median(values), 2)


def _wait_rusage(pid: int, every_s: float = 0.05) -> dict[str, int]:
    """The child's exit code and peak RSS. The peak is its own high-water mark (``VmHWM``, which starts afresh at
    exec), read until it exits; wait4's ru_maxrss would also count this process's peak at the fork (see above) and
    is used only where /proc is missing. VmHWM never falls, so the last reading misses at most ``every_s`` of growth."""
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc_status(pid).get("VmHWM", 0))
            done.wait(every_s)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(pid, 0)
    done.set()
    watcher.join()
    return {"exit_code": os.waitstatus_to_exitcode(status), "maxrss_kb": peak[0] or usage.ru_maxrss,
            "wait4_maxrss_kb": usage.ru_maxrss}


def _summary(stdout: Path) -> dict[str, Any] | None:
    from claim_assess.bench.engine import parse_summary

    return parse_summary(stdout.read_text(errors="replace"))


def per_claim(series: Sequence[tuple[float, int, int]], claims: int) -> dict[str, Any]:
    """The driver's RSS rise per claim decided while claims are being decided (from the first sample after warm-up
    to the last before every claim is in), and apart from it the peak of the end (result files, summary, report)."""
    running = [s for s in series if claims * WARMUP_SHARE <= s[2] < claims]
    if len(running) < 2 or running[-1][2] <= running[0][2]:
        return {"bytes_per_claim": None, "note": "too few samples after warm-up"}
    first, last = running[0], running[-1]
    peak = max(s[1] for s in running)
    ending = [s[1] for s in series if s[2] >= claims]
    return {"baseline_mb": round(first[1] / 1024, 1), "last_running_mb": round(last[1] / 1024, 1),
            "peak_running_mb": round(peak / 1024, 1), "claims_between": last[2] - first[2],
            "bytes_per_claim": round((peak - first[1]) * 1024 / (last[2] - first[2]), 1),
            "end_peak_mb": round(max(ending) / 1024, 1) if ending else None}


# --- the whole benchmark -------------------------------------------------------------------------------


def run_scale(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    unique = unique_dataset(workdir, args.unique)
    big = tile(unique, args.claims, workdir / f"tiled-{args.claims}")
    report: dict[str, Any] = {
        "dry_run_unique": dry_run(unique, args.unique, workdir, one_core=True),
        "dry_run_big": dry_run(big, args.claims, workdir, one_core=True),
    }
    from claim_assess.run.settings import sample_dataset

    report["first_call"] = first_calls(big, Path(sample_dataset()), workdir, args.first_call_runs)
    if args.real_claims:
        report["real_run"] = real_run(big, args.real_claims, args.actors, workdir)
    report["checks"] = checks(report)
    return report


def checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    real = report.get("real_run") or {}
    rows = [
        ("read + validate, dry run, one core (unique claims; per CPU-second the dry run counted for it; the whole "
         f"dry run with planning: {report['dry_run_unique']['claims_per_s']:,} claims/s)", "claims/s",
         report["dry_run_unique"]["read_validate_claims_per_cpu_s"], ">=", TARGETS["dry_run_claims_per_s"]),
        (f"dry run peak memory, {report['dry_run_big']['claims']:,} claims", "MB",
         report["dry_run_big"]["peak_mb"], "<", TARGETS["dry_run_peak_mb"]),
        (f"start to first LLM call, {report['dry_run_big']['claims']:,}-claim dataset, median of "
         f"{len(report['first_call']['big_runs_s'])} ({_runs(report['first_call']['big_runs_s'])}; "
         f"50-claim sample beside it: median {report['first_call']['sample_s']} s)", "s",
         report["first_call"]["big_s"], "<=", TARGETS["first_call_s"]),
        (f"driver memory per claim, real run of {real.get('claims', 0):,}", "bytes",
         (real.get("memory") or {}).get("bytes_per_claim"), "<", TARGETS["driver_bytes_per_claim"]),
    ]
    out = []
    for what, unit, value, op, goal in rows:
        met = None if value is None else {">=": value >= goal, "<": value < goal, "<=": value <= goal}[op]
        out.append({"measure": what, "unit": unit, "value": value, "goal": f"{op} {goal:,.0f}", "met": met})
    return out


def _runs(values: list[float | None]) -> str:
    return " / ".join("-" if v is None else f"{v}" for v in values)


def table(report: dict[str, Any]) -> Table:
    t = Table(title="scale")
    for column in ("measure", "value", "goal", "met"):
        t.add_column(column)
    for row in report["checks"]:
        value = "-" if row["value"] is None else f"{row['value']:,} {row['unit']}"
        t.add_row(row["measure"], value, row["goal"], {True: "yes", False: "NO", None: "-"}[row["met"]])
    return t


def markdown(report: dict[str, Any]) -> str:
    lines = ["| measure | value | goal | met |", "|---|---|---|---|"]
    for row in report["checks"]:
        value = "-" if row["value"] is None else f"{row['value']:,} {row['unit']}"
        lines.append(f"| {row['measure']} | {value} | {row['goal']} | {'yes' if row['met'] else 'no'} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    report = run_scale(args)
    Console().print(table(report))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(markdown(report), encoding="utf-8")
    broke = any(run.get("exit_code") not in (0, None) for run in (report["dry_run_unique"], report["dry_run_big"],
                                                                   report.get("real_run") or {}))
    missed = any(row["met"] is False for row in report["checks"])
    return EXIT_FAILED if broke or (args.strict and missed) else EXIT_OK


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    raise SystemExit(main())
