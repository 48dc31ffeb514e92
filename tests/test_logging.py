"""Logging: what an actor logs reaches the driver's output, and no key ever appears, at any level.

The run is the real CLI against a simulator that accepts only one long key, so every request carried it; the
check reads everything the run printed and every file it wrote.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from claim_assess.credentials import Redactor
from claim_assess.logs import guard_secret
from claim_assess.simulator import SimulatorConfig, start_simulator

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.ray  # the real CLI in a subprocess, with a Ray of its own
def test_actor_logs_reach_the_driver_and_the_key_appears_nowhere(tmp_path):
    key = "sk-test-" + secrets.token_hex(20)
    workspace = tmp_path / "ws"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["OPENAI_API_KEY"] = key
    with start_simulator(SimulatorConfig(api_key=key, latency_median_ms=5, latency_p95_ms=10)) as sim:
        done = subprocess.run(
            [sys.executable, "-m", "drivers.assess", "--llm", "openai", "--base-url", sim.url, "--model", "sim-gpt",
             "--actors", "2", "--limit", "10", "--workspace", str(workspace), "--quiet", "--no-dashboard",
             "--log-level", "DEBUG", "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    assert summary["llm"]["requests"] > 0 and summary["llm"]["fatal_errors"] == 0  # every request carried the key
    # Logged inside the actors' processes, printed by the driver (Ray forwards the workers' output).
    assert "assessor-1 ready on node" in done.stderr and "assessor-2 ready on node" in done.stderr
    assert "attempt 1 for claim" in done.stderr  # the client's DEBUG line, from inside an assessor
    assert key not in done.stdout + done.stderr
    leaked = [p for p in workspace.rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
    assert leaked == []


def test_a_record_that_carries_the_key_is_redacted_by_every_handler():
    key = "sk-live-" + "x1" * 20
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(self.format(record))

    root, handler = logging.getLogger(), Keep()
    root.addHandler(handler)
    try:
        guard_secret(key)
        guard_secret(key)  # idempotent: one filter per handler
        logging.getLogger("claim_assess.test").warning("the gateway said: Incorrect API key provided: %s", key)
    finally:
        root.removeHandler(handler)
    assert seen == ["the gateway said: Incorrect API key provided: [redacted]"]
    assert sum(isinstance(f, Redactor) for f in handler.filters) == 1
    assert Redactor("short")("short and sweet") == "short and sweet"  # a toy key would redact ordinary words
