"""Replay (issue 14): a real run on the bundled sample is re-derived decision by decision from its evidence.

One run of the real driver on the shared Ray (the simulator answers the LLM calls); every test copies its
workspace and dataset and changes one thing, then replays through ``replay_ledger`` or the real CLI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import edit_claim
from claim_assess.claims.dataset import open_dataset
from claim_assess.drivers import assess
from claim_assess.ledger.canonical import canonical_bytes, parse_canonical
from claim_assess.ledger.checkpoints import make_checkpoint, read_checkpoint
from claim_assess.ledger.keys import load_or_create_signing_key
from claim_assess.ledger.merkle import MerkleFrontier
from claim_assess.claims.results import read_results
from claim_assess.ledger.records import format_confidence, items_digest, record_hash_of
from claim_assess.ledger.verify import verify_ledger
from claim_assess.replay import replay as replay_module
from claim_assess.replay.replay import replay_ledger
from claim_assess.replay.verdict import COMPARED_FIELDS
from claim_assess.run.settings import sample_dataset

pytestmark = pytest.mark.ray

RUN_ID = "replay-run-1"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def recorded(ray_session, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("recorded")
    shutil.copytree(sample_dataset(), base / "data")
    code = assess.main(["--actors", "2", "--input", str(base / "data"), "--workspace", str(base / "ws"),
                        "--run", RUN_ID, "--quiet", "--no-dashboard"])
    assert code == 0
    return base


@pytest.fixture
def case(recorded, tmp_path) -> Path:
    shutil.copytree(recorded, tmp_path / "case")
    return tmp_path / "case"


def ledger(case: Path) -> Path:
    return case / "ws" / "ledger"


def records(case: Path) -> list[dict]:
    return [parse_canonical(line) for line in (ledger(case) / "decisions.jsonl").read_bytes().splitlines(True)]


def replay(case: Path, run_id: str | None = None):
    return replay_ledger(ledger(case), open_dataset(case / "data"), run_id=run_id)


def rewrite_and_resign(case: Path, values: list[dict]) -> None:
    """What a writer with the ledger's own key can do: re-link every record and re-sign every checkpoint."""
    lines, previous = [], None
    for value in values:
        value = {k: v for k, v in value.items() if k != "record_hash"}
        if previous is not None:
            value["previous_hash"] = previous
        value["record_hash"] = previous = record_hash_of(value)
        lines.append(canonical_bytes(value) + b"\n")
    (ledger(case) / "decisions.jsonl").write_bytes(b"".join(lines))
    key = load_or_create_signing_key(ledger(case), None, lambda fd: None)
    old = [read_checkpoint(raw) for raw in (ledger(case) / "checkpoints.jsonl").read_bytes().splitlines(True)]
    frontier, signed = MerkleFrontier(), []
    for size, line in enumerate(lines, 1):
        frontier.append_data(line[:-1])
        for cp in (cp for cp in old if cp.tree_size == size):
            signed.append(make_checkpoint(key, ledger_id=cp.ledger_id, tree_size=size, root=frontier.root().hex(),
                                          head_hash=parse_canonical(line)["record_hash"],
                                          created_at=cp.created_at).line())
    (ledger(case) / "checkpoints.jsonl").write_bytes(b"".join(signed))


def cli(case: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drivers.verify", "--replay", "--workspace", str(case / "ws"),
                           *extra], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_compared_fields_come_from_the_record_type():
    assert {"decision", "reasons", "payout", "currency", "confidence", "error", "input_digest"} <= set(COMPARED_FIELDS)
    assert not {"run_id", "actor", "versions"} & set(COMPARED_FIELDS)


def test_every_decision_of_a_real_run_reproduces(case):
    report = replay(case)
    assert report.ok and report.problems == ()
    assert report.checked == 50 and report.counts["reproduced"] == 50
    assert sum(len(r["llm_calls"]) for r in records(case)) > 50  # the recorded answers were really used
    assert replay(case, RUN_ID).counts["reproduced"] == 50


def test_a_rewritten_payout_re_signed_with_the_ledgers_key_verifies_but_does_not_replay(case):
    values = records(case)
    seq = next(i for i, v in enumerate(values) if v["decision"] in ("APPROVE", "PARTIAL") and v["payout"] != "0.00")
    original = values[seq]["payout"]
    values[seq] = {**values[seq], "payout": "99999.00"}
    rewrite_and_resign(case, values)
    assert verify_ledger(ledger(case)).ok  # signatures, roots and links all check out
    report = replay(case)
    assert not report.ok and report.counts["differs"] == 1 and report.counts["reproduced"] == 49
    (verdict,) = report.problems
    assert (verdict.seq, verdict.status, verdict.field) == (seq, "differs", "payout")
    assert (verdict.recorded, verdict.replayed) == ("99999.00", original)


@pytest.mark.parametrize("field", ["covered_total", "items_digest"])
def test_a_rewritten_covered_total_or_items_digest_re_signed_with_the_ledgers_key_does_not_replay(case, field):
    """decision/2 binds what the rules made of each line item: a rewrite that leaves the payout alone (another
    decision's items, a covered total inflated) passes the signatures and fails replay at that field."""
    values = records(case)
    paid = [i for i, v in enumerate(values) if v["decision"] in ("APPROVE", "PARTIAL")]
    seq = paid[0]
    other = next(values[i]["items_digest"] for i in paid if values[i]["items_digest"] != values[seq]["items_digest"])
    values[seq] = {**values[seq], field: "99999.00" if field == "covered_total" else other}
    rewrite_and_resign(case, values)
    assert verify_ledger(ledger(case)).ok
    report = replay(case)
    (verdict,) = report.problems
    assert (verdict.seq, verdict.status, verdict.field) == (seq, "differs", field)
    assert verdict.recorded != verdict.replayed and report.counts["reproduced"] == 49


def test_each_decisions_items_digest_is_that_of_its_rows_in_line_items_parquet(case):
    """An auditor recomputes the digest from the result file: line_items.parquet is bound to the chain."""
    values = records(case)
    assert {v["schema"] for v in values} == {"decision/2"}
    _, items = read_results(case / "ws" / "runs" / RUN_ID)
    by_claim: dict[str, list[dict]] = {}
    for row in items:
        by_claim.setdefault(row["claim_id"], []).append(
            {"item_id": row["item_id"], "status": row["status"], "method": row["method"], "category": row["category"],
             "clause": row["clause"], "total": f"{row['total']:.2f}",
             "llm_confidence": format_confidence(row["llm_confidence"])})
    assert len(by_claim) > 40 and {r["status"] for rows in by_claim.values() for r in rows} >= {"covered", "not_covered"}
    for value in values:
        assert value["items_digest"] == items_digest(by_claim.get(value["claim_id"], [])), value["claim_id"]
    assert all(v["covered_total"] is not None for v in values if v["decision"] in ("APPROVE", "PARTIAL"))


def test_an_older_ledgers_decision_1_records_still_verify_and_replay(case):
    """A ledger written before decision/2 (no covered_total, no items_digest) stays readable: verify passes and replay
    compares every field those records hold."""
    old = [{**{k: v for k, v in value.items() if k not in ("covered_total", "items_digest")}, "schema": "decision/1"}
           for value in records(case)]
    rewrite_and_resign(case, old)
    assert verify_ledger(ledger(case)).ok
    report = replay(case)
    assert report.ok and report.counts["reproduced"] == 50


def test_a_claim_edited_in_the_dataset_is_missing_evidence(case):
    original = json.loads((case / "data" / "claims.jsonl").read_text().splitlines()[3])
    claim = edit_claim(case / "data", 3, odometer_km=original["odometer_km"] + 1)
    report = replay(case)
    (verdict,) = report.problems
    assert (verdict.claim_id, verdict.status) == (claim["claim_id"], "evidence_missing")
    assert "input digest" in verdict.message and not report.ok


def test_a_cited_call_removed_from_the_call_log_is_missing_evidence(case):
    values = records(case)
    cited = next(v for v in values if v["llm_calls"])
    gone = cited["llm_calls"][0]["call_id"]
    path = ledger(case) / "llm_calls.jsonl"
    kept = [line for line in path.read_bytes().splitlines(True) if gone.encode() not in line]
    path.write_bytes(b"".join(kept))
    report = replay(case)
    (verdict,) = report.problems
    assert (verdict.claim_id, verdict.status) == (cited["claim_id"], "evidence_missing")
    assert gone in verdict.message
    assert report.counts["reproduced"] == 49  # the forward walk rewound: no later decision lost its calls


def test_a_decision_under_other_rules_is_rules_changed_never_a_difference(case, monkeypatch):
    values = records(case)
    values[7] = {**values[7], "versions": {**values[7]["versions"], "rules": "claims-rules/0"}}
    rewrite_and_resign(case, values)
    report = replay(case)
    assert report.ok and report.counts["rules_changed"] == 1 and report.counts["reproduced"] == 49
    assert report.problems[0].seq == 7 and "claims-rules/0" in report.problems[0].message
    monkeypatch.setattr(replay_module, "RULES_VERSION", "claims-rules/999")  # a rule bump after the run
    bumped = replay(case)
    assert bumped.counts["rules_changed"] == 50 and bumped.counts["differs"] == 0


def test_the_cli_exits_0_1_2_and_prints_one_json_object(case):
    intact = cli(case, "--input", str(case / "data"), "--json")
    assert intact.returncode == 0, intact.stderr
    data = json.loads(intact.stdout)
    assert data["ok"] and data["counts"]["reproduced"] == 50
    values = records(case)
    values[0] = {**values[0], "decision": "DENY" if values[0]["decision"] != "DENY" else "REFER"}
    rewrite_and_resign(case, values)
    differs = cli(case, "--input", str(case / "data"))
    assert differs.returncode == 1 and "DIFFERS at decision" in differs.stdout
    assert cli(case, "--input", str(case / "missing")).returncode == 2
    assert cli(case, "--input", str(case / "data"), "--run", "no-such-run").returncode == 2
    assert cli(case).returncode == 2  # --replay without --input


def test_a_cited_call_whose_request_was_changed_and_re_hashed_is_missing_evidence(case):
    values = records(case)
    seq, target = next((i, v) for i, v in enumerate(values) if v["llm_calls"])
    changed = target["llm_calls"][0]["call_id"]
    path = ledger(case) / "llm_calls.jsonl"
    out = []
    for line in path.read_bytes().splitlines(True):
        call = parse_canonical(line)
        if call["call_id"] == changed:
            call = {k: v for k, v in call.items() if k != "record_hash"}
            call["request"] = {**call["request"], "max_completion_tokens": 1}
            call["record_hash"] = new_hash = record_hash_of(call)
            line = canonical_bytes(call) + b"\n"
        out.append(line)
    path.write_bytes(b"".join(out))
    refs = [{**r, "record_hash": new_hash} if r["call_id"] == changed else r for r in target["llm_calls"]]
    values[seq] = {**target, "llm_calls": refs}
    rewrite_and_resign(case, values)
    assert verify_ledger(ledger(case)).ok  # every hash and signature agrees again
    (verdict,) = replay(case).problems
    assert (verdict.seq, verdict.status) == (seq, "evidence_missing") and "another request" in verdict.message
