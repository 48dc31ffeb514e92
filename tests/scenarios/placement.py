"""Placement scenario, run by tests/test_cluster_placement.py in its own process (it needs its own Ray cluster).

A head plus two worker nodes on 127.0.0.1 (``ray.cluster_utils.Cluster``); the driver runs in this process
against it with ``--address``. As soon as the run's actors exist, each is asked which node it runs on.
Prints one JSON line: the driver's exit code, the node of every actor, the head's, workers' and driver's nodes.
Usage: python tests/scenarios/placement.py DATA_DIR WORKSPACE RUN_ID ACTORS
"""

from __future__ import annotations

import json
import sys
import threading
import time

import ray
from three_nodes import start_three_nodes  # a sibling module: this file runs as a script

from claim_assess.drivers import assess


def find_actors(names: list[str], namespace: str, deadline: float) -> dict:
    """Handles of the named actors, once all of them exist (they are created together, before any claim)."""
    handles: dict = {}
    while len(handles) < len(names) and time.monotonic() < deadline:
        for name in names:
            if name not in handles:
                try:
                    handles[name] = ray.get_actor(name, namespace=namespace)
                except ValueError:  # not created yet
                    pass
        time.sleep(0.02)
    return handles


def main(data_dir: str, workspace: str, run_id: str, actors: str) -> None:
    cluster, workers = start_three_nodes("placement")
    result: dict = {}
    driver = threading.Thread(
        target=lambda: result.update(code=assess.main(
            ["--address", cluster.address, "--run", run_id, "--input", data_dir, "--workspace", workspace,
             "--actors", actors, "--rpm", "600", "--quiet"])),
        daemon=True,
    )
    driver.start()
    namespace = f"claim-assess.{run_id}"
    names = ["ledger", "rate-limiter", "progress", *(f"assessor-{i}" for i in range(1, int(actors) + 1))]
    handles = find_actors(names, namespace, time.monotonic() + 120)
    placement = {}
    for name, handle in handles.items():
        if name.startswith("assessor-") or name == "ledger":
            placement[name] = ray.get(handle.node_id.remote(), timeout=60)
    driver.join(timeout=300)
    print(json.dumps({
        "code": result.get("code"),
        "found": sorted(handles),
        "placement": placement,
        "head": cluster.head_node.node_id,
        "workers": [w.node_id for w in workers],
        "driver_node": ray.get_runtime_context().get_node_id(),
    }))
    ray.shutdown()
    cluster.shutdown()


if __name__ == "__main__":
    main(*sys.argv[1:5])
