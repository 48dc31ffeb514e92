"""One engine run, as a user makes it: ``python -m drivers.assess ... --json`` in a subprocess of its own.

Why a subprocess: every run gets its own local Ray (the engine binds it to 127.0.0.1 itself), workspace and
process tree, so runs are isolated and the driver's and actors' memory is measurable. The engine's JSON summary
is read back with ``RunSummary.from_json``, its result rows with pyarrow, its ledger with ``drivers.verify``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claim_assess.bench.memory import MemorySampler, mb
from claim_assess.bench.scenarios import RunSpec, Scenario
from claim_assess.run.summary import RunSummary

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SIM_MODEL = "sim-gpt"
SIM_KEY = "sim-key"  # the simulator accepts any key unless configured with one
RUN_TIMEOUT_S = 45 * 60


@dataclass(frozen=True)
class EngineRun:
    """What one engine subprocess left: how it exited, what it printed, and its memory when sampled."""

    exit_code: int
    process_wall_s: float  # Ray's start-up included, unlike the summary's wall_seconds
    workspace: Path
    command: str
    driver_maxrss_mb: float | None
    summary: RunSummary | None  # None: the engine printed no readable summary (see error)
    error: str | None = None
    memory: dict[str, Any] | None = None  # MemorySampler.report(), for runs that sample memory

    def to_json(self) -> dict[str, Any]:
        """The fields results.json keeps of every engine run."""
        out: dict[str, Any] = {"exit_code": self.exit_code, "process_wall_s": self.process_wall_s,
                               "workspace": str(self.workspace), "command": self.command,
                               "driver_maxrss_mb": self.driver_maxrss_mb}
        if self.memory is not None:
            out["memory"] = self.memory
        if self.error is not None:
            out["error"] = self.error
        return out


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text).strip("-")[:64]


def engine_command(spec: RunSpec, scenario: Scenario, base_url: str, dataset: Path, workspace: Path) -> list[str]:
    cmd = [sys.executable, "-m", "drivers.assess", "--llm", "openai", "--base-url", base_url, "--model", SIM_MODEL,
           "--input", str(dataset), "--workspace", str(workspace), "--actors", str(spec.workers),
           "--run", slug(f"{scenario.name}-{spec.label}"), "--json", "--quiet", "--no-dashboard",
           "--no-preflight"]  # the benchmark measures the claims' requests; the preflight is one more, before them
    if scenario.pass_limits and scenario.sim.rpm:  # the provider's limits, as a user who knows their tier passes them
        cmd += ["--rpm", str(scenario.sim.rpm)]
    if scenario.pass_limits and scenario.sim.tpm:
        cmd += ["--tpm", str(scenario.sim.tpm)]
    if scenario.timeout_s:
        cmd += ["--timeout", str(scenario.timeout_s)]
    if spec.concurrency:
        cmd += ["--concurrency", str(spec.concurrency)]
    return cmd


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


def read_summary(stdout: str) -> tuple[RunSummary | None, str | None]:
    """The engine's summary as the typed record every reader shares, or why there is none to read."""
    data = parse_summary(stdout)
    if data is None:
        return None, "no JSON summary"
    try:
        return RunSummary.from_json(data), None
    except (KeyError, TypeError, ValueError) as exc:
        return None, f"unreadable JSON summary ({type(exc).__name__}: {exc})"


def run_engine(spec: RunSpec, scenario: Scenario, base_url: str, dataset: Path, workdir: Path) -> EngineRun:
    workspace = workdir / "ws" / slug(f"{scenario.name}-{spec.label}")
    if workspace.exists():
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # always a fresh local Ray
    env["OPENAI_API_KEY"] = SIM_KEY
    cmd = engine_command(spec, scenario, base_url, dataset, workspace)
    out_path, err_path = workspace / "stdout.txt", workspace / "stderr.txt"
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=PROJECT_ROOT, env=env, start_new_session=True)
    sampler = MemorySampler(proc.pid).start() if spec.sample_memory else None
    exit_code, maxrss_kb = _wait(proc, sampler)
    summary, error = read_summary(out_path.read_text(errors="replace"))
    if error is not None:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-5:]
        error = f"{error} (exit {exit_code}): " + " | ".join(tail)
    return EngineRun(exit_code=exit_code, process_wall_s=round(time.monotonic() - started, 2), workspace=workspace,
                     command=" ".join(cmd[1:]), driver_maxrss_mb=mb(maxrss_kb), summary=summary, error=error,
                     memory=sampler.report(maxrss_kb) if sampler is not None else None)


def _wait(proc: subprocess.Popen, sampler: MemorySampler | None) -> tuple[int, int]:
    """The engine's exit code and its driver's exact peak RSS (kB), under a watchdog."""
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
    return proc.returncode, usage.ru_maxrss


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, 15)  # the group of the one subprocess this bench started (start_new_session)
    except OSError:
        pass


def read_rows(results_path: str) -> list[dict[str, Any]]:
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
