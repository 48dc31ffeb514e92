"""The claims pipeline over real HTTP: ClaimAdvisor -> LLMClient -> the simulator, no Ray.

Generated claims must land on the outcome their labels predict for the simulator's task model, and the
attempt records must account for every request the simulator served.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from claim_assess.claims import synthetic
from claim_assess.claims.dataset import read_dataset
from claim_assess.claims.pipeline import assess_claim
from claim_assess.llm.advisor import ClaimAdvisor
from claim_assess.llm.client import LLMClient
from claim_assess.llm.limiter import NoLimit
from claim_assess.simulator.server import SimulatorConfig, start_simulator


@pytest.mark.slow  # every generated claim over HTTP
def test_generated_claims_reach_their_predicted_outcomes_through_the_simulator(tmp_path):
    synthetic.write_dataset(synthetic.generate(40, seed=5), tmp_path)
    dataset = read_dataset(tmp_path)
    labels = {row["claim_id"]: row["llm_expected"] for row in
              map(json.loads, (tmp_path / "scenarios.jsonl").read_text(encoding="utf-8").splitlines())}
    with start_simulator(SimulatorConfig(latency_median_ms=0, latency_p95_ms=0)) as sim:
        async def run():
            limiter = NoLimit()
            async with LLMClient(base_url=sim.url, api_key="sk-pipeline-test-key", model="sim-gpt",
                                 limiter=limiter) as client:
                advisors = [ClaimAdvisor(client, run_id="run-p", claim_id=e.claim_id) for e in dataset.entries]
                results = await asyncio.gather(*(
                    assess_claim(entry, dataset.policies, dataset.policy_errors, advisor)
                    for entry, advisor in zip(dataset.entries, advisors)))
                assert not limiter.outstanding
                return results, advisors, client.usage()

        results, advisors, stats = asyncio.run(run())
        served = sim.stats()
    misses = [(r.claim_id, r.decision, r.reasons, str(r.payout), labels[r.claim_id]) for r in results
              if (r.decision, r.reasons[0], str(r.payout)) != (labels[r.claim_id]["decision"],
                                                              labels[r.claim_id]["reason"],
                                                              labels[r.claim_id]["payout"])]
    assert misses == []
    attempts = [a for advisor in advisors for a in advisor.attempts]
    assert len(attempts) == served["requests"] == served["successes"] == stats.requests > 0
    assert sum(a.prompt_tokens for a in attempts) == served["prompt_tokens"]
    assert sum(a.completion_tokens for a in attempts) == served["completion_tokens"]
    assert {a.purpose for a in attempts} == {"coverage", "assessment", "facts_check"}
