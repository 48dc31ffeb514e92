"""python -m drivers.bench: how close the engine runs to the provider's limits (issue 3's benchmark).

Starts one simulator per run with its scenario's configuration, runs the engine against it as a
subprocess (``python -m drivers.assess --llm openai --base-url <sim>``: every run gets its own local Ray,
workspace and process tree, so runs are isolated and memory is measurable), the seed-style baseline
in-process (``drivers.bench_baseline``), prints a table with each target next to its figure and writes
``bench/results.json``. ``--quick`` is a one-minute smoke run of every scenario with small sizes (CI
runs it; its numbers are not judged). ``python -m drivers.bench ledger ...`` runs the ledger benchmark.

Rates come from the simulator's ``/stats`` ``per_second`` counts, over the steady window: the span from
the first admitted request to the last success, less max(10 %, 5 s) at each end (the whole span when
that leaves under 3 s, flagged ``steady: false``). Request utilisation is successful requests per
minute over the RPM limit; token utilisation is admitted tokens per minute (prompt + max_completion_tokens,
what the provider charges against TPM) over the TPM limit. See bench/README.md.

Exit codes: 0 every run completed with one decision per claim and an intact ledger (missed targets only
fail with --strict); 1 a run broke, or a target was missed under --strict; 2 bad usage.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from claim_assess.simulator.server import SimulatorConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = PROJECT_ROOT / "bench" / "results.json"
SIM_MODEL = "sim-gpt"
SIM_KEY = "sim-key"  # the simulator accepts any key unless configured with one
RUN_TIMEOUT_S = 45 * 60

# --- pure parts: windows, rates, percentiles, targets ---------------------------------------------


@dataclass(frozen=True)
class Window:
    """Seconds since the simulator started, both ends included."""

    start: int
    end: int
    steady: bool  # False: the run was too short to trim, the whole active span is used

    @property
    def seconds(self) -> int:
        return max(0, self.end - self.start + 1)


def active_span(per_second: Sequence[Mapping[str, int]]) -> tuple[int, int] | None:
    """From the first second anything was admitted or answered to the last second with a success."""
    busy = [p["t"] for p in per_second if p.get("admitted", 0) or p.get("successes", 0)]
    done = [p["t"] for p in per_second if p.get("successes", 0)]
    if not busy or not done:
        return None
    return min(busy), max(done)


def steady_window(per_second: Sequence[Mapping[str, int]], *, trim_fraction: float = 0.10, min_trim_s: int = 5,
                  min_window_s: int = 3, warmup_s: int = 0, not_before: int | None = None) -> Window | None:
    """The active span less max(trim_fraction of it, min_trim_s) at each end: ramp-up and tail excluded.

    ``warmup_s`` (from the first active second) and ``not_before`` (an absolute second) move the start
    further: a limit enforced per minute starts with a full minute's bucket, so until it has run dry
    a client may lawfully run above the rate; that is not steady state.
    """
    span = active_span(per_second)
    if span is None:
        return None
    first, last = span
    length = last - first + 1
    trim = max(min_trim_s, math.ceil(trim_fraction * length))
    head = max(trim, warmup_s, (not_before - first) if not_before is not None else 0)
    if length - head - trim >= min_window_s:
        return Window(first + head, last - trim, steady=True)
    return Window(first, last, steady=False)


def bucket_drained_at(per_second: Sequence[Mapping[str, int]], *, limit: int, key: str) -> int | None:
    """The first second the provider's per-minute bucket ran dry (under one second of refill left).

    Replays the simulator's bucket (capacity = the per-minute limit, full at start, refilled at
    limit/60 per second) against what it admitted each second (``key``: "admitted" for requests,
    "charged_tokens" for tokens). Until then a client can lawfully run above the rate, on the
    minute's allowance; from then on the rate is the only ceiling. None: it never ran dry.
    """
    if not per_second or limit <= 0:
        return None
    rate = limit / 60.0
    level = float(limit)
    spent = {p["t"]: p.get(key, 0) for p in per_second}
    for t in range(0, max(spent) + 1):
        level = min(float(limit), level + rate) - spent.get(t, 0)
        if level < rate:
            return t
    return None


def window_rates(per_second: Sequence[Mapping[str, int]], window: Window) -> dict[str, float]:
    """Per-minute rates over ``window``; seconds missing from the series count as idle."""
    sums = {"successes": 0, "tokens": 0, "admitted": 0, "charged_tokens": 0}
    for p in per_second:
        if window.start <= p["t"] <= window.end:
            for key in sums:
                sums[key] += p.get(key, 0)
    seconds = window.seconds
    per_min = 60.0 / seconds if seconds else 0.0
    return {
        "successes_per_min": sums["successes"] * per_min,
        "successes_per_s": sums["successes"] / seconds if seconds else 0.0,
        "tokens_per_min": sums["tokens"] * per_min,
        "admitted_per_min": sums["admitted"] * per_min,
        "charged_tokens_per_min": sums["charged_tokens"] * per_min,
    }


def utilization(rates: Mapping[str, float], *, rpm: int | None, tpm: int | None, binding: str | None) -> float | None:
    """Share of the binding limit used: successful requests for RPM, charged tokens for TPM."""
    if binding == "requests" and rpm:
        return rates["successes_per_min"] / rpm
    if binding == "tokens" and tpm:
        return rates["charged_tokens_per_min"] / tpm
    return None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks; None for no values."""
    data = sorted(values)
    if not data:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be between 0 and 100, got {q}")
    pos = (len(data) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


@dataclass(frozen=True)
class Check:
    scenario: str
    name: str
    target: str
    measured: str
    ok: bool | None  # None: could not be measured


def _at_least(scenario: str, name: str, value: float | None, bar: float, fmt: str = "{:.2f}") -> Check:
    if value is None:
        return Check(scenario, name, f">= {fmt.format(bar)}", "n/a", None)
    return Check(scenario, name, f">= {fmt.format(bar)}", fmt.format(value), value >= bar)


def _at_most(scenario: str, name: str, value: float | None, bar: float, fmt: str = "{:.2%}") -> Check:
    if value is None:
        return Check(scenario, name, f"<= {fmt.format(bar)}", "n/a", None)
    return Check(scenario, name, f"<= {fmt.format(bar)}", fmt.format(value), value <= bar)


MEMORY_FLAT_RATIO = 1.25  # the bench's own reading of "flat": late RSS at most 25 % over early RSS


def check_targets(runs: Sequence[Mapping[str, Any]]) -> list[Check]:
    """Issue 3's targets against the measured runs (only for the scenarios present)."""
    checks: list[Check] = []
    by_scenario: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_scenario.setdefault(run["scenario"], []).append(run)

    def first(scenario: str, pred: Callable[[Mapping[str, Any]], bool] = lambda r: r["kind"] == "engine"):
        return next((r for r in by_scenario.get(scenario, []) if pred(r)), None)

    if run := first("rpm-bound"):
        checks.append(_at_least("rpm-bound", "RPM utilization", run.get("utilization"), 0.95))
        checks.append(_at_most("rpm-bound", "429 ratio", run.get("rate_limited_ratio"), 0.02))
    if run := first("tpm-bound"):
        checks.append(_at_least("tpm-bound", "TPM utilization", run.get("utilization"), 0.90))
    if run := first("storm"):
        checks.append(_at_most("storm", "failed claims", run.get("failed_claims"), 0, "{:.0f}"))
        checks.append(_at_most("storm", "429 ratio", run.get("rate_limited_ratio"), 0.05))
        checks.append(_at_least("storm", "utilization", run.get("utilization"), 0.85))
    if "latency-bound" in by_scenario:
        engine4 = first("latency-bound", lambda r: r["kind"] == "engine" and r["workers"] == 4)
        base4 = first("latency-bound", lambda r: r["kind"] == "baseline" and r["workers"] == 4)
        seq = first("latency-bound", lambda r: r["kind"] == "baseline" and r["workers"] == 1)

        def speedup(other):
            if not engine4 or not other or not other.get("claims_per_min") or not engine4.get("claims_per_min"):
                return None
            return engine4["claims_per_min"] / other["claims_per_min"]

        checks.append(_at_least("latency-bound", "4 actors vs baseline N=4", speedup(base4), 3.0, "{:.1f}x"))
        checks.append(_at_least("latency-bound", "4 actors vs sequential", speedup(seq), 10.0, "{:.1f}x"))
    if run := first("ceiling"):
        checks.append(_at_least("ceiling", "successful req/s (2 actors)", run.get("successes_per_s"), 170.0,
                                "{:.0f}"))
        memory = run.get("memory") or {}
        for role, info in sorted((memory.get("roles") or {}).items()):
            ratio = info.get("late_over_early")
            checks.append(_at_most("ceiling", f"memory flat: {role} late/early RSS", ratio, MEMORY_FLAT_RATIO,
                                   "{:.2f}"))
    for run in runs:
        ok = run.get("one_decision_per_claim")
        checks.append(Check(run["scenario"], f"{run['label']}: one decision per claim, none lost",
                            "all", f"{run.get('rows', 0)}/{run.get('claims', 0)}", ok))
        if run["kind"] == "engine":
            ledger = run.get("ledger") or {}
            # A fresh workspace per run: its ledger must hold exactly one decision per claim.
            counted = ledger.get("decisions")
            whole = counted is None or counted == run.get("claims")
            measured = (f"intact, {counted} decisions" if whole else f"intact but {counted} decisions") \
                if ledger.get("ok") else ledger.get("error") or "FAILED"
            checks.append(Check(run["scenario"], f"{run['label']}: ledger verifies", "intact, one per claim",
                                measured, bool(ledger.get("ok")) and whole))
    return checks


# --- scenarios ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    label: str
    kind: str  # "engine" | "baseline"
    workers: int  # actors for the engine, threads for the baseline
    claims: int
    concurrency: int | None = None  # engine claims in flight per actor (None: the engine's default)
    background: bool = False  # run alongside the foreground runs (the slow, CPU-idle sequential baseline)
    sample_memory: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    sim: SimulatorConfig
    runs: tuple[RunSpec, ...]
    binding: str | None = None  # which limit the utilisation is measured against
    timeout_s: float | None = None  # the engine's --timeout
    seed: int = 7

    @property
    def warmup_s(self) -> int:
        """Per-minute limits start with a full minute's bucket: the first 60 s are not steady state."""
        limited = bool(self.sim.rpm or self.sim.tpm)
        return 60 if limited and not self.sim.quantize_per_second else 0


def scenarios(quick: bool) -> tuple[Scenario, ...]:
    """The benchmark's scenarios; ``quick`` shrinks every one to a few seconds of load."""
    n = (lambda full, small: small if quick else full)
    latency = SimulatorConfig(latency_median_ms=n(800, 100), latency_p95_ms=n(2000, 250), seed=1)
    rpm, tpm = n(600, 1200), n(400_000, 1_000_000)
    claims_l, claims_c = n(200, 12), n(20_000, 300)
    return (
        Scenario(
            "latency-bound",
            f"no limits, latency median {latency.latency_median_ms:.0f} ms / p95 {latency.latency_p95_ms:.0f} ms, "
            f"{claims_l} claims: the engine with 1-8 actors against the seed-style baseline (N=1 is sequential)",
            latency,
            tuple(RunSpec(f"engine x{a}", "engine", a, claims_l) for a in n((1, 2, 4, 8), (4,)))
            + (
                RunSpec("baseline N=4", "baseline", 4, claims_l),
                RunSpec("sequential (baseline N=1)", "baseline", 1, claims_l, background=not quick),
            ),
        ),
        Scenario(
            "rpm-bound",
            f"{rpm:,} RPM, ample TPM, latency 300/900 ms, {n(650, 25)} claims (about 3 minutes of load)",
            SimulatorConfig(rpm=rpm, tpm=50_000_000, latency_median_ms=300, latency_p95_ms=900, seed=2),
            (RunSpec("engine x4", "engine", 4, n(650, 25)),),
            binding="requests",
        ),
        Scenario(
            "tpm-bound",
            f"{tpm:,} TPM binding (about 1,000 tokens charged per request), RPM ample, {n(850, 25)} claims",
            SimulatorConfig(rpm=100_000, tpm=tpm, latency_median_ms=300, latency_p95_ms=900, seed=3),
            (RunSpec("engine x4", "engine", 4, n(850, 25)),),
            binding="tokens",
        ),
        Scenario(
            "storm",
            f"{rpm:,} RPM enforced per second, no rate-limit headers, 2 % 5xx, 1 % hangs of 10 s (client timeout "
            f"5 s), {n(300, 25)} claims",
            SimulatorConfig(rpm=rpm, tpm=50_000_000, quantize_per_second=True, omit_rate_limit_headers=True,
                            rate_5xx=0.02, rate_hang=0.01, hang_s=10.0, latency_median_ms=300, latency_p95_ms=900,
                            seed=4),
            (RunSpec("engine x4", "engine", 4, n(300, 25)),),
            binding="requests",
            timeout_s=5.0,
        ),
        Scenario(
            "ceiling",
            f"zero latency, no limits, 2 actors, {claims_c:,} claims: the engine's own ceiling, and its memory",
            SimulatorConfig(latency_median_ms=0, latency_p95_ms=0, seed=5),
            (RunSpec("engine x2", "engine", 2, claims_c, sample_memory=True),),
        ),
    )


SCENARIO_NAMES = tuple(s.name for s in scenarios(quick=False))


# --- memory of a process tree ---------------------------------------------------------------------


def _proc_status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0])  # kB
    except OSError:
        pass
    return out


def _proc_title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: ppid is the 2nd field after it.
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(root: int) -> list[int]:
    children, out, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def role_of(title: str) -> str | None:
    """The run's actor a Ray worker process hosts, from its process title; None for anything else."""
    if not title.startswith("ray::"):
        return None
    # "ray::AssessorActor", "ray::assessor-1:AssessorActor.assess", "ray::LedgerActor.append", ...
    name = title[5:].split(" ")[0].rpartition(":")[2].split(".")[0]
    if name == "assess":  # Ray retitles a worker with the task it runs: "ray::assess CLM-..."
        return "AssessorActor"
    return name if name.endswith("Actor") else None


class MemorySampler:
    """Samples the RSS of a driver process and of the run's actor processes under it, once a second."""

    def __init__(self, root_pid: int, interval_s: float = 1.0) -> None:
        self.root = root_pid
        self.interval_s = interval_s
        self.t0 = time.monotonic()
        self.samples: dict[int, list[tuple[float, int]]] = {}
        self.peaks: dict[int, int] = {}
        self.roles: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)

    def start(self) -> "MemorySampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample()
            except OSError:
                pass
            self._stop.wait(self.interval_s)

    def sample(self) -> None:
        now = time.monotonic() - self.t0
        for pid in descendants(self.root):
            role = "driver" if pid == self.root else role_of(_proc_title(pid))
            if role is None:
                continue
            if self.roles.get(pid) in (None, "IDLE"):
                self.roles[pid] = role
            status = _proc_status(pid)
            if "VmRSS" in status:
                self.samples.setdefault(pid, []).append((now, status["VmRSS"]))
            if "VmHWM" in status:
                self.peaks[pid] = max(self.peaks.get(pid, 0), status["VmHWM"])

    def report(self, driver_maxrss_kb: int | None) -> dict[str, Any]:
        processes = []
        for pid, role in sorted(self.roles.items(), key=lambda kv: (kv[1], kv[0])):
            series = [rss for _, rss in self.samples.get(pid, [])]
            early, late = _early_late(series)
            peak = self.peaks.get(pid, max(series, default=0))
            if role == "driver" and driver_maxrss_kb:
                peak = max(peak, driver_maxrss_kb)  # exact, from wait4()'s rusage
            processes.append({"pid": pid, "role": role, "samples": len(series), "peak_rss_mb": round(peak / 1024, 1),
                              "early_rss_mb": _mb(early), "late_rss_mb": _mb(late),
                              "late_over_early": round(late / early, 3) if early and late else None})
        roles: dict[str, dict[str, Any]] = {}
        for p in processes:
            worst = roles.get(p["role"])
            if worst is None or (p["late_over_early"] or 0) > (worst["late_over_early"] or 0):
                roles[p["role"]] = {k: p[k] for k in ("peak_rss_mb", "early_rss_mb", "late_rss_mb", "late_over_early")}
        return {"processes": processes, "roles": roles, "interval_s": self.interval_s,
                "driver_maxrss_mb": _mb(driver_maxrss_kb)}


def _mb(kb: int | float | None) -> float | None:
    return round(kb / 1024, 1) if kb else None


def _early_late(series: Sequence[int]) -> tuple[int | None, int | None]:
    """Median RSS over the second quarter of the samples (warm) and over the last quarter (late)."""
    if len(series) < 8:
        return None, None
    q = len(series) // 4

    def median(xs: Sequence[int]) -> int:
        return sorted(xs)[len(xs) // 2]

    return median(series[q: 2 * q]), median(series[-q:])


# --- running one engine run -----------------------------------------------------------------------


def _engine_command(spec: RunSpec, scenario: Scenario, base_url: str, dataset: Path, workspace: Path) -> list[str]:
    cmd = [sys.executable, "-m", "drivers.assess", "--llm", "openai", "--base-url", base_url, "--model", SIM_MODEL,
           "--input", str(dataset), "--workspace", str(workspace), "--actors", str(spec.workers),
           "--run-id", _slug(f"{scenario.name}-{spec.label}"), "--json", "--quiet", "--no-dashboard"]
    if scenario.sim.rpm:
        cmd += ["--rpm", str(scenario.sim.rpm)]
    if scenario.sim.tpm:
        cmd += ["--tpm", str(scenario.sim.tpm)]
    if scenario.timeout_s:
        cmd += ["--timeout", str(scenario.timeout_s)]
    if spec.concurrency:
        cmd += ["--concurrency", str(spec.concurrency)]
    return cmd


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text).strip("-")[:64]


def parse_summary(stdout: str) -> dict[str, Any] | None:
    """The JSON summary drivers.assess prints last on stdout (anything before it is ignored)."""
    start = stdout.find("\n{")
    start = 0 if stdout.startswith("{") else (start + 1 if start >= 0 else -1)
    if start < 0:
        return None
    try:
        return json.loads(stdout[start:])
    except ValueError:
        return None


def _run_engine(spec: RunSpec, scenario: Scenario, base_url: str, dataset: Path, workdir: Path) -> dict[str, Any]:
    workspace = workdir / "ws" / _slug(f"{scenario.name}-{spec.label}")
    if workspace.exists():
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # always a fresh local Ray
    env.update(OPENAI_API_KEY=SIM_KEY, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    cmd = _engine_command(spec, scenario, base_url, dataset, workspace)
    out_path, err_path = workspace / "stdout.txt", workspace / "stderr.txt"
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=PROJECT_ROOT, env=env, start_new_session=True)
    sampler = MemorySampler(proc.pid).start() if spec.sample_memory else None
    watchdog = threading.Timer(RUN_TIMEOUT_S, lambda: _kill_group(proc.pid))
    watchdog.start()
    try:
        # wait4 gives this child's own rusage: its exact peak RSS (ru_maxrss, kB on Linux).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    except BaseException:  # Ctrl-C reaches only the bench: its own session spares the engine, so stop it
        _kill_group(proc.pid)
        raise
    finally:
        watchdog.cancel()
        if sampler is not None:
            sampler.stop()
    process_wall = time.monotonic() - started
    stdout = out_path.read_text(errors="replace")
    summary = parse_summary(stdout)
    result: dict[str, Any] = {"exit_code": proc.returncode, "process_wall_s": round(process_wall, 2),
                              "workspace": str(workspace), "command": " ".join(cmd[1:]),
                              "driver_maxrss_mb": _mb(usage.ru_maxrss)}
    if sampler is not None:
        result["memory"] = sampler.report(usage.ru_maxrss)
    if summary is None:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-5:]
        result["error"] = f"no JSON summary (exit {proc.returncode}): " + " | ".join(tail)
        return result
    result["summary"] = summary
    return result


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, 15)  # the group of the one subprocess this bench started (start_new_session)
    except OSError:
        pass


def _read_rows(results_path: str) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(results_path, columns=["claim_id", "decision", "duration_ms"]).to_pylist()


def verify_workspace(workspace: str) -> dict[str, Any]:
    """Run drivers.verify on the workspace's ledger; its JSON report, with ``ok``."""
    from claim_assess.drivers.verify import main as verify_main

    buffer = io.StringIO()
    code = verify_main(["--workspace", workspace, "--json"], out=buffer)
    try:
        report = json.loads(buffer.getvalue())
    except ValueError:
        report = {"error": buffer.getvalue()[-300:]}
    return {"ok": code == 0 and bool(report.get("ok")), "exit_code": code,
            "decisions": report.get("decisions"), "llm_calls": report.get("llm_calls"),
            "error": report.get("error") or ("; ".join(map(str, report.get("problems", [])))[:300] or None)}


# --- datasets -------------------------------------------------------------------------------------


class Datasets:
    """Synthetic datasets by (size, seed), written once per bench invocation."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._made: dict[tuple[int, int], Path] = {}

    def get(self, claims: int, seed: int) -> Path:
        from claim_assess.claims import synthetic

        with self._lock:
            key = (claims, seed)
            if key not in self._made:
                path = self.root / f"claims-{claims}-seed-{seed}"
                synthetic.write_dataset(synthetic.generate(claims, seed), path)
                self._made[key] = path
            return self._made[key]


# --- one run, measured ----------------------------------------------------------------------------


def measure(spec: RunSpec, scenario: Scenario, datasets: Datasets, workdir: Path, *, keep: bool,
            log: Callable[[str], None]) -> dict[str, Any]:
    from claim_assess.claims.dataset import read_dataset
    from claim_assess.simulator.server import start_simulator

    dataset_dir = datasets.get(spec.claims, scenario.seed)
    dataset = read_dataset(dataset_dir)
    expected_ids = [e.claim_id for e in dataset.entries]
    run: dict[str, Any] = {"scenario": scenario.name, "label": spec.label, "kind": spec.kind,
                           "workers": spec.workers, "claims": len(expected_ids),
                           "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                           # Other work on the machine skews every figure, the ceiling most: say how busy it was.
                           "loadavg_before": _loadavg()}
    log(f"[{scenario.name}] {spec.label}: {len(expected_ids)} claims ...")
    rows: list[dict[str, Any]] = []
    with start_simulator(scenario.sim) as sim:
        if spec.kind == "engine":
            outcome = _run_engine(spec, scenario, sim.url, dataset_dir, workdir)
            stats = sim.stats()
            summary = outcome.pop("summary", None)
            run.update(outcome)
            if summary is not None:
                run["wall_s"] = summary.get("wall_seconds")
                run["retries"] = (summary.get("llm") or {}).get("retries")
                run["engine_rate_limited"] = (summary.get("llm") or {}).get("rate_limited")
                run["complete"] = summary.get("complete")
                results = (summary.get("files") or {}).get("results")
                if results and Path(results).exists():
                    rows = _read_rows(results)
                run["ledger"] = verify_workspace(run["workspace"])
        else:
            from claim_assess.drivers.bench_baseline import run_baseline

            result = run_baseline(dataset.entries, dataset.policies, dataset.policy_errors, base_url=sim.url,
                                  api_key=SIM_KEY, model=SIM_MODEL, workers=spec.workers)
            stats = sim.stats()
            rows = [{"claim_id": c.claim_id, "decision": c.decision, "duration_ms": c.duration_ms}
                    for c in result.claims]
            run["wall_s"] = round(result.wall_s, 3)
            run["exit_code"] = 0
            # The openai client retries silently; the server saw every attempt, the pipeline every call.
            run["retries"] = stats["requests"] - sum(c.calls for c in result.claims)
    run["loadavg_after"] = _loadavg()
    run.update(_run_metrics(rows, expected_ids, stats, scenario, run.get("wall_s")))
    if spec.kind == "engine" and not keep and run.get("workspace") and run.get("one_decision_per_claim") \
            and (run.get("ledger") or {}).get("ok"):
        shutil.rmtree(run["workspace"], ignore_errors=True)
        run["workspace"] = None
    log(f"[{scenario.name}] {spec.label}: done in {run.get('wall_s')} s, "
        f"{run.get('claims_per_min') or 0:.0f} claims/min, util {_fmt(run.get('utilization'), '{:.3f}')}")
    return run


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _run_metrics(rows: Sequence[Mapping[str, Any]], expected_ids: Sequence[str], stats: Mapping[str, Any],
                 scenario: Scenario, wall_s: float | None) -> dict[str, Any]:
    """What the table and targets need, from the result rows and the simulator's /stats."""
    got = [r["claim_id"] for r in rows]
    lost = sorted(set(expected_ids) - set(got))
    durations = [r["duration_ms"] for r in rows if r.get("duration_ms") is not None]
    per_second = stats.get("per_second", [])
    drained = None
    if scenario.warmup_s and scenario.binding:
        limit = scenario.sim.rpm if scenario.binding == "requests" else scenario.sim.tpm
        key = "admitted" if scenario.binding == "requests" else "charged_tokens"
        drained = bucket_drained_at(per_second, limit=limit or 0, key=key)
    # Steady state starts once the provider's minute bucket is dry, or after its first minute if the
    # client never drained it (then it ran at or under the rate, and the minute's burst is spent anyway).
    window = steady_window(per_second, warmup_s=scenario.warmup_s if drained is None else 0, not_before=drained)
    rates = window_rates(per_second, window) if window else {}
    limited = sum((stats.get("rate_limited") or {}).values())
    requests = stats.get("requests", 0)
    claims = len(rows)
    return {
        "rows": claims,
        "lost": lost[:20],
        "lost_count": len(lost),
        "duplicates": len(got) - len(set(got)),
        "one_decision_per_claim": not lost and len(got) == len(set(got)) == len(expected_ids),
        # No rows at all means the run broke: "0 failed" would read as a pass.
        "failed_claims": sum(1 for r in rows if r.get("decision") == "FAILED") if rows or not expected_ids else None,
        "decisions": {d: sum(1 for r in rows if r.get("decision") == d)
                      for d in sorted({r.get("decision") for r in rows})},
        "claims_per_min": round(claims / wall_s * 60, 1) if wall_s else None,
        "p50_ms": percentile(durations, 50),
        "p95_ms": percentile(durations, 95),
        "window": asdict(window) | {"seconds": window.seconds, "warmup_s": scenario.warmup_s,
                                     "bucket_drained_at": drained} if window else None,
        "successes_per_min": _r(rates.get("successes_per_min")),
        "successes_per_s": _r(rates.get("successes_per_s")),
        "tokens_per_min": _r(rates.get("tokens_per_min")),
        "charged_tokens_per_min": _r(rates.get("charged_tokens_per_min")),
        "admitted_per_min": _r(rates.get("admitted_per_min")),
        "rpm_limit": scenario.sim.rpm,
        "tpm_limit": scenario.sim.tpm,
        "binding": scenario.binding,
        "utilization": _r(utilization(rates, rpm=scenario.sim.rpm, tpm=scenario.sim.tpm, binding=scenario.binding),
                          4) if rates else None,
        "requests": requests,
        "successes": stats.get("successes"),
        "rate_limited": limited,
        "rate_limited_by_kind": stats.get("rate_limited"),
        "rate_limited_ratio": round(limited / requests, 4) if requests else None,
        "faults": stats.get("faults"),
        # The simulator's own per-second counts, so any window can be recomputed (or charted) later.
        "per_second": [[p["t"], p.get("admitted", 0), p.get("successes", 0), p.get("charged_tokens", 0),
                        p.get("tokens", 0)] for p in per_second],
        "per_second_columns": ["t", "admitted", "successes", "charged_tokens", "tokens"],
    }


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _fmt(value: Any, fmt: str = "{}", missing: str = "-") -> str:
    return missing if value is None else fmt.format(value)


# --- the table ------------------------------------------------------------------------------------


def runs_table(runs: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="claim-assess benchmark", show_lines=False)
    for name, justify in (("scenario", "left"), ("run", "left"), ("wall s", "right"), ("claims/min", "right"),
                          ("ok req/min", "right"), ("tokens/min (charged)", "right"), ("util", "right"),
                          ("429s", "right"), ("retries", "right"), ("failed", "right"),
                          ("p50 / p95 s", "right"), ("decisions", "right"), ("ledger", "left")):
        table.add_column(name, justify=justify)
    for r in runs:
        limit_r = f" / {r['rpm_limit']:,}" if r.get("rpm_limit") else ""
        limit_t = f" / {r['tpm_limit']:,}" if r.get("tpm_limit") else ""
        table.add_row(
            r["scenario"], r["label"], _fmt(r.get("wall_s"), "{:.1f}"), _fmt(r.get("claims_per_min"), "{:,.0f}"),
            _fmt(r.get("successes_per_min"), "{:,.0f}") + limit_r,
            f"{_fmt(r.get('tokens_per_min'), '{:,.0f}')} ({_fmt(r.get('charged_tokens_per_min'), '{:,.0f}')})"
            + limit_t,
            _fmt(r.get("utilization"), "{:.3f}"),
            f"{r.get('rate_limited', 0)} ({_fmt(r.get('rate_limited_ratio'), '{:.1%}')})",
            _fmt(r.get("retries")), _fmt(r.get("failed_claims")),
            f"{_fmt(_s(r.get('p50_ms')), '{:.1f}')} / {_fmt(_s(r.get('p95_ms')), '{:.1f}')}",
            f"{r.get('rows', 0)}/{r.get('claims', 0)}" + ("" if r.get("one_decision_per_claim") else " !"),
            _ledger_cell(r),
        )
    return table


def _ledger_cell(run: Mapping[str, Any]) -> str:
    ledger = run.get("ledger")
    if ledger is None:
        return "n/a (none)" if run["kind"] == "baseline" else "not verified"
    return "intact" if ledger.get("ok") else "FAILED"


def _s(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


def targets_table(checks: Sequence[Check], judged: bool) -> Table:
    title = "targets" if judged else "targets (quick run: shown, not judged)"
    table = Table(title=title)
    for name in ("scenario", "target", "bar", "measured", "ok"):
        table.add_column(name)
    for c in checks:
        mark = "n/a" if c.ok is None else ("[green]yes[/]" if c.ok else "[red]NO[/]")
        table.add_row(c.scenario, c.name, c.target, c.measured, mark)
    return table


def memory_table(runs: Sequence[Mapping[str, Any]]) -> Table | None:
    rows = [(r, p) for r in runs for p in (r.get("memory") or {}).get("processes", [])]
    if not rows:
        return None
    table = Table(title="memory (RSS MB; early = median of the 2nd quarter of samples, late = of the last quarter)")
    for name in ("run", "process", "pid", "peak", "early", "late", "late/early"):
        table.add_column(name)
    for r, p in rows:
        table.add_row(f"{r['scenario']} {r['label']}", p["role"], str(p["pid"]), _fmt(p["peak_rss_mb"]),
                      _fmt(p["early_rss_mb"]), _fmt(p["late_rss_mb"]), _fmt(p["late_over_early"], "{:.2f}"))
    return table


def markdown(runs: Sequence[Mapping[str, Any]], checks: Sequence[Check]) -> str:
    """The runs and targets as Markdown tables, for README's "Performance" section."""
    lines = ["| scenario | run | wall s | claims/min | ok req/min (limit) | tokens/min charged (limit) | util | "
             "429s | retries | failed | p50 / p95 s | decided | ledger |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        lines.append(" | ".join([
            "", r["scenario"], r["label"], _fmt(r.get("wall_s"), "{:.1f}"), _fmt(r.get("claims_per_min"), "{:,.0f}"),
            _fmt(r.get("successes_per_min"), "{:,.0f}") + (f" ({r['rpm_limit']:,})" if r.get("rpm_limit") else ""),
            _fmt(r.get("charged_tokens_per_min"), "{:,.0f}") + (f" ({r['tpm_limit']:,})" if r.get("tpm_limit") else ""),
            _fmt(r.get("utilization"), "{:.3f}"),
            f"{r.get('rate_limited', 0)} ({_fmt(r.get('rate_limited_ratio'), '{:.1%}')})",
            _fmt(r.get("retries")), _fmt(r.get("failed_claims")),
            f"{_fmt(_s(r.get('p50_ms')), '{:.1f}')} / {_fmt(_s(r.get('p95_ms')), '{:.1f}')}",
            f"{r.get('rows', 0)}/{r.get('claims', 0)}",
            _ledger_cell(r), ""]).strip())
    lines += ["", "| scenario | target | bar | measured | met |", "|---|---|---|---|---|"]
    for c in checks:
        met = "n/a" if c.ok is None else ("yes" if c.ok else "**no**")
        lines.append(f"| {c.scenario} | {c.name} | {c.target} | {c.measured} | {met} |")
    return "\n".join(lines) + "\n"


# --- the command ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m drivers.bench", description=__doc__.split("\n\n")[0],
                                epilog="python -m drivers.bench ledger --help: the ledger benchmark")
    p.add_argument("--quick", action="store_true", help="a one-minute smoke run of every scenario, small sizes")
    p.add_argument("--scenario", action="append", choices=SCENARIO_NAMES, default=[],
                   help="run only this scenario (repeatable; default: all)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"results file (default {DEFAULT_OUT})")
    p.add_argument("--workdir", help="datasets and workspaces go here (default: a temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep every workspace (default: keep only broken ones)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--markdown", help="also write the tables as Markdown to this file (for README)")
    return p


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def run_bench(selected: Sequence[Scenario], workdir: Path, *, keep: bool, console: Console) -> list[dict[str, Any]]:
    """Every run of the selected scenarios; background runs alongside the foreground ones."""
    datasets = Datasets(workdir / "datasets")
    log = (lambda msg: console.print(f"{datetime.now(UTC):%H:%M:%S} {msg}", markup=False, highlight=False,
                                     soft_wrap=True))
    ordered: list[tuple[int, Scenario, RunSpec]] = []
    for scenario in selected:
        for spec in scenario.runs:
            ordered.append((len(ordered), scenario, spec))
    results: dict[int, dict[str, Any]] = {}
    background = []

    def guarded(index: int, scenario: Scenario, spec: RunSpec) -> None:
        try:
            results[index] = measure(spec, scenario, datasets, workdir, keep=keep, log=log)
        except Exception as exc:  # one broken run must not lose the others' numbers
            results[index] = {"scenario": scenario.name, "label": spec.label, "kind": spec.kind,
                              "workers": spec.workers, "claims": spec.claims, "error": f"{type(exc).__name__}: {exc}",
                              "one_decision_per_claim": False}
            log(f"[{scenario.name}] {spec.label}: BROKE: {exc}")

    for index, scenario, spec in ordered:
        if spec.background:
            datasets.get(spec.claims, scenario.seed)
            thread = threading.Thread(target=guarded, args=(index, scenario, spec), name=f"bench-{spec.label}",
                                      daemon=True)
            thread.start()
            background.append(thread)
    for index, scenario, spec in ordered:
        if spec.background:
            continue
        if spec.sample_memory:
            # A memory/ceiling run measures the machine: nothing else may run beside it.
            for thread in background:
                thread.join()
        guarded(index, scenario, spec)
    for thread in background:
        thread.join()
    return [results[i] for i, _, _ in ordered]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "ledger":
        import importlib

        try:
            bench_ledger = importlib.import_module("drivers.bench_ledger")  # another helper's module: lazily
        except ModuleNotFoundError as exc:
            if exc.name != "drivers.bench_ledger":
                raise
            print("the ledger benchmark (drivers/bench_ledger.py) is not in this checkout yet", file=sys.stderr)
            return 2
        return bench_ledger.main(argv[1:])
    args = build_parser().parse_args(argv)
    # Wide tables in logs (nohup, CI) instead of wrapped cells.
    console = Console() if sys.stdout.isatty() else Console(width=200)
    chosen = set(args.scenario) or set(SCENARIO_NAMES)
    selected = [s for s in scenarios(args.quick) if s.name in chosen]
    own_tmp = None
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        own_tmp = tempfile.mkdtemp(prefix="claim-assess-bench-")
        workdir = Path(own_tmp)
    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    runs = run_bench(selected, workdir, keep=args.keep, console=console)
    checks = check_targets(runs)
    broken = [r for r in runs if r.get("error") or r.get("exit_code") not in (0, None)
              or not r.get("one_decision_per_claim") or (r["kind"] == "engine" and not (r.get("ledger") or {}).get("ok"))]
    console.print(runs_table(runs))
    memory = memory_table(runs)
    if memory is not None:
        console.print(memory)
    console.print(targets_table(checks, judged=not args.quick))
    for scenario in selected:
        console.print(f"  {scenario.name}: {scenario.description}", highlight=False)
    document = {
        "command": "python -m drivers.bench " + " ".join(argv),
        "quick": args.quick,
        "started_at": started_at.isoformat(timespec="seconds"),
        "bench_wall_s": round(time.monotonic() - t0, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "commit": _git_commit(),
        "bench_maxrss_mb": _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "steady_window": "active span (first admitted request .. last success) less max(10 %, 5 s) at each end",
        "scenarios": [{"name": s.name, "description": s.description, "simulator": asdict(s.sim),
                       "binding": s.binding, "engine_timeout_s": s.timeout_s,
                       "runs": [asdict(r) for r in s.runs]} for s in selected],
        "runs": runs,
        "targets": [asdict(c) for c in checks],
        "broken_runs": [f"{r['scenario']} {r['label']}" for r in broken],
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    console.print(f"results: {out}", highlight=False)
    if args.markdown:
        Path(args.markdown).write_text(markdown(runs, checks), encoding="utf-8")
        console.print(f"markdown: {args.markdown}", highlight=False)
    if own_tmp and not broken and not args.keep:
        shutil.rmtree(own_tmp, ignore_errors=True)
    elif broken:
        console.print(f"[red]broken runs:[/] {', '.join(document['broken_runs'])} (workspaces under {workdir})")
    missed = [c for c in checks if c.ok is False]
    if broken:
        return 1
    return 1 if (args.strict and not args.quick and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
