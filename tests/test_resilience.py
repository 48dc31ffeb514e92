"""Nothing lost, nothing doubled: kill -9 of the driver, Ctrl-C / SIGTERM, and killed actors.

The driver tests run ``python -m drivers.assess`` as real subprocesses (each with its own local Ray on
127.0.0.1) and interrupt them at moments chosen by how many decisions they have journaled; the actor
test runs the driver in this process on the shared Ray and kills its actors by name while it works.
Nothing here sleeps for work to happen: it polls files or actors with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from claim_assess.claims.results import read_results
from claim_assess.claims.synthetic import generate, write_dataset
from claim_assess.drivers import assess, verify
from claim_assess.run.workspace import Workspace
from claim_assess.ledger.canonical import parse_canonical
from engine_records import assert_every_run_replays

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_S = 120


def wait_for(condition, what: str, deadline_s: float = DEADLINE_S, every_s: float = 0.05):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")


def journaled(run_dir: Path) -> int:
    path = Workspace(run_dir.parent.parent).run(run_dir.name).journal
    return path.read_bytes().count(b"\n") if path.exists() else 0


def ledger_decisions(workspace: Path, run_id: str) -> list[dict]:
    path = workspace / "ledger" / "decisions.jsonl"
    if not path.exists():  # killed before the ledger was created
        return []
    return [d for d in map(parse_canonical, path.read_bytes().splitlines()) if d["run_id"] == run_id]


def start_driver(*args: str) -> subprocess.Popen:
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "drivers.assess", "--quiet", "--no-dashboard", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def assert_each_claim_decided_once(workspace: Path, run_id: str, claim_ids: set[str], acknowledged: set[str]):
    decisions = ledger_decisions(workspace, run_id)
    final = Counter(d["claim_id"] for d in decisions if d["decision"] != "FAILED")
    assert set(final) == claim_ids, "every claim has a decision"
    assert max(final.values()) == 1, "no claim was decided twice"
    assert acknowledged <= set(final), "no acknowledged decision was lost"
    rows, _ = read_results(workspace / "runs" / run_id)
    assert sorted(r["claim_id"] for r in rows) == sorted(claim_ids)
    by_claim = {d["claim_id"]: d for d in decisions if d["decision"] != "FAILED"}
    for row in rows:  # the result files agree with the ledger, the truth
        assert row["decision_id"] == by_claim[row["claim_id"]]["decision_id"]
        assert f"{row['payout']:.2f}" == by_claim[row["claim_id"]]["payout"]
    assert verify.main(["--workspace", str(workspace)]) == 0
    assert assert_every_run_replays(workspace) >= len(claim_ids)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Path, set[str]]:
    directory = tmp_path_factory.mktemp("resilience-data")
    data = generate(40, seed=23)
    write_dataset(data, directory)
    return directory, {c["claim_id"] for c in data.claims}


# kill -9 of the driver, then --resume: tests/test_kill_anywhere.py (every phase, seeded, decide@N among them).


@pytest.mark.ray  # the real CLI in a subprocess, with a Ray of its own
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_gracefully_with_partial_results_and_a_resume_hint(dataset, tmp_path, signum, code):
    data_dir, claim_ids = dataset
    run_id = f"stop-{code}"
    run_dir = tmp_path / "runs" / run_id
    driver = start_driver("--run", run_id, "--input", str(data_dir), "--workspace", str(tmp_path),
                          "--rpm", "300", "--actors", "2")
    wait_for(lambda: journaled(run_dir) >= 5 or driver.poll() is not None, "5 decisions")
    driver.send_signal(signum)
    output, _ = driver.communicate(timeout=120)
    assert driver.returncode == code, output
    assert f"--resume --run {run_id}" in output
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["complete"] is False
    assert summary["resume_command"] == f"claim-assess assess --resume --run {run_id} --workspace {tmp_path}"
    partial, _ = read_results(run_dir)
    assert 5 <= len(partial) < len(claim_ids)
    assert verify.main(["--workspace", str(tmp_path)]) == 0
    if signum != signal.SIGINT:
        return  # what a resume finds is the same after either signal: resumed once, after Ctrl-C (15 s of CI saved)
    resumed = start_driver("--resume", "--run", run_id, "--workspace", str(tmp_path))
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert_each_claim_decided_once(tmp_path, run_id, claim_ids, {r["claim_id"] for r in partial})


def test_killed_actors_cost_no_claim_and_no_duplicate(ray_session, dataset, tmp_path):
    ray = ray_session
    data_dir, claim_ids = dataset
    run_id = "actor-kills"
    namespace = f"claim-assess.{run_id}"
    run_dir = tmp_path / "runs" / run_id
    result: dict = {}
    driver = threading.Thread(
        target=lambda: result.update(code=assess.main(
            ["--run", run_id, "--input", str(data_dir), "--workspace", str(tmp_path), "--actors", "2",
             "--rpm", "400", "--quiet", "--no-dashboard"])),
        daemon=True,
    )
    driver.start()

    def kill(name: str) -> None:
        ray.kill(ray.get_actor(name, namespace=namespace), no_restart=False)

    wait_for(lambda: journaled(run_dir) >= 4, "4 decisions")
    kill("assessor-1")
    wait_for(lambda: journaled(run_dir) >= 10, "10 decisions")
    kill("ledger")
    wait_for(lambda: journaled(run_dir) >= 16, "16 decisions after the ledger restarted")
    kill("rate-limiter")
    kill("progress")
    wait_for(lambda: journaled(run_dir) >= 22, "22 decisions")
    kill("assessor-2")
    driver.join(timeout=300)
    assert not driver.is_alive() and result["code"] == 0
    acknowledged = {d["claim_id"] for d in ledger_decisions(tmp_path, run_id)}
    assert_each_claim_decided_once(tmp_path, run_id, claim_ids, acknowledged)
