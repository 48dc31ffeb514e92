"""The whole pipeline on one shared local Ray: the real driver, actors, simulator, ledger and verifier.

One run of ``python -m drivers.assess`` (in process, through ``main``) over a generated dataset of 30
claims with 2 assessors; every test below checks a different promise about what that run left behind.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

import pytest

from claim_assess.claims.dataset import read_dataset
from claim_assess.claims.payout import compute_payout
from claim_assess.claims.results import read_results
from claim_assess.claims.synthetic import generate, write_dataset
from claim_assess.drivers import assess, verify
from claim_assess.ledger.canonical import parse_canonical

pytestmark = pytest.mark.ray

RUN_ID = "it-run-1"
CLAIMS = 30


@pytest.fixture(scope="module")
def finished_run(ray_session, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    workspace = tmp_path_factory.mktemp("workspace")
    write_dataset(generate(CLAIMS, seed=11), data_dir)
    code = assess.main(
        ["--actors", "2", "--input", str(data_dir), "--workspace", str(workspace), "--run", RUN_ID,
         "--quiet", "--no-dashboard"]
    )
    rows, items = read_results(workspace / "runs" / RUN_ID)
    return {"code": code, "data": data_dir, "workspace": workspace, "rows": rows, "items": items}


def test_the_run_completes_with_one_result_row_per_claim(finished_run):
    assert finished_run["code"] == 0
    dataset = read_dataset(finished_run["data"])
    assert sorted(r["claim_id"] for r in finished_run["rows"]) == sorted(e.claim_id for e in dataset.entries)
    assert all(r["run_id"] == RUN_ID for r in finished_run["rows"])
    summary = json.loads((finished_run["workspace"] / "runs" / RUN_ID / "summary.json").read_text())
    assert summary["claims"] == CLAIMS and sum(summary["decisions"].values()) == CLAIMS


def test_rule_determined_outcomes_match_expected(finished_run):
    by_id = {r["claim_id"]: r for r in finished_run["rows"]}
    expected = [json.loads(line) for line in (finished_run["data"] / "expected.jsonl").read_text().splitlines()]
    assert expected, "the generated dataset must hold rule-decided claims"
    for exp in expected:
        row = by_id[exp["claim_id"]]
        assert (row["decision"], row["reasons"][0]) == (exp["decision"], exp["reason"]), exp["scenario"]
        if exp.get("payout") is not None:
            assert row["payout"] == Decimal(exp["payout"]), exp["scenario"]


def test_payouts_agree_with_the_formula_applied_to_line_items(finished_run):
    dataset = read_dataset(finished_run["data"])
    claims = {e.claim_id: e.raw for e in dataset.entries}
    covered: dict[str, Decimal] = defaultdict(Decimal)
    for item in finished_run["items"]:
        if item["status"] == "covered":
            covered[item["claim_id"]] += item["total"]
    checked = 0
    for row in finished_run["rows"]:
        if row["decision"] in {"FAILED", "DENY"}:
            assert row["payout"] == Decimal("0.00")
            continue
        raw = claims[row["claim_id"]]
        breakdown = compute_payout(covered[row["claim_id"]], raw["odometer_km"], dataset.policies[raw["policy_id"]])
        assert row["payout"] == breakdown.payout, row["claim_id"]
        assert row["covered_total"] == covered[row["claim_id"]]
        checked += 1
    assert checked > 0


def test_the_ledger_verifies_and_holds_one_decision_per_claim(finished_run, capsys):
    ledger_dir = finished_run["workspace"] / "ledger"
    assert verify.main(["--workspace", str(finished_run["workspace"])]) == 0
    decisions = [parse_canonical(line) for line in (ledger_dir / "decisions.jsonl").read_bytes().splitlines()]
    keys = [d["idempotency_key"] for d in decisions if d["run_id"] == RUN_ID]
    assert len(keys) == len(set(keys)) == CLAIMS


def test_every_decision_cites_llm_calls_that_are_in_the_call_log(finished_run):
    ledger_dir = finished_run["workspace"] / "ledger"
    calls = {}
    for line in (ledger_dir / "llm_calls.jsonl").read_bytes().splitlines():
        record = parse_canonical(line)
        calls[record["call_id"]] = record
    decisions = [parse_canonical(line) for line in (ledger_dir / "decisions.jsonl").read_bytes().splitlines()]
    cited = 0
    for decision in decisions:
        for ref in decision["llm_calls"]:
            call = calls[ref["call_id"]]
            assert call["record_hash"] == ref["record_hash"]
            assert call["claim_id"] == decision["claim_id"] and call["run_id"] == decision["run_id"]
            cited += 1
    assert cited == len(calls) > 0
    rows = {r["claim_id"]: r for r in finished_run["rows"]}
    for decision in decisions:
        assert rows[decision["claim_id"]]["llm_calls"] == len(decision["llm_calls"])


def test_no_call_record_holds_a_key_or_authorization(finished_run):
    text = (finished_run["workspace"] / "ledger" / "llm_calls.jsonl").read_text()
    assert "sim-no-key" not in text and "authorization" not in text.lower()


def test_a_second_run_over_the_same_workspace_extends_the_same_chain(finished_run, ray_session):
    workspace = finished_run["workspace"]
    code = assess.main(
        ["--actors", "1", "--input", str(finished_run["data"]), "--workspace", str(workspace),
         "--run", "it-run-2", "--limit", "3", "--quiet", "--no-dashboard"]
    )
    assert code == 0
    lines = (workspace / "ledger" / "decisions.jsonl").read_bytes().splitlines()
    assert len(lines) == CLAIMS + 3
    assert verify.main(["--workspace", str(workspace)]) == 0


def test_fewer_than_one_actor_is_a_usage_error(capsys):
    assert assess.main(["--actors", "0"]) == 2  # main returns the exit code, usage errors included
    assert "--actors must be at least 1, got 0" in capsys.readouterr().err


def test_a_dataset_that_cannot_be_read_is_named_before_any_work(capsys, tmp_path):
    code = assess.main(["--input", str(tmp_path / "missing"), "--workspace", str(tmp_path), "--quiet"])
    assert code == 2
    assert str(tmp_path / "missing") in capsys.readouterr().out
    assert not (tmp_path / "ledger").exists()


def test_unknown_claim_id_is_named(capsys, tmp_path):
    code = assess.main(["--claim-id", "NOPE-1", "--workspace", str(tmp_path), "--quiet"])
    assert code == 2
    assert "NOPE-1" in capsys.readouterr().out


def test_more_assessors_than_the_cluster_can_ever_start_is_named_before_any_actor(ray_session, capsys, tmp_path):
    # The shared Ray has 2 CPUs; each assessor reserves ASSESSOR_CPUS of one.
    from claim_assess.actors.placement import ASSESSOR_CPUS

    too_many = int(2 / ASSESSOR_CPUS) + 1
    code = assess.main(["--actors", str(too_many), "--workspace", str(tmp_path), "--run", "too-many",
                        "--quiet", "--no-dashboard"])
    assert code != 0
    assert f"--actors {too_many} is too many for this cluster's 2 CPUs" in capsys.readouterr().out
    assert not list((tmp_path / "ledger").iterdir())  # no actor started: the ledger actor never opened its files


def test_the_three_steps_of_a_run_can_be_taken_one_by_one(ray_session, tmp_path):
    import io

    from rich.console import Console

    from claim_assess.run.execute import execute
    from claim_assess.run.finalize import finalize
    from claim_assess.run.prepare import prepare
    from claim_assess.run.settings import new_settings
    from claim_assess.run.summary import read_summary

    write_dataset(generate(6, seed=13), tmp_path / "data")
    settings = new_settings(workspace=tmp_path / "ws", run_id="steps", input=tmp_path / "data", actors=1,
                            dashboard=False)
    prepared = prepare(settings)
    ids = [e.claim_id for e in read_dataset(tmp_path / "data").entries]
    assert prepared.selection.seen == 0  # the claims are streamed by the run, not read by prepare
    assert prepared.count.result(wait_s=30) == 6
    assert settings.paths.settings.is_file() and not settings.paths.results.exists()

    executed = execute(prepared, Console(file=io.StringIO()), quiet=True)
    assert executed.stopped is None and executed.signal_exit_code is None
    assert executed.ledger_height == 6 and executed.checkpoint.tree_size == 6
    assert settings.paths.journal.read_bytes().count(b"\n") == 6 and not settings.paths.results.exists()
    assert prepared.selection.exhausted and prepared.selection.seen == len(ids)
    assert prepared.selection.undecided(None) == 0  # every claim it handed out came back

    summary = finalize(prepared, executed)
    assert summary.complete and summary.claims == 6 and summary.llm.requests > 0
    assert read_summary(settings.paths.summary) == summary and settings.paths.report.is_file()
    rows, _ = read_results(settings.paths.dir)
    assert sorted(r["claim_id"] for r in rows) == sorted(ids)
