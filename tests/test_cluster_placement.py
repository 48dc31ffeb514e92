"""On a three-node cluster the assessors spread over the workers, the ledger stays on the driver's node,
and the simulator answers assessors on every node (own cluster, in a subprocess: tests/scenarios/placement.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from claim_assess.claims.results import read_results
from claim_assess.claims.synthetic import generate, write_dataset
from claim_assess.drivers import verify

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.ray  # a 3-node cluster of its own, in a subprocess
ACTORS = 9
CLAIMS = 24


def test_assessors_spread_over_workers_and_the_ledger_stays_with_the_driver(tmp_path):
    data_dir, workspace, run_id = tmp_path / "data", tmp_path / "ws", "placement"
    data = generate(CLAIMS, seed=43)
    write_dataset(data, data_dir)
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)  # the scenario builds its own cluster; never join another
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "scenarios" / "placement.py"), str(data_dir), str(workspace), run_id,
         str(ACTORS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, done.stdout[-3000:]
    placement, head, workers = report["placement"], report["head"], set(report["workers"])
    assessors = {name: node for name, node in placement.items() if name.startswith("assessor-")}
    assert len(assessors) == ACTORS, report["found"]
    assert {"rate-limiter", "progress"} <= set(report["found"])

    # The ledger (and so the audit trail and result files) lives where the driver runs: the head here.
    assert placement["ledger"] == report["driver_node"] == head
    # Round-robin over the three nodes, workers first: three assessors each, on both workers too, not all on
    # the head with the driver (zero-CPU assessors had landed at random: Ray ignored their soft affinity).
    names = {head: "head", **{w: f"worker-{i}" for i, w in enumerate(sorted(workers), 1)}}
    where = json.dumps({a: names[n] for a, n in assessors.items()})
    assert workers <= set(assessors.values()), where
    assert Counter(assessors.values()) == {node: ACTORS // 3 for node in (head, *workers)}, where

    # Every claim decided, none FAILED: assessors on every node reached the simulator on the driver's node.
    results, _ = read_results(workspace / "runs" / run_id)
    assert sorted(r["claim_id"] for r in results) == sorted(c["claim_id"] for c in data.claims)
    assert not [r for r in results if r["decision"] == "FAILED"], [r["error"] for r in results if r["error"]]
    llm_calls_by_node: dict[str, int] = defaultdict(int)
    for row in results:
        llm_calls_by_node[assessors[row["actor"]]] += row["llm_calls"]
    assert all(llm_calls_by_node[node] > 0 for node in workers), dict(llm_calls_by_node)
    summary = json.loads((workspace / "runs" / run_id / "summary.json").read_text(encoding="utf-8"))
    assert summary["endpoint"].startswith("http://127.0.0.1:")  # the driver node's IP on this cluster
    assert verify.main(["--workspace", str(workspace)]) == 0
