"""Starting or joining Ray: a fresh local instance on loopback, or the cluster the user names.

Where a run goes:
- ``--address auto|ray://HOST:PORT|HOST:PORT``: join that cluster;
- ``RAY_ADDRESS`` set (as ``ray job submit`` does for the job's driver): join it;
- otherwise a new local Ray bound to 127.0.0.1 (``address="local"``), never some other ``ray start``
  cluster that happens to run on the machine.

Loopback, whatever the import order: Ray picks the address it binds from ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER``,
which it reads once, when ``ray`` is first imported, and which every process it starts (GCS, raylet, agents,
workers) reads again at its own start. So a local run sets the variable for those processes and, when ``ray``
was already imported here, the constant Ray derived from it. (Passing ``_node_ip_address="127.0.0.1"`` is not
enough: Ray turns a loopback node address into the host's own address.) The run then checks the socket table
(``claim_assess.run.loopback``) instead of trusting this.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass

import ray

from claim_assess.errors import RunError
from claim_assess.logs import quiet_unless_debug

LOOPBACK = "127.0.0.1"
_LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@dataclass(frozen=True)
class RayConnection:
    address: str
    node_id: str
    node_ip: str
    dashboard_url: str | None
    local: bool  # a Ray this run started on this machine (not a cluster it joined)
    started: bool  # this call started or joined Ray (False: it was already initialised in this process)


def pin_local_ray_to_loopback() -> None:
    os.environ[_LOOPBACK_ONLY] = "0"
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:  # Ray is imported (it always is by now: this module imports it) and has read it
        constants.ENABLE_RAY_CLUSTER = False


def connect(address: str | None, *, namespace: str, dashboard: bool = True, num_cpus: int | None = None,
            log_level: str = "WARNING") -> RayConnection:
    """Join ``address`` (or ``RAY_ADDRESS``) or start a local Ray on 127.0.0.1.

    A Ray already initialised in this process (tests share one) is reused as it is.
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    local = address is None
    if local:
        pin_local_ray_to_loopback()

    dashboard_url, started = None, not ray.is_initialized()
    if started:
        kwargs: dict = {
            "namespace": namespace,
            # Workers' output reaches the driver (and `ray job logs`): an actor's warning is seen. Their
            # loggers are set up by Ray's LoggingConfig at the run's --log-level.
            "log_to_driver": True,
            "logging_config": ray.LoggingConfig(encoding="TEXT", log_level=log_level),
            "logging_level": logging.ERROR,
        }
        if local:
            kwargs.update(address="local", num_cpus=num_cpus, include_dashboard=dashboard, dashboard_host=LOOPBACK)
        else:
            kwargs["address"] = address
        try:
            with quiet_unless_debug(log_level):
                context = ray.init(**kwargs)
        except Exception as exc:  # noqa: BLE001 - Ray raises a bare Exception when its node times out starting
            # (seen on an overloaded machine: "The current node timed out during startup"); it was a traceback
            raise RunError(f"cannot start or join Ray at {address or 'a new local instance'}: {exc}") from exc
        dashboard_url = context.dashboard_url or None
    if dashboard_url and not dashboard_url.startswith("http"):
        dashboard_url = f"http://{dashboard_url}"
    context = ray.get_runtime_context()
    return RayConnection(address=context.gcs_address, node_id=context.get_node_id(),
                         node_ip=ray.util.get_node_ip_address(), dashboard_url=dashboard_url, local=local,
                         started=started)


def disconnect(connection: RayConnection) -> None:
    """Shut down the Ray this run started or joined (never one a caller started in this process)."""
    if connection.started and ray.is_initialized():
        ray.shutdown()
