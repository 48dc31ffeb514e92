"""ClaimAssessor, the assessor's work without Ray: the real client against the simulator, the real group-commit
writer over the in-memory ledger, and a reporter whose batches the test reads."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from claim_assess.claims.dataset import read_dataset
from claim_assess.errors import QuotaExhausted
from claim_assess.ledger.group_commit import GroupCommitWriter
from claim_assess.ledger.memory import MemoryLedger
from claim_assess.llm.client import LLMClient
from claim_assess.llm.limiter import NoLimit
from claim_assess.run import assessor as assessor_module
from claim_assess.run.assessor import ClaimAssessor, PolicyBook
from claim_assess.run.progress import ProgressReporter
from claim_assess.run.settings import sample_dataset
from claim_assess.simulator import SimulatorConfig, start_simulator


class Metrics:
    def __init__(self) -> None:
        self.attempts: list = []
        self.decided: list[str] = []

    def attempt(self, record) -> None:
        self.attempts.append(record)

    def claim_decided(self, decision: str) -> None:
        self.decided.append(decision)

    def flush(self) -> None:
        pass


def assess(entries, *, fault_script=()):
    """Assess ``entries`` concurrently on one ClaimAssessor; (outcomes or exceptions, ledger, batches, metrics)."""
    dataset = read_dataset(sample_dataset())
    ledger, batches, metrics = MemoryLedger(), [], Metrics()

    async def go():
        writer = GroupCommitWriter(ledger)
        with start_simulator(SimulatorConfig(latency_median_ms=1, latency_p95_ms=2, fault_script=fault_script)) as sim:
            async with LLMClient(base_url=sim.url, api_key="sim", model="sim-gpt", limiter=NoLimit()) as client:
                core = ClaimAssessor(name="assessor-1", run_id="run-t", book=PolicyBook.of(dataset), client=client,
                                     append=writer.append, reporter=ProgressReporter("assessor-1", batches.append),
                                     metrics=metrics)
                results = await asyncio.gather(*(core.assess(e) for e in entries), return_exceptions=True)
                core.flush()
                return results

    return asyncio.run(go()), ledger, batches, metrics


def sample(n: int):
    return read_dataset(sample_dataset()).entries[:n]


def test_each_claim_is_decided_once_and_the_row_agrees_with_the_ledger():
    outcomes, ledger, batches, metrics = assess(sample(8))
    records = {r.claim_id: r for r in ledger.decisions()}
    assert len(records) == 8 == len(outcomes)
    for outcome in outcomes:
        record = records[outcome.row.claim_id]
        assert (outcome.row.decision, outcome.row.payout, outcome.seq) == (record.decision, Decimal(record.payout), record.seq)
        assert outcome.row.llm_calls == outcome.usage.requests == len(record.llm_calls)
    calls = {c["call_id"] for c in ledger.calls()}
    assert {ref.call_id for r in records.values() for ref in r.llm_calls} == calls  # every attempt is cited
    assert sorted(metrics.decided) == sorted(o.row.decision for o in outcomes)
    assert len(metrics.attempts) == sum(o.usage.requests for o in outcomes) > 0
    finished = [f.claim_id for b in batches for f in b.finished]
    assert sorted(finished) == sorted(o.row.claim_id for o in outcomes)
    assert sum(b.usage.requests for b in batches) == len(calls)


def test_a_bug_costs_one_claim_recorded_failed_never_the_run(monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("a bug in the pipeline")

    monkeypatch.setattr(assessor_module, "assess_claim", broken)
    (outcome,), ledger, _, _ = assess(sample(1))
    assert outcome.row.decision == "FAILED" and outcome.row.error == "internal error: RuntimeError: a bug in the pipeline"
    assert [r.decision for r in ledger.decisions()] == ["FAILED"]


def test_quota_exhausted_leaves_the_claims_that_needed_the_model_undecided():
    entries = sample(8)
    results, ledger, batches, _ = assess(entries, fault_script=("insufficient_quota",) * 100)
    stopped = {e.claim_id for e, r in zip(entries, results) if isinstance(r, QuotaExhausted)}
    decided = {r.claim_id for r in ledger.decisions()}
    assert stopped and not stopped & decided  # no FAILED decision for a claim that never had a fair try
    assert decided == {e.claim_id for e, r in zip(entries, results) if not isinstance(r, BaseException)}
    left = {claim_id for b in batches for claim_id, stage in b.stages if stage == ""}
    assert left == stopped  # the display is told those claims left the assessor undecided
