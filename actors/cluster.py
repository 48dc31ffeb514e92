"""Starting or joining Ray: a fresh local instance on loopback, or the cluster the user names.

Where a run goes:
- ``--address auto|ray://HOST:PORT|HOST:PORT``: join that cluster;
- ``RAY_ADDRESS`` set (as ``ray job submit`` does for the job's driver): join it;
- otherwise a new local Ray bound to 127.0.0.1 (``address="local"``), never some other ``ray start``
  cluster that happens to run on the machine.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from claim_assess.errors import RunError

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class RayConnection:
    address: str
    node_id: str
    node_ip: str
    dashboard_url: str | None
    local: bool


def connect(
    address: str | None,
    *,
    namespace: str,
    dashboard: bool = True,
    num_cpus: int | None = None,
) -> RayConnection:
    """Join ``address`` (or ``RAY_ADDRESS``) or start a local Ray on 127.0.0.1.

    A Ray already initialised in this process (tests share one) is reused as it is.
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    local = address is None
    # Without this Ray binds the machine's public interface; local runs must stay on loopback.
    if local:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    dashboard_url = None
    if not ray.is_initialized():
        # Ray's own start-up chatter would break the live display; the driver prints what matters.
        kwargs: dict = {"namespace": namespace, "log_to_driver": False, "logging_level": logging.ERROR}
        if local:
            kwargs.update(address="local", num_cpus=num_cpus, include_dashboard=dashboard, dashboard_host=LOOPBACK)
        else:
            kwargs["address"] = address
        try:
            context = ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RunError(f"cannot start or join Ray at {address or 'a new local instance'}: {exc}") from exc
        dashboard_url = context.dashboard_url or None
    if dashboard_url and not dashboard_url.startswith("http"):
        dashboard_url = f"http://{dashboard_url}"
    context = ray.get_runtime_context()
    return RayConnection(
        address=context.gcs_address,
        node_id=context.get_node_id(),
        node_ip=ray.util.get_node_ip_address(),
        dashboard_url=dashboard_url,
        local=local,
    )
