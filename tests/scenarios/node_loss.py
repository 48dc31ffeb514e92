"""Node-loss scenario, run by tests/test_node_loss.py in its own process (it needs its own Ray cluster).

A head plus two worker nodes on 127.0.0.1 (``ray.cluster_utils.Cluster``); the driver runs against it
with ``--address``; once the run has decided a few claims, the worker node holding an assessor is
removed. Prints one JSON line: the exit code and where the actors ran.
Usage: python tests/scenarios/node_loss.py DATA_DIR WORKSPACE RUN_ID
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import ray
from three_nodes import start_three_nodes  # a sibling module: this file runs as a script

from claim_assess.drivers import assess
from claim_assess.ledger.canonical import parse_canonical
from claim_assess.run.workspace import Workspace


def journaled(run_dir: Path) -> int:
    path = Workspace(run_dir.parent.parent).run(run_dir.name).journal
    return path.read_bytes().count(b"\n") if path.exists() else 0


def decided(workspace: Path, run_id: str) -> set[str]:
    path = workspace / "ledger" / "decisions.jsonl"
    lines = path.read_bytes().splitlines() if path.exists() else []
    return {parse_canonical(line)["claim_id"] for line in lines if parse_canonical(line)["run_id"] == run_id}


def main(data_dir: str, workspace: str, run_id: str) -> None:
    cluster, workers = start_three_nodes("node-loss")
    run_dir = Path(workspace) / "runs" / run_id
    result: dict = {}
    driver = threading.Thread(
        target=lambda: result.update(code=assess.main(
            ["--address", cluster.address, "--run", run_id, "--input", data_dir, "--workspace", workspace,
             "--actors", "4", "--rpm", "400", "--quiet"])),
        daemon=True,
    )
    driver.start()
    deadline = time.monotonic() + 120
    while journaled(run_dir) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    namespace = f"claim-assess.{run_id}"
    names = ["ledger", *(f"assessor-{i}" for i in range(1, 5))]
    placement = {name: ray.get(ray.get_actor(name, namespace=namespace).node_id.remote()) for name in names}
    worker_ids = {w.node_id for w in workers}
    victim = next((w for w in workers if w.node_id in set(placement.values()) - {placement["ledger"]}), None)
    if victim is None:
        raise SystemExit(f"no assessor landed on a worker node, nothing to remove: {placement}")
    # What the victim's assessors held at the moment of removal: the progress board's claims per assessor, less
    # those the ledger had already decided (a board report is at most half a second old).
    on_victim = {name for name, node in placement.items() if name.startswith("assessor-") and node == victim.node_id}
    board = ray.get(ray.get_actor("progress", namespace=namespace).snapshot.remote())
    held = {claim_id for view in board.actors if view.name in on_victim for claim_id, _ in view.claims}
    decided_then = decided(Path(workspace), run_id)
    removed_at = time.time()
    cluster.remove_node(victim)
    driver.join(timeout=300)
    head_id = cluster.head_node.node_id
    print(json.dumps({
        "code": result.get("code"),
        "removed_node": victim.node_id,
        "assessors_on_workers": sum(1 for name, node in placement.items()
                                    if name.startswith("assessor-") and node in worker_ids),
        "ledger_on_head": placement.get("ledger") == head_id,
        "removed_at": removed_at,
        "in_flight_on_removed_node": sorted(held - decided_then),
    }))
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:4])
