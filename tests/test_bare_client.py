"""The ceiling's bare asyncio client (bench.bare_client) against the real simulator on 127.0.0.1: it replays the
request bodies an engine run left in its ledger, and the bench reads both clients' rates off the same simulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from claim_assess.bench.bare_client import BareResult, per_second_since, replay, request_bodies, run_bare
from claim_assess.bench.engine import PROJECT_ROOT
from claim_assess.bench.tables import markdown, with_bare
from claim_assess.bench.targets import check_targets
from claim_assess.claims.dataset import read_dataset
from claim_assess.claims.models import parse_claim
from claim_assess.claims.prompts import coverage_prompt, parse_coverage_answer
from claim_assess.ledger.filestore import CALLS_FILE
from claim_assess.ledger.store import OpenFileLedger
from claim_assess.llm.client import LLMClient
from claim_assess.llm.limiter import NoLimit
from test_ledger_store import draft
from test_llm_simulator import simulator  # noqa: F401 - the fixture: simulators on 127.0.0.1, latency 0

SAMPLE = PROJECT_ROOT / "claim_assess" / "data" / "sample"
KEY = "sim-key"


def sample_prompts(n: int):
    """Coverage prompts built by the project's own prompt code from the bundled sample claims."""
    dataset = read_dataset(SAMPLE)
    prompts = []
    for entry in dataset.entries:
        if entry.raw is None:
            continue
        claim = parse_claim(entry.raw)
        policy = dataset.policies.get(claim.policy_id)
        prompts += [coverage_prompt(policy, item) for item in claim.line_items] if policy else []
    assert len(prompts) >= n
    return prompts[:n]


def engine_ledger(url: str, directory: Path, n: int) -> Path:
    """A ledger as an engine run leaves it: the LLM client's attempts of ``n`` calls, appended as call records."""
    async def ask_all():
        records = []
        async with LLMClient(base_url=url, api_key=KEY, model="sim-gpt", limiter=NoLimit()) as client:
            for i, prompt in enumerate(sample_prompts(n)):
                await client.ask(prompt, parse_coverage_answer, run_id="run1", claim_id=f"C-{i}",
                                 record=records.append)
        return records

    records = asyncio.run(ask_all())
    with OpenFileLedger(str(directory))() as ledger:
        for record in records:
            ledger.append(draft(record.claim_id), [record.to_json()])
    return directory / CALLS_FILE


def test_it_replays_an_engine_runs_requests_and_the_simulator_sees_only_those(simulator, tmp_path):  # noqa: F811
    sim = simulator()
    calls = engine_ledger(sim.url, tmp_path / "ledger", 12)
    bodies = request_bodies(calls)
    recorded = [json.loads(line)["request"] for line in calls.read_text().splitlines()]
    assert bodies == recorded and len(bodies) == 12  # the same bodies, in the engine's order
    assert set(bodies[0]) == {"messages", "response_format", "max_completion_tokens", "temperature"}
    before = sim.stats()
    result = asyncio.run(replay(bodies, base_url=sim.url, api_key=KEY, model="sim-gpt", concurrency=4))
    after = sim.stats()
    assert (result.requests, result.successes, result.errors) == (12, 12, 0) and result.first_error is None
    assert result.wall_s > 0 and result.successes_per_s > 0
    assert after["successes"] - before["successes"] == 12
    assert sum(p["successes"] for p in per_second_since(after["per_second"], before["per_second"])) == 12


@pytest.mark.slow  # the bench's client in a subprocess
def test_as_a_subprocess_it_replays_up_to_the_limit_and_reports_failures(simulator, tmp_path):  # noqa: F811
    good = simulator()
    calls = engine_ledger(good.url, tmp_path / "ledger", 6)
    result = run_bare(calls, base_url=good.url, api_key=KEY, model="sim-gpt", concurrency=2, limit=5,
                      cwd=PROJECT_ROOT)
    assert (result.requests, result.successes, result.errors) == (5, 5, 0)
    failing = simulator(rate_5xx=1.0)
    broken = run_bare(calls, base_url=failing.url, api_key=KEY, model="sim-gpt", concurrency=2, nice=0,
                      cwd=PROJECT_ROOT)
    assert (broken.successes, broken.errors) == (0, 6) and "InternalServerError" in broken.first_error
    assert failing.stats()["requests"] == 6  # no retries: a bare client with max_retries=0


def test_only_successful_attempts_are_replayed(tmp_path):
    calls = tmp_path / CALLS_FILE
    lines = [{"status": 200, "request": {"messages": [{"role": "user", "content": "a"}], "temperature": 0}},
             {"status": 429, "request": {"messages": [{"role": "user", "content": "b"}], "temperature": 0}},
             {"status": 200, "request": {"messages": [{"role": "user", "content": "c"}], "temperature": 0}}]
    calls.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert [b["messages"][0]["content"] for b in request_bodies(calls)] == ["a", "c"]
    assert len(request_bodies(calls, limit=1)) == 1


def test_per_second_since_subtracts_exactly_even_in_a_shared_second():
    before = [{"t": 3, "successes": 5, "admitted": 5}, {"t": 4, "successes": 2, "admitted": 2}]
    after = [{"t": 3, "successes": 5, "admitted": 5}, {"t": 4, "successes": 9, "admitted": 9},
             {"t": 5, "successes": 7, "admitted": 7}]
    assert per_second_since(after, before) == [{"t": 4, "successes": 7, "admitted": 7},
                                               {"t": 5, "successes": 7, "admitted": 7}]


def test_the_ceiling_judges_engine_over_bare_and_shows_the_bare_client_under_the_engine():
    bare = BareResult(requests=900, successes=900, errors=0, wall_s=4.5, concurrency=16).to_json()
    engine = {"scenario": "ceiling", "label": "engine x2", "kind": "engine", "workers": 2, "claims": 300,
              "rows": 300, "one_decision_per_claim": True, "ledger": {"ok": True}, "successes_per_s": 150.0,
              "bare": bare | {"successes_per_s": 200.0}, "engine_over_bare": 0.75}
    (check,) = [c for c in check_targets([engine]) if "bare" in c.name]
    assert check.ok is True and check.target == ">= 0.75"
    assert [c.ok for c in check_targets([engine | {"engine_over_bare": 0.74}]) if "bare" in c.name] == [False]
    rows = with_bare([engine])
    assert [r["kind"] for r in rows] == ["engine", "bare"] and rows[1]["successes_per_min"] == 12_000
    assert "bare asyncio client (c=16): engine/bare 0.75" in markdown([engine], [check])
