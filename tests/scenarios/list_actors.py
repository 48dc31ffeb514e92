"""Read a run's actors back through Ray's state API, as the dashboard does; run by tests/test_cluster_job.py.

Its own process, so that the token-auth mode (``RAY_AUTH_MODE=token`` in its environment) is this process's
from the start rather than whatever Ray state the test process already holds.
Polls until every expected name is ALIVE in the namespace, or the deadline passes; prints one JSON line:
the alive actors seen last (name, class_name, state, node_id), and whether all expected names were seen.
Usage: python tests/scenarios/list_actors.py DASHBOARD_URL NAMESPACE DEADLINE_S NAME...
"""

from __future__ import annotations

import json
import sys
import time

from ray.util.state import list_actors


def main(address: str, namespace: str, deadline_s: str, *names: str) -> None:
    deadline = time.monotonic() + float(deadline_s)
    seen: list[dict] = []
    error = None
    while time.monotonic() < deadline:
        try:
            actors = list_actors(address=address, filters=[("ray_namespace", "=", namespace), ("state", "=", "ALIVE")],
                                 timeout=10, raise_on_missing_output=False)
        except Exception as exc:  # noqa: BLE001 - the dashboard may still be warming up; report the last error
            error = f"{type(exc).__name__}: {exc}"
        else:
            seen = [{"name": a.name, "class_name": a.class_name, "state": a.state, "node_id": a.node_id}
                    for a in actors]
            if set(names) <= {a["name"] for a in seen}:
                break
        time.sleep(0.2)
    print(json.dumps({"actors": seen, "complete": set(names) <= {a["name"] for a in seen}, "error": error}))


if __name__ == "__main__":
    main(*sys.argv[1:])
