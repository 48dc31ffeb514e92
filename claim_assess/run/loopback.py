"""Proof that a local run listens on loopback only: the OS's socket table, for this process and its children.

A local run starts Ray's GCS, raylet, dashboard, agents and workers as children of the driver (the simulator
runs in the driver). ``listeners(pid)`` lists every TCP socket any of those processes listens on; the run
refuses to go on when one is not on a loopback address (Ray's token is then the only thing between the network
and code execution on this machine). Linux's IPv4-mapped form of 127.0.0.1 (``::ffff:127.0.0.1``, what Ray's
gRPC servers report) counts as loopback.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Listener:
    pid: int
    process: str
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        return is_loopback(self.address)

    def __str__(self) -> str:
        return f"{self.process} (pid {self.pid}) on {self.address}:{self.port}"


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _processes(root: int) -> list[psutil.Process]:
    try:
        top = psutil.Process(root)
        return [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _listening(process: psutil.Process) -> list[Listener]:
    """One process's listening sockets (per process, not psutil.net_connections: macOS needs root for that)."""
    try:
        name = process.name()
        connections = process.net_connections(kind="tcp")
    except psutil.Error:  # it exited while we looked
        return []
    return [Listener(process.pid, name, c.laddr.ip, c.laddr.port)
            for c in connections if c.status == psutil.CONN_LISTEN and c.laddr]


def listeners(root: int | None = None) -> list[Listener]:
    """Every listening TCP socket of ``root`` (default: this process) and its descendants."""
    found = [listener for process in _processes(os.getpid() if root is None else root)
             for listener in _listening(process)]
    return sorted(found, key=lambda listener: (listener.pid, listener.port))
