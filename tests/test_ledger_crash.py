"""Crash safety: a writer killed with SIGKILL at random moments loses nothing it acknowledged.

A "zygote" subprocess imports the ledger once and forks one writer per kill cycle (starting a fresh
Python for each of 200+ kills would cost most of a minute). The writer opens the real FileLedger
(recovering whatever the previous kill left), appends random batches with calls, and prints an
acknowledgement line after each append_many returned, i.e. after its fsyncs. The test reads a random
number of acknowledgements (0 = kill during open and recovery) and SIGKILLs the writer at once, while
it is in the middle of its next batch or checkpoint. Then: the ledger reopens (recovery), every
acknowledged record is present with the acknowledged hash, verify passes, and recovering again
changes no byte. (SIGKILL cannot tear a single write(2) of a regular file, so torn tails are made
synthetically in test_ledger_store.py; what kills produce here are calls without their decision,
records written but not acknowledged, and missing checkpoints.) LEDGER_SOAK=N runs N kill cycles instead of the default 200.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from claim_assess.ledger.store import FileLedger
from claim_assess.ledger.verify import verify_ledger

pytestmark = pytest.mark.slow  # a soak: 200 kill cycles of a forked writer
CYCLES = int(os.environ.get("LEDGER_SOAK", "0")) or 200
CYCLES_PER_LEDGER = 12  # a fresh ledger now and then keeps the per-cycle checks cheap

ZYGOTE = r"""
import os, random, sys
from claim_assess.ledger.records import DecisionDraft
from claim_assess.ledger.store import FileLedger

def writer(directory, seed):
    rng = random.Random(seed)
    store = FileLedger.open(directory, checkpoint_every=rng.choice([3, 7, 50]))
    os.write(1, f"open {store.height}\n".encode())
    n = 0
    while True:
        batch = []
        for _ in range(rng.randint(1, 6)):
            n += 1
            claim = f"S{seed}-{n}"
            calls = [{
                "schema": "llm_call/1", "call_id": f"call_{seed:08x}{n * 4 + k:08x}", "run_id": "r",
                "claim_id": claim, "purpose": "coverage", "item_id": None, "attempt": 1, "model": "m",
                "endpoint": "http://127.0.0.1:1/v1", "request": {"messages": [{"role": "user", "content": "x" * rng.randint(0, 3000)}]},
                "response": "{}", "status": 200, "error": None, "prompt_tokens": 1, "completion_tokens": 1,
                "latency_ms": 5, "started_at": "2026-11-29T10:00:00.000Z", "finished_at": "2026-11-29T10:00:00.005Z",
            } for k in range(rng.randint(0, 3))]
            draft = DecisionDraft(run_id="r", claim_id=claim, policy_id=None,
                decision=rng.choice(["APPROVE", "DENY", "FAILED"]), reasons=("R",), payout="1.00", currency="EUR",
                confidence=None, input_digest=None, policy_digest=None, versions={"engine": "t"}, actor="a",
                error=None)
            batch.append((draft, calls))
        if rng.random() < 0.2:
            store.checkpoint()
        records = store.append_many(batch)
        os.write(1, "".join(f"ack {r.idempotency_key} {r.seq} {r.record_hash}\n" for r in records).encode())

for line in sys.stdin:
    directory, seed = line.split()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            writer(directory, int(seed))
        except BaseException as exc:
            os.write(1, f"error {type(exc).__name__}: {exc}\n".encode())
        os._exit(0)
    print(f"pid {pid}", flush=True)
    os.waitpid(pid, 0)
    print(f"dead {pid}", flush=True)
"""


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.suffix == ".jsonl" or ".torn-" in p.name}


def test_sigkill_at_random_moments_loses_nothing_acknowledged(tmp_path):
    rng = random.Random(20261129)
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    acked: dict[str, tuple[int, str]] = {}
    directory = tmp_path / "ledger-0"
    pid = None
    kills_during_open = 0
    torn_tails = 0
    unacknowledged_survivors = 0
    try:
        for cycle in range(CYCLES):
            if cycle % CYCLES_PER_LEDGER == 0:
                directory = tmp_path / f"ledger-{cycle}"
                acked = {}
            zygote.stdin.write(f"{directory} {cycle}\n")
            zygote.stdin.flush()
            wanted = rng.choice([0, 1, 1, 2, 3, 5, 8])
            if wanted == 0:
                kills_during_open += 1
            pid, seen_acks = None, 0
            while pid is None or seen_acks < wanted:  # the writer's lines may come before "pid"
                line = zygote.stdout.readline()
                assert line and not line.startswith(("error", "dead")), line
                if line.startswith("pid"):
                    pid = int(line.split()[1])
                elif line.startswith("ack"):
                    _, key, seq, record_hash = line.split()
                    acked[key] = (int(seq), record_hash)
                    seen_acks += 1
            os.kill(pid, signal.SIGKILL)
            # drain to the zygote's "dead" line: the writer is gone and its lock released
            while True:
                line = zygote.stdout.readline()
                assert line, "zygote exited"
                assert not line.startswith("error"), line
                if line.startswith("ack"):  # acknowledged before the kill landed: it counts too
                    _, key, seq, record_hash = line.split()
                    acked[key] = (int(seq), record_hash)
                if line.startswith("dead"):
                    break
            if not (directory / "ledger.json").exists():
                continue  # killed before the ledger existed
            with FileLedger.open(directory) as store:  # recovery
                torn_tails += len(store.recovered)
                unacknowledged_survivors += store.height > len(acked)
                for key, (seq, record_hash) in acked.items():
                    record = store.get(key)
                    assert record is not None, f"cycle {cycle}: acknowledged {key} is lost"
                    assert (record.seq, record.record_hash) == (seq, record_hash)
            report = verify_ledger(directory, jobs=1)
            assert report.ok, (cycle, report.problems)
            before = _snapshot(directory)
            FileLedger.open(directory).close()  # recovering again changes nothing
            assert _snapshot(directory) == before
    finally:
        if pid is not None:  # a failed assertion may leave a writer running: never leak it
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        zygote.stdin.close()
        try:
            zygote.wait(timeout=30)
        except subprocess.TimeoutExpired:
            zygote.kill()
            zygote.wait()
    assert kills_during_open > 10
    print(f"{CYCLES} kills: {kills_during_open} during open, {unacknowledged_survivors} in flight after an fsync, "
          f"{torn_tails} torn tails")  # fmt: skip
    # How often a kill landed between a batch's write and its acknowledgement depends on timing (it is
    # common on a busy machine, rare on a quiet one), so it is reported, not asserted; the guarantees
    # above hold on every cycle either way. A torn tail needs a power cut (the kernel finishes a
    # write(2) before a SIGKILL lands); tests/test_ledger_store.py makes those deliberately.
