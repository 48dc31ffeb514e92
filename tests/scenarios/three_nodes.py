"""A head plus two worker nodes on 127.0.0.1 (``ray.cluster_utils.Cluster``), ready for a run to spread over.

Shared by the cluster scenarios (each runs in its own process because it needs its own Ray cluster).
"""

from __future__ import annotations

import os
import time

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402


@ray.remote(num_cpus=0)
def node_of() -> str:
    return ray.get_runtime_context().get_node_id()


def wait_until_spreadable(node_ids: set[str], deadline: float) -> None:
    """Until the head's scheduler can reach every node: a raylet learns of newly joined nodes a moment after
    they register (seconds on a loaded machine) and schedules only over the nodes it knows, so until then a
    soft node affinity to a worker falls back. A real cluster is long past this."""
    count = 2 * len(node_ids)
    while set(ray.get([node_of.options(scheduling_strategy="SPREAD").remote() for _ in range(count)])) < node_ids:
        if time.monotonic() > deadline:
            raise RuntimeError("the head's scheduler never learned of every node")
        time.sleep(0.2)


def start_three_nodes(namespace: str) -> tuple[Cluster, list]:
    """The cluster and its two worker nodes, with this process connected and every node schedulable."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace=namespace, log_to_driver=False)
    wait_until_spreadable({cluster.head_node.node_id, *(w.node_id for w in workers)}, time.monotonic() + 90)
    return cluster, workers
