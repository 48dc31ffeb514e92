"""Shared test setup: one local Ray per session (only for tests that ask for it), on loopback.

The environment variable must be set before Ray is imported anywhere: without it Ray binds the
machine's public interface, which must never carry test traffic.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def ray_session():
    """One Ray for the whole session: ray.init costs 3-5 s here, so tests share it."""
    import ray

    if not ray.is_initialized():
        # address="local": a fresh instance, never another `ray start` cluster that happens to run here.
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 namespace="claim-assess-tests")
    yield ray
    ray.shutdown()


# Two speeds (`pytest -m "not slow"` for the unit and contract layer, plain `pytest` for everything). A test is
# marked by what it uses, not by someone remembering: asking for one of these fixtures starts Ray (3-5 s, then
# seconds per run on 2 cores), a real S3 server, or a pip build. Modules that are slow by nature (subprocesses
# of the CLI, clusters, kill cycles, a browser) say so with `pytestmark`; tests/test_suite_shape.py holds both.
RAY_FIXTURES = frozenset({"ray_session"})
SLOW_FIXTURES = RAY_FIXTURES | {"s3", "wheel"}
COLLECTED = pytest.StashKey[list]()  # every collected test, -m deselection or not (tests/test_suite_shape.py)


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m deselection reads the marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & RAY_FIXTURES:
            item.add_marker(pytest.mark.ray)
        # Every Ray test is slow, whether it shares the session's Ray or starts its own in a subprocess.
        if used & SLOW_FIXTURES or item.get_closest_marker("ray"):
            item.add_marker(pytest.mark.slow)
    config.stash[COLLECTED] = list(items)


def pytest_sessionfinish(session, exitstatus):
    # pytest exits 5 when it collected no test; for this project that is a failure, never a pass.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (a simulator restarted on it keeps a run's endpoint URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def edit_claim(dataset: Path, index: int, **changes) -> dict:
    """Change fields of the claim on line ``index`` of a dataset's claims.jsonl (a claim edited after its run);
    returns the claim as it was."""
    path = dataset / "claims.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    claim = json.loads(lines[index])
    lines[index] = json.dumps({**claim, **changes})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return claim
