"""Shared test setup: one local Ray per session (only for tests that ask for it), on loopback.

The environment variable must be set before Ray is imported anywhere: without it Ray binds the
machine's public interface, which must never carry test traffic.
"""

from __future__ import annotations

import os

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


def pytest_sessionfinish(session, exitstatus):
    # pytest exits 5 when it collected no test; for this project that is a failure, never a pass.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
