"""The results document, bench/results.json: the command, the machine, the commit, each scenario's simulator
configuration, every run's figures and the targets. It is run output (git-ignored), never committed.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from claim_assess.bench.engine import PROJECT_ROOT
from claim_assess.bench.memory import mb
from claim_assess.bench.scenarios import Scenario
from claim_assess.bench.targets import Check

DEFAULT_OUT = PROJECT_ROOT / "bench" / "results.json"
STEADY_WINDOW = "active span (first admitted request .. last success) less max(10 %, 5 s) at each end"


def is_broken(run: Mapping[str, Any]) -> bool:
    """The run did not finish with one decision per claim and, for the engine, an intact ledger."""
    return bool(run.get("error") or run.get("exit_code") not in (0, None) or not run.get("one_decision_per_claim")
                or (run["kind"] == "engine" and not (run.get("ledger") or {}).get("ok")))


def git_commit() -> str | None:
    """The checkout's commit, with ``+dirty`` when tracked files have changes."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def results_document(argv: Sequence[str], *, quick: bool, started_at: datetime, wall_s: float,
                     selected: Sequence[Scenario], runs: Sequence[Mapping[str, Any]],
                     checks: Sequence[Check]) -> dict[str, Any]:
    return {
        "command": "python -m drivers.bench " + " ".join(argv),
        "quick": quick,
        "started_at": started_at.isoformat(timespec="seconds"),
        "bench_wall_s": round(wall_s, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "commit": git_commit(),
        "bench_maxrss_mb": mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "steady_window": STEADY_WINDOW,
        "scenarios": [{"name": s.name, "description": s.description, "simulator": asdict(s.sim),
                       "binding": s.binding, "engine_timeout_s": s.timeout_s,
                       "runs": [asdict(r) for r in s.runs]} for s in selected],
        "runs": list(runs),
        "targets": [asdict(c) for c in checks],
        "broken_runs": [f"{r['scenario']} {r['label']}" for r in runs if is_broken(r)],
    }


def write_document(document: Mapping[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
