"""Starting or joining Ray, safely bound to loopback when local."""

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
    dashboard_url: str | None
    local: bool


def connect(
    address: str | None,
    *,
    namespace: str,
    dashboard: bool = True,
    num_cpus: int | None = None,
) -> RayConnection:
    """Join ``address`` (``auto``, ``ray://...``, ``HOST:PORT``) or start a local Ray on 127.0.0.1.

    A Ray already initialised in this process (tests share one) is reused as it is.
    """
    # Without this Ray binds the machine's public interface; local runs must stay on loopback.
    if address is None:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    if not ray.is_initialized():
        # Ray's own start-up chatter would break the live display; the driver prints what matters.
        kwargs: dict = {"namespace": namespace, "log_to_driver": False, "logging_level": logging.ERROR}
        if address is None:
            kwargs.update(num_cpus=num_cpus, include_dashboard=dashboard, dashboard_host=LOOPBACK)
        else:
            kwargs["address"] = address
        try:
            context = ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RunError(f"cannot start or join Ray at {address or 'a new local instance'}: {exc}") from exc
        dashboard_url = context.dashboard_url or None
        gcs = context.address_info.get("gcs_address", address or "")
    else:
        dashboard_url, gcs = None, ray.get_runtime_context().gcs_address
    if dashboard_url and not dashboard_url.startswith("http"):
        dashboard_url = f"http://{dashboard_url}"
    return RayConnection(
        address=gcs,
        node_id=ray.get_runtime_context().get_node_id(),
        dashboard_url=dashboard_url,
        local=address is None,
    )
