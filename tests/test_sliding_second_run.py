"""A strict provider that enforces its per-minute limit over every sliding second and sends no rate-limit headers.

The engine (real actors, over HTTP, against the simulator's ``quantize="sliding"`` mode) must learn that it has to
pace requests evenly: no claim fails and few requests are answered 429. The same claims sent through a limiter that
never switches (a bucket of one second's rate, pausing on each 429: what the engine did before it learned) on the
same kind of server show that the bound is one only a learning limiter meets.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from claim_assess.claims.dataset import read_dataset
from claim_assess.claims.results import read_results
from claim_assess.claims.synthetic import generate, write_dataset
from claim_assess.drivers import assess
from claim_assess.ledger.group_commit import GroupCommitWriter
from claim_assess.ledger.memory import MemoryLedger
from claim_assess.llm.bucket import TokenBucket
from claim_assess.llm.client import LLMClient
from claim_assess.llm.limiter import AttemptOutcome, Permit
from claim_assess.llm.retry import retry_hint
from claim_assess.run.assessor import ClaimAssessor, PolicyBook
from claim_assess.run.progress import ProgressReporter
from claim_assess.simulator.server import SimulatorConfig, start_simulator
from engine_records import attempts, rate_limited

pytestmark = pytest.mark.ray

RPM = 360  # 6 in any sliding second
CLAIMS = 40
# README, "Rate limits": against this provider at most 8 % of the engine's requests are answered 429. Even pacing at
# the limit meets a sliding second only while no request leaves late; on a loaded 2-core machine a few do (measured
# here: 2-4 of ~115 requests alone, 6 of 119 inside the whole suite on a clean clone; each is answered by a 1 % lower
# rate; 1.9 % over the benchmark's 413 requests). A limiter that never learns gets 11-13 % (the test below).
BOUND = 0.08


def strict_provider() -> SimulatorConfig:
    return SimulatorConfig(rpm=RPM, tpm=None, quantize="sliding", omit_rate_limit_headers=True,
                           latency_median_ms=150, latency_p95_ms=400, seed=3)


def test_the_engine_learns_to_pace_a_sliding_second_provider(ray_session, tmp_path, monkeypatch):
    data_dir, workspace = tmp_path / "data", tmp_path / "ws"
    write_dataset(generate(CLAIMS, seed=43), data_dir)
    monkeypatch.setenv("OPENAI_API_KEY", "sim-test-key")
    with start_simulator(strict_provider()) as simulator:
        code = assess.main(["--llm", "openai", "--base-url", simulator.url, "--model", "sim-gpt", "--rpm", str(RPM),
                            "--input", str(data_dir), "--workspace", str(workspace), "--run", "strict",
                            "--actors", "2", "--quiet", "--no-dashboard", "--json"])
        stats = simulator.stats()
    assert code == 0
    rows, _ = read_results(workspace / "runs" / "strict")
    assert len(rows) == CLAIMS and not [r for r in rows if r["decision"] == "FAILED"]
    sent = attempts(workspace, "strict")  # what the engine recorded, not what the simulator counted
    limited = rate_limited(sent)
    assert len(sent) == stats["requests"] and len(limited) == sum(stats["rate_limited"].values())
    assert len(limited) <= BOUND * len(sent), f"{len(limited)} 429s of {len(sent)} requests"
    settings = (workspace / "runs" / "strict" / "settings.json").read_text()
    assert '"paced": true' in settings  # kept for a resume


class OneSecondBucket:
    """A limiter that never switches: one second's rate of burst, and a pause on each 429."""

    def __init__(self) -> None:
        self.bucket = TokenBucket(RPM / 60, RPM / 60)
        self.ids = itertools.count()

    async def acquire(self, tokens: int) -> Permit:
        delay = self.bucket.reserve(1)
        if delay > 0:
            await asyncio.sleep(delay)
        return Permit(f"p{next(self.ids)}", tokens)

    async def release(self, permit: Permit, outcome: AttemptOutcome) -> None:
        if outcome.status == 429:
            self.bucket.pause(retry_hint(outcome.headers, outcome.error_body) or 0.5)


def test_a_limiter_that_never_switches_cannot_meet_that_bound(tmp_path):
    write_dataset(generate(CLAIMS, seed=43), tmp_path)
    dataset = read_dataset(tmp_path)

    async def go() -> dict:
        with start_simulator(strict_provider()) as sim:
            async with LLMClient(base_url=sim.url, api_key="sim", model="sim-gpt", limiter=OneSecondBucket()) as llm:
                core = ClaimAssessor(name="a", run_id="r", book=PolicyBook.of(dataset), client=llm,
                                     append=GroupCommitWriter(MemoryLedger()).append,
                                     reporter=ProgressReporter("a", lambda batch: None))
                # As many claims in flight as the engine keeps (2 actors x 8).
                slots = asyncio.Semaphore(16)

                async def one(entry):
                    async with slots:
                        return await core.assess(entry)

                await asyncio.gather(*(one(e) for e in dataset.entries), return_exceptions=True)
            return sim.stats()

    stats = asyncio.run(go())
    assert sum(stats["rate_limited"].values()) > BOUND * stats["requests"], (
        f"only {stats['rate_limited']} 429s of {stats['requests']}: the bound proves nothing")
