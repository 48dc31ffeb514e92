"""Losing a worker node mid-run still ends with every claim decided exactly once (own 3-node cluster): including
the claims that node's assessors held in flight when it went."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from claim_assess.claims.synthetic import generate, write_dataset
from claim_assess.drivers import verify
from claim_assess.ledger.canonical import parse_canonical
from engine_records import assert_every_run_replays

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.ray  # a 3-node cluster of its own, in a subprocess


@pytest.mark.ray
def test_removing_a_worker_node_mid_run_loses_and_doubles_nothing(tmp_path):
    data_dir = tmp_path / "data"
    data = generate(30, seed=31)
    write_dataset(data, data_dir)
    workspace = tmp_path / "ws"
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "scenarios" / "node_loss.py"), str(data_dir), str(workspace), "nodeloss"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    assert report["assessors_on_workers"] >= 1 and report["ledger_on_head"]
    decisions = [parse_canonical(line) for line in (workspace / "ledger" / "decisions.jsonl").read_bytes().splitlines()]
    final = Counter(d["claim_id"] for d in decisions if d["decision"] != "FAILED")
    assert set(final) == {c["claim_id"] for c in data.claims} and max(final.values()) == 1
    # The removed node really held claims: ones in flight on its assessors, undecided when it went, and each of
    # them decided exactly once afterwards, by an assessor that was still (or again) alive.
    lost = set(report["in_flight_on_removed_node"])
    assert lost, f"the removed node held no claim in flight: {report}"
    by_claim = {d["claim_id"]: d for d in decisions if d["decision"] != "FAILED"}
    assert lost <= set(by_claim) and all(final[c] == 1 for c in lost)
    assert all(datetime.fromisoformat(by_claim[c]["created_at"].replace("Z", "+00:00")).timestamp()
               > report["removed_at"] for c in lost)
    assert verify.main(["--workspace", str(workspace)]) == 0
    assert assert_every_run_replays(workspace) > 0
