"""Where a run's actors go: the ledger on the driver's node, assessors round-robin over the nodes.

``ASSESSOR_CPUS`` is not zero, on purpose. Ray 2.60 hands a zero-resource actor's creation to a random node's
scheduler, which ignores a soft node affinity: nine zero-CPU assessors aimed round-robin at three nodes landed
at random (and a node was often left without any). With any resource request, creation goes through the
driver's node, which honours the affinity. A thousandth of a CPU lets a thousand assessors share one core.
"""

from __future__ import annotations

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from claim_assess.errors import RunError

ASSESSOR_CPUS = 0.001


def check_capacity(actors: int) -> None:
    cpus = ray.cluster_resources().get("CPU", 0.0)
    if actors * ASSESSOR_CPUS > cpus:
        raise RunError(f"--actors {actors} is too many for this cluster's {cpus:g} CPUs "
                       f"(each assessor reserves {ASSESSOR_CPUS} CPU): they could never all start")


def ledger_placement(driver_node_id: str) -> NodeAffinitySchedulingStrategy:
    """Hard affinity: the ledger's files are the driver's workspace."""
    return NodeAffinitySchedulingStrategy(driver_node_id, soft=False)


def spread(count: int, driver_node_id: str) -> list[NodeAffinitySchedulingStrategy]:
    """Assessors round-robin over the live nodes, workers first (the driver's node holds the ledger).

    Soft affinity: if a node is lost, Ray restarts its assessors wherever there is room. (Ray's "SPREAD" is best
    effort and, with zero-CPU actors, can leave a node empty.)
    """
    nodes = sorted(
        (node["NodeID"] for node in ray.nodes() if node.get("Alive")),
        key=lambda node_id: (node_id == driver_node_id, node_id),
    )
    return [NodeAffinitySchedulingStrategy(nodes[i % len(nodes)], soft=True) for i in range(count)]
