"""A local run listens on 127.0.0.1 only, on the path users take: the real CLI, from an environment without
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER (the tests' own conftest sets it, so the child's environment drops it).

The check reads the OS's socket table itself (psutil, and `ss` where it exists), with code of its own: the
engine's own check (claim_assess.run.loopback) is not what proves the engine right here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from claim_assess.claims.synthetic import generate, write_dataset
from claim_assess.errors import RunError
from claim_assess.run import execute
from claim_assess.run.loopback import Listener, is_loopback

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK_PREFIXES = ("127.", "::1", "::ffff:127.")


def tree(pid: int) -> set[int]:
    try:
        parent = psutil.Process(pid)
        return {pid, *(child.pid for child in parent.children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


def listening(pids: set[int]) -> list[tuple[int, str]]:
    found = []
    for pid in pids:
        try:
            for conn in psutil.Process(pid).net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found.append((pid, conn.laddr.ip))
        except psutil.Error:
            continue
    return found


def ss_listening(pids: set[int]) -> list[tuple[int, str]] | None:
    if shutil.which("ss") is None:
        return None
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        address = fields[3].rsplit(":", 1)[0].strip("[]")
        for pid in pids:
            if f"pid={pid}," in line:
                found.append((pid, address))
    return found


@pytest.mark.ray  # the real CLI in a subprocess, with a Ray of its own
def test_a_plain_local_run_listens_on_loopback_only(tmp_path):
    write_dataset(generate(40, seed=21), tmp_path / "data")  # still deciding long after its third claim
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_ADDRESS")}
    driver = subprocess.Popen(
        [sys.executable, "-m", "drivers.assess", "--actors", "2", "--input", str(tmp_path / "data"),
         "--workspace", str(tmp_path / "ws"), "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    journal = None
    deadline = time.monotonic() + 180
    try:
        # Synchronize on work being done: assessors, ledger, limiter and Ray's own processes are all up then.
        while time.monotonic() < deadline and driver.poll() is None:
            journals = list((tmp_path / "ws" / "runs").glob("*/outcomes.jsonl"))
            if journals and journals[0].read_bytes().count(b"\n") >= 3:
                journal = journals[0]
                break
            time.sleep(0.05)
        assert journal is not None, "the run never got to its third claim"
        pids = tree(driver.pid)
        seen = listening(pids)
        by_ss = ss_listening(pids)
    finally:
        output, _ = driver.communicate(timeout=180)
    assert driver.returncode == 0, output
    assert len(pids) >= 6 and len(seen) >= 8  # the driver, GCS, raylet, agents and the actors' workers
    exposed = [(pid, ip) for pid, ip in seen if not ip.startswith(LOOPBACK_PREFIXES)]
    assert exposed == [], exposed
    if by_ss is not None:
        assert by_ss and [(p, ip) for p, ip in by_ss if not ip.startswith(LOOPBACK_PREFIXES)] == []
    assert "Ray: a local instance on 127.0.0.1; all" in output  # and the run says so


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True), ("127.8.9.1", True),
    ("0.0.0.0", False), ("::", False), ("192.0.2.2", False), ("::ffff:192.0.2.2", False), ("", False),
])
def test_what_counts_as_loopback(address, loopback):
    assert is_loopback(address) is loopback


def test_a_run_refuses_to_go_on_when_one_of_its_sockets_is_exposed(monkeypatch):
    exposed = [Listener(11, "raylet", "::ffff:127.0.0.1", 3001), Listener(12, "gcs_server", "0.0.0.0", 6379)]
    monkeypatch.setattr(execute, "listeners", lambda: exposed)
    with pytest.raises(RunError, match=r"1 of its sockets do not: gcs_server \(pid 12\) on 0\.0\.0\.0:6379"):
        execute.check_loopback()
    monkeypatch.setattr(execute, "listeners", lambda: exposed[:1])
    assert execute.check_loopback() == 1
