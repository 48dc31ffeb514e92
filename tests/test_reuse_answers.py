"""--reuse-answers (issue 14): answers recorded by earlier runs answer byte-identical requests, from the ledger.

Most of it without Ray: the real client, ``ClaimAssessor`` and file ledger against the simulator, twice over one
workspace (the second pass with the index ``run.reuse`` builds from the first's llm_calls.jsonl), counting what the
simulator served. Once on the real CLI: a run, then ``--reuse-answers`` of it on the unchanged sample.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import free_port
from claim_assess.claims.dataset import read_dataset
from claim_assess.drivers import assess as assess_cli
from claim_assess.drivers import verify as verify_cli
from claim_assess.errors import ConfigError, InvalidRecordError
from claim_assess.ledger.canonical import parse_canonical
from claim_assess.ledger.group_commit import GroupCommitWriter
from claim_assess.ledger.records import DecisionDraft, hashed_call, validate_call
from claim_assess.ledger.store import FileLedger
from claim_assess.llm.accounting import LLMUsage
from claim_assess.llm.client import LLMClient
from claim_assess.llm.limiter import NoLimit
from claim_assess.llm.reuse import ReusedAnswer, ReuseIndex, request_digest
from claim_assess.run.assessor import ClaimAssessor, PolicyBook
from claim_assess.run.progress import ProgressReporter
from claim_assess.run.reuse import build_reuse_index
from claim_assess.run.settings import RunSettings, resumed_settings, sample_dataset
from claim_assess.run.summary import prices_of, saved_cost
from claim_assess.run.workspace import Workspace
from claim_assess.simulator import SimulatorConfig, start_simulator

ROOT = Path(__file__).resolve().parent.parent
FAST = dict(latency_median_ms=1, latency_p95_ms=2)
SAMPLE = read_dataset(sample_dataset())
SOME = 12  # claims per pass in the tests without Ray: enough for coverage and assessment calls, quick


# --- helpers ------------------------------------------------------------------------------------------------------


def stats(sim) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(sim.url.removesuffix("/v1") + "/stats", timeout=5) as response:
        return json.loads(response.read())


def calls_of(ws: Path, run_id: str) -> list[dict]:
    raw = (ws / "ledger" / "llm_calls.jsonl").read_bytes().splitlines()
    return [c for c in map(parse_canonical, raw) if c["run_id"] == run_id]


def decisions_of(ws: Path, run_id: str) -> dict[str, tuple]:
    raw = (ws / "ledger" / "decisions.jsonl").read_bytes().splitlines()
    return {d["claim_id"]: (d["decision"], tuple(d["reasons"]), d["payout"])
            for d in map(parse_canonical, raw) if d["run_id"] == run_id}


def assess_pass(ws: Path, run_id: str, dataset, *, reuse: ReuseIndex | None = None, fault_script=()) -> dict:
    """Assess ``dataset``'s first SOME claims as run ``run_id`` in ``ws``; the simulator's /stats afterwards."""
    paths = Workspace(ws).run(run_id)
    paths.dir.mkdir(parents=True, exist_ok=True)
    paths.settings.write_text("{}")  # what makes the run known to --reuse-answers

    async def go():
        with FileLedger.open(ws / "ledger") as ledger:
            writer = GroupCommitWriter(ledger)
            with start_simulator(SimulatorConfig(**FAST, fault_script=fault_script)) as sim:
                async with LLMClient(base_url=sim.url, api_key="sim", model="sim-gpt", limiter=NoLimit(),
                                     reuse=reuse) as client:
                    core = ClaimAssessor(name="assessor-1", run_id=run_id, book=PolicyBook.of(dataset), client=client,
                                         append=writer.append, reporter=ProgressReporter("assessor-1", lambda b: None))
                    outcomes = await asyncio.gather(*(core.assess(e) for e in dataset.entries[:SOME]))
                return stats(sim), sum((o.usage for o in outcomes), LLMUsage())

    served, usage = asyncio.run(go())
    return {"served": served, "usage": usage}


def changed_sample(tmp_path: Path, *, policy=None, claim=None) -> object:
    """A copy of the sample with ``policy(dict)`` / ``claim(dict)`` applied to every policy / claim line."""
    out = tmp_path / "changed"
    out.mkdir()
    for name, change in (("policies.jsonl", policy), ("claims.jsonl", claim)):
        lines = (sample_dataset() / name).read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        if change is not None:
            rows = [change(row) for row in rows]
        (out / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return read_dataset(out)


def verified(ws: Path, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    return verify_cli.main(["--workspace", str(ws), *extra], out=out), out.getvalue()


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> dict:
    """One pass over the unchanged sample, its calls recorded in a workspace the tests copy from."""
    ws = tmp_path_factory.mktemp("reuse-first")
    result = assess_pass(ws, "first", SAMPLE)
    calls = calls_of(ws, "first")
    assert result["served"]["requests"] == len(calls) > 0
    return {"ws": ws, "calls": calls, **result}


def workspace_after(first: dict, tmp_path: Path) -> Path:
    """A copy of the first pass's workspace (its ledger files and the run's folder), for one test to change."""
    ws = tmp_path / "ws"
    subprocess.run(["cp", "-r", str(first["ws"]), str(ws)], check=True)
    (ws / "ledger" / ".lock").unlink(missing_ok=True)
    return ws


# --- without Ray --------------------------------------------------------------------------------------------------


def test_a_dataset_changed_only_in_a_policy_field_no_prompt_shows_needs_no_network_call(first, tmp_path):
    ws = workspace_after(first, tmp_path)
    halved = changed_sample(tmp_path, policy=lambda p: {**p, "auto_approve_limit": f"{float(p['auto_approve_limit']) / 2:.2f}"})
    assert {p.auto_approve_limit for p in halved.policies.values()} != {p.auto_approve_limit
                                                                        for p in SAMPLE.policies.values()}
    second = assess_pass(ws, "second", halved, reuse=build_reuse_index(ws, ("first",)))
    assert second["served"]["requests"] == 0
    recorded = calls_of(ws, "second")
    assert len(recorded) == len(first["calls"]) and all("reused_from" in c for c in recorded)
    assert second["usage"].reused == len(recorded) and second["usage"].requests == 0
    assert second["usage"].reused_percent == 100.0
    assert second["usage"].tokens_saved == first["usage"].tokens > 0
    originals = {c["call_id"]: c for c in first["calls"]}
    for call in recorded:  # each points to the call that was sent, by its hash, and repeats its request and answer
        original = originals[call["reused_from"]["call_id"]]
        assert call["reused_from"]["record_hash"] == original["record_hash"]
        assert (call["request"], call["response"], call["latency_ms"]) == (original["request"], original["response"], 0)
    assert verified(ws)[0] == 0
    chained = build_reuse_index(ws, ("second",))  # reusing a reuse names the call that was sent, not the reuse
    assert {chained.find(c["model"], c["request"]).call_id for c in recorded} == set(originals)


def test_a_changed_narrative_sends_exactly_that_claims_assessment_call_to_the_network(first, tmp_path):
    ws = workspace_after(first, tmp_path)
    target = next(c["claim_id"] for c in first["calls"] if c["purpose"] == "assessment")
    changed = changed_sample(tmp_path, claim=lambda c: {**c, "narrative": c["narrative"] + " It happened on a Monday."}
                             if c["claim_id"] == target else c)
    second = assess_pass(ws, "second", changed, reuse=build_reuse_index(ws, ("first",)))
    sent = [c for c in calls_of(ws, "second") if "reused_from" not in c]
    assert [(c["claim_id"], c["purpose"]) for c in sent] == [(target, "assessment")]
    assert second["served"]["requests"] == 1
    assert second["usage"].reused == len(first["calls"]) - 1
    assert verified(ws)[0] == 0


def test_a_recorded_invalid_answer_is_never_reused(first, tmp_path):
    ws = tmp_path / "ws"
    assess_pass(ws, "bad", SAMPLE, fault_script=("schema_violation",))  # the first answer breaks the schema
    invalid = [c for c in calls_of(ws, "bad") if c["error"] is not None]
    assert len(invalid) == 1 and invalid[0]["status"] == 200 and invalid[0]["error"].startswith("invalid output")
    index = build_reuse_index(ws, ("bad",))
    assert len(index) == len(calls_of(ws, "bad")) - 1  # every call but the invalid attempt (its retry is valid)
    second = assess_pass(ws, "second", SAMPLE, reuse=index)
    assert second["served"]["requests"] == 0
    assert invalid[0]["call_id"] not in {c["reused_from"]["call_id"] for c in calls_of(ws, "second")}


def test_an_indexed_answer_that_breaks_the_schema_goes_to_the_network(first, tmp_path):
    ws = workspace_after(first, tmp_path)
    broken = ReuseIndex((request_digest(c["model"], c["request"]),
                         ReusedAnswer(c["call_id"], c["record_hash"], '{"not": "an answer"}', 200, 1, 1))
                        for c in first["calls"])
    second = assess_pass(ws, "second", SAMPLE, reuse=broken)
    assert second["served"]["requests"] == len(first["calls"]) and second["usage"].reused == 0


def test_a_reused_record_whose_pointer_names_no_record_fails_verify(first, tmp_path):
    ws = workspace_after(first, tmp_path)
    call = {**{k: v for k, v in first["calls"][0].items() if k != "record_hash"}, "call_id": "call_" + "e" * 16,
            "run_id": "forged", "reused_from": {"call_id": "call_" + "0" * 16, "record_hash": "a" * 64}}
    draft = DecisionDraft(run_id="forged", claim_id=call["claim_id"], policy_id=None, decision="REFER", reasons=(),
                          payout="0.00", currency=None, confidence=None, input_digest=None, policy_digest=None,
                          versions={"rules": "x"}, actor="t", error=None)
    with FileLedger.open(ws / "ledger") as ledger:
        ledger.append(draft, [call])
    code, text = verified(ws)
    assert code == 1 and "dangling pointer" in text and "call_" + "0" * 16 in text


def test_a_pointer_to_a_changed_original_fails_verify(first, tmp_path):
    ws = workspace_after(first, tmp_path)
    assess_pass(ws, "second", SAMPLE, reuse=build_reuse_index(ws, ("first",)))
    assert verified(ws)[0] == 0
    original = first["calls"][0]["call_id"]
    path = ws / "ledger" / "llm_calls.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    for i, raw in enumerate(lines):  # the original re-hashed with another answer: intact itself, not what was reused
        value = parse_canonical(raw)
        if value["call_id"] == original:
            lines[i] = hashed_call({**{k: v for k, v in value.items() if k != "record_hash"}, "response": "{}"})[1]
    path.write_bytes(b"".join(lines))
    code, text = verified(ws)
    assert code == 1 and f"answered from {original}" in text and "record_hash differs" in text


def test_reused_from_must_be_a_pointer_and_other_records_keep_their_shape():
    base = {"schema": "llm_call/1", "call_id": "call_" + "1" * 16, "run_id": "r", "claim_id": "C", "purpose": "coverage",
            "item_id": None, "attempt": 1, "model": "m", "endpoint": "http://127.0.0.1:1/v1", "request": {},
            "response": "{}", "status": 200, "error": None, "prompt_tokens": 1, "completion_tokens": 1,
            "latency_ms": 0, "started_at": "2026-12-07T00:00:00.000Z", "finished_at": "2026-12-07T00:00:00.000Z"}
    assert "reused_from" not in validate_call(base)
    good = {"call_id": "call_" + "2" * 16, "record_hash": "b" * 64}
    assert validate_call({**base, "reused_from": good})["reused_from"] == good
    for bad in ({"call_id": "x", "record_hash": "b" * 64}, {"call_id": good["call_id"]}, "call_" + "2" * 16):
        with pytest.raises(InvalidRecordError, match="reused_from"):
            validate_call({**base, "reused_from": bad})


def test_the_flag_takes_one_or_more_run_ids_and_may_be_repeated(tmp_path):
    args = assess_cli.build_parser().parse_args(["--reuse-answers", "a", "b", "--reuse-answers", "c"])
    settings = assess_cli.settings_from(replace_namespace(args, workspace=tmp_path))
    assert settings.reuse_answers == ("a", "b", "c")


def replace_namespace(args, **changes):
    for name, value in changes.items():
        setattr(args, name, value)
    return args


def test_an_unknown_run_id_is_a_usage_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="no run 'nope'"):
        build_reuse_index(tmp_path, ("nope",))
    out = assess_cli.main(["--workspace", str(tmp_path), "--reuse-answers", "nope", "--quiet"])
    assert out == 2 and not Workspace(tmp_path).run_ids()  # no run was left behind


def test_a_resume_keeps_reusing_the_runs_it_started_with(tmp_path):
    settings = RunSettings(input="x", workspace=str(tmp_path), run_id="r2", reuse_answers=("r1", "r0"))
    settings.paths.dir.mkdir(parents=True)
    settings.paths.settings.write_text(json.dumps(settings.to_json()))
    assert resumed_settings(tmp_path, "r2", actors=2).reuse_answers == ("r1", "r0")
    with pytest.raises(ConfigError, match="reuse-answers"):
        resumed_settings(tmp_path, "r2", reuse_answers=("r9",))


def test_the_cost_saved_is_the_reused_tokens_at_the_runs_prices(tmp_path):
    usage = LLMUsage(reused=2, reused_prompt_tokens=1_000_000, reused_completion_tokens=500_000)
    settings = RunSettings(input="x", workspace=str(tmp_path), run_id="r")
    assert saved_cost(usage, prices_of(settings)) is None
    priced = replace(settings, price_input_per_m="0.15", price_output_per_m="0.60")
    assert str(saved_cost(usage, prices_of(priced))) == "0.45"


# --- the real CLI -------------------------------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "OPENAI_API_KEY": "sk-reuse-test"}
    return subprocess.run([sys.executable, "-m", "drivers.assess", "--quiet", "--no-dashboard", "--actors", "1", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def against(sim) -> tuple[str, ...]:
    return ("--llm", "openai", "--base-url", sim.url, "--model", "sim-gpt")


@pytest.fixture(scope="module")
def run_a(tmp_path_factory) -> Path:
    """Run "a" of the unchanged sample on the real CLI, in a workspace each CLI test copies."""
    ws = tmp_path_factory.mktemp("reuse-cli")
    with start_simulator(SimulatorConfig(**FAST)) as sim:
        done = cli(*against(sim), "--workspace", str(ws), "--run", "a")
    assert done.returncode == 0, done.stdout + done.stderr
    return ws


def copied(run_a: Path, tmp_path: Path) -> Path:
    subprocess.run(["cp", "-r", str(run_a), str(tmp_path / "ws")], check=True)
    return tmp_path / "ws"


@pytest.mark.ray
@pytest.mark.slow
def test_reassessing_the_unchanged_sample_on_the_cli_sends_nothing_and_decides_the_same(run_a, tmp_path):
    tmp_path = copied(run_a, tmp_path)
    ws = str(tmp_path)
    with start_simulator(SimulatorConfig(**FAST)) as sim:
        again = cli("--llm", "openai", "--base-url", sim.url, "--model", "sim-gpt", "--workspace", ws, "--run", "b",
                    "--no-preflight", "--reuse-answers", "a", "--price-input", "0.15", "--price-output", "0.60")
        served = stats(sim)
    assert again.returncode == 0, again.stdout + again.stderr
    assert served["requests"] == 0
    assert decisions_of(tmp_path, "b") == decisions_of(tmp_path, "a") and len(decisions_of(tmp_path, "a")) == 50
    before = json.loads((tmp_path / "runs" / "a" / "summary.json").read_text())
    summary = json.loads((tmp_path / "runs" / "b" / "summary.json").read_text())
    reuse = summary["reuse"]
    assert (reuse["reused_percent"], reuse["new_calls"], reuse["from_runs"]) == (100.0, 0, ["a"])
    assert reuse["tokens_saved"] == before["llm"]["tokens"] > 0 and summary["llm"]["tokens"] == 0
    assert reuse["cost_saved"] is not None and float(reuse["cost_saved"]) > 0
    assert "100.0 % reused" in again.stdout
    assert "answers reused" in (tmp_path / "runs" / "b" / "report.html").read_text(encoding="utf-8")
    assert verified(tmp_path)[0] == 0
    code, text = verified(tmp_path, "--replay", "--input", str(sample_dataset()), "--run", "b")
    assert code == 0 and "reproduced 50" in text, text


@pytest.mark.ray
@pytest.mark.slow
def test_a_reassessment_stopped_part_way_resumes_still_reusing_and_sends_only_the_new_questions(run_a, tmp_path):
    """--reuse-answers survives a stop and --resume: the resumed run keeps answering from run "a" (its settings
    name it), and over both invocations the network hears exactly the questions that changed."""
    ws = copied(run_a, tmp_path)
    asked = sorted({c["claim_id"] for c in calls_of(ws, "a") if c["purpose"] == "assessment"})
    targets = set(asked[:: max(1, len(asked) // 4)][:4])  # four claims whose assessment the narrative changes
    data = tmp_path / "data"
    changed_sample(tmp_path, claim=lambda c: {**c, "narrative": c["narrative"] + " It happened on a Monday."}
                   if c["claim_id"] in targets else c)
    (tmp_path / "changed").rename(data)
    port = free_port()  # the resume goes to the run's own endpoint: the healthy simulator takes the same port
    with start_simulator(SimulatorConfig(**FAST, fault_script=("insufficient_quota",) * 1000), port=port) as sim:
        stopped = cli(*against(sim), "--no-preflight", "--input", str(data), "--workspace", str(ws), "--run", "b",
                      "--reuse-answers", "a")
    assert stopped.returncode == 1 and "--resume --run b" in stopped.stdout, stopped.stdout + stopped.stderr
    before = decisions_of(ws, "b")
    assert len(before) < 50 and not targets & set(before), "a changed claim cannot be decided without the network"
    with start_simulator(SimulatorConfig(**FAST), port=port) as sim:
        resumed = cli("--no-preflight", "--resume", "--run", "b", "--workspace", str(ws))
        served = stats(sim)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    decided, original = decisions_of(ws, "b"), decisions_of(ws, "a")
    assert len(decided) == 50 and {k: v for k, v in decided.items() if k not in targets} == \
        {k: v for k, v in original.items() if k not in targets}
    sent = [c for c in calls_of(ws, "b") if "reused_from" not in c and c["status"] == 200]
    assert sorted((c["claim_id"], c["purpose"]) for c in sent) == sorted((t, "assessment") for t in targets)
    assert served["requests"] == len(targets)  # the resume asked the network those questions and nothing else
    assert verified(ws)[0] == 0
    code, text = verified(ws, "--replay", "--input", str(data), "--run", "b")
    assert code == 0 and "reproduced 50" in text, text


def test_the_live_view_shows_reused_and_new_calls_and_what_they_saved():
    from rich.console import Console

    from claim_assess.llm.accounting import REUSED
    from claim_assess.run.display import plain_line, render
    from claim_assess.run.progress import ProgressBatch, ProgressBoard

    board = ProgressBoard(clock=lambda: 10.0)
    board.begin(2, actors=("assessor-1",), endpoint="http://127.0.0.1:1/v1", model="m")
    reused = LLMUsage.of(kind=REUSED, attempt=1, latency_ms=0, prompt_tokens=600_000, completion_tokens=100_000)
    sent = LLMUsage.of(kind="ok", attempt=1, latency_ms=5, prompt_tokens=10, completion_tokens=5)
    board.report(ProgressBatch("assessor-1", (), reused + reused + reused + sent, ()))
    snapshot = board.snapshot()
    assert (snapshot.llm.requests, snapshot.llm.tokens, snapshot.llm.reused) == (1, 15, 3)
    console = Console(file=io.StringIO(), width=160, force_terminal=True, color_system=None)
    console.print(render(snapshot, ("0.15", "0.60")))
    shown = console.file.getvalue()
    # 3 x (600,000 x 0.15 + 100,000 x 0.60) / 1,000,000 = 0.45
    assert "3 reused · 1 new calls (75.0 % reused) · 2,100,000 tokens saved · 0.4500 saved" in shown
    assert "reused 3" in plain_line(snapshot)


def test_the_dry_run_plan_counts_the_calls_the_ledger_would_answer(first, tmp_path):
    from claim_assess.plan import plan_run

    entries = SAMPLE.entries[:SOME]
    plan = plan_run(SAMPLE, entries, rpm=None, tpm=None, model="sim-gpt", reuse=build_reuse_index(first["ws"], ("first",)))
    assert (plan.reused_calls, plan.llm_calls, plan.tokens) == (len(first["calls"]), 0, 0)
    fresh = plan_run(SAMPLE, entries, rpm=None, tpm=None, model="sim-gpt")
    assert fresh.reused_calls == 0 and fresh.llm_calls > 0


def test_a_changed_reused_from_is_caught_by_the_decision_that_cites_the_record(first, tmp_path):
    ws = workspace_after(first, tmp_path)
    assess_pass(ws, "second", SAMPLE, reuse=build_reuse_index(ws, ("first",)))
    path = ws / "ledger" / "llm_calls.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    at = next(i for i, raw in enumerate(lines) if b'"reused_from"' in raw)
    value = parse_canonical(lines[at])
    other = first["calls"][-1]  # re-pointed to another real record, and re-hashed: intact in itself
    assert value["reused_from"]["call_id"] != other["call_id"]
    body = {k: v for k, v in value.items() if k != "record_hash"}
    lines[at] = hashed_call({**body, "reused_from": {"call_id": other["call_id"], "record_hash": other["record_hash"]}})[1]
    path.write_bytes(b"".join(lines))
    code, text = verified(ws)
    assert code == 1 and f"llm_calls entry {value['call_id']}" in text and "record_hash differs" in text
