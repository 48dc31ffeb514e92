"""Phase marks: where a driver is in its run, for tests and operators (unset, the normal case, they cost nothing).

A run goes through these phases, in this order (``enter`` is called at the start of each):

    start | resume-start   settings.json is there (a new run wrote it, a resume read it); Ray is not started yet
    decide                 the fleet is up and the claim loop starts (claims are decided and journaled)
    checkpoint             every claim is back: the ledger is flushed and its final checkpoint signed (fleet.close)
    results                Ray is shut down; results.parquet and line_items.parquet are written from the journal
    summary                summary.json is written
    report                 report.html is written
    done                   every file is written; the driver is about to exit

Two environment variables, read at each call (seven per run):

- ``CLAIM_ASSESS_PHASE_FILE=PATH``: append ``<phase> <pid> <time.monotonic()>`` to PATH and fsync it, so a test
  (or an operator watching a long run) sees which phase the driver entered, even if it is killed a moment later.
  The monotonic clock is the machine's (CLOCK_MONOTONIC), so a watcher can time the phases it saw.
- ``CLAIM_ASSESS_PHASE_HOLD=PHASE[,PHASE...]`` with ``CLAIM_ASSESS_PHASE_GATE=FIFO``: on entering a held phase
  (after marking it) the driver opens the named pipe FIFO for reading and waits until a writer has opened and
  closed it. Some phases last milliseconds (summary, report, the final checkpoint): a test holds the driver at
  the start of one to kill it there for certain, without betting on timing (tests/test_kill_anywhere.py).

Why not a log line: logging is buffered and configurable, and a killed driver's last lines may never reach
its output; the phase file is written and fsynced before the phase's work starts.
"""

from __future__ import annotations

import os
import time

PHASE_FILE, PHASE_HOLD, PHASE_GATE = "CLAIM_ASSESS_PHASE_FILE", "CLAIM_ASSESS_PHASE_HOLD", "CLAIM_ASSESS_PHASE_GATE"
PHASES = ("start", "resume-start", "decide", "checkpoint", "results", "summary", "report", "done")


def enter(phase: str) -> None:
    """Mark ``phase`` (and wait at its gate if it is held); nothing at all when the variables are unset."""
    path = os.environ.get(PHASE_FILE)
    if path:
        _mark(path, phase)
    held = os.environ.get(PHASE_HOLD)
    if held and phase in held.split(","):
        _wait_at_gate(os.environ[PHASE_GATE])


def _mark(path: str, phase: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{phase} {os.getpid()} {time.monotonic():.6f}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _wait_at_gate(fifo: str) -> None:
    # Opening a FIFO for reading blocks until a writer opens it; reading returns b"" once that writer closed it.
    with open(fifo, "rb") as gate:
        while gate.read(4096):
            pass
