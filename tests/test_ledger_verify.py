"""verify_ledger and `python -m drivers.verify`: every kind of tampering names the right seq."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from claim_assess.drivers.verify import main
from claim_assess.ledger.canonical import canonical_bytes, parse_canonical
from claim_assess.ledger.records import DecisionDraft, record_hash_of
from claim_assess.ledger.store import FileLedger
from claim_assess.ledger.verify import verify_ledger


def draft(claim_id: str) -> DecisionDraft:
    return DecisionDraft(
        run_id="run1", claim_id=claim_id, policy_id="P-1", decision="APPROVE", reasons=("OK",),
        payout="100.00", currency="EUR", confidence="0.870", input_digest=None, policy_digest=None,
        versions={"engine": "0.1.0", "model": "m"}, actor="assessor-0", error=None,
    )  # fmt: skip


def call(n: int, claim_id: str) -> dict:
    return {
        "schema": "llm_call/1", "call_id": f"call_{n:016x}", "run_id": "run1", "claim_id": claim_id,
        "purpose": "coverage", "item_id": None, "attempt": 1, "model": "m", "endpoint": "http://127.0.0.1:1/v1",
        "request": {"messages": []}, "response": f"answer {n}", "status": 200, "error": None,
        "prompt_tokens": 1, "completion_tokens": 1, "latency_ms": 5,
        "started_at": "2026-11-29T10:00:00.000Z", "finished_at": "2026-11-29T10:00:00.005Z",
    }  # fmt: skip


@pytest.fixture
def ws(tmp_path) -> Path:
    """A workspace whose ledger holds 5 decisions (seq i uses calls 2i and 2i+1)."""
    with FileLedger.open(tmp_path / "ledger") as store:
        for i in range(5):
            store.append(draft(f"C-{i}"), [call(2 * i, f"C-{i}"), call(2 * i + 1, f"C-{i}")])
    return tmp_path


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def rewrite(path: Path, new_lines: list[bytes]) -> None:
    path.write_bytes(b"".join(new_lines))


def rehash(line: bytes, **changes) -> bytes:
    value = {**parse_canonical(line), **changes}
    value["record_hash"] = record_hash_of(value)
    return canonical_bytes(value) + b"\n"


def run(ws: Path, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--workspace", str(ws), *extra], out=out)
    return code, out.getvalue()


def test_intact_ledger_exits_0_and_reports_counts(ws):
    code, text = run(ws)
    assert code == 0
    assert "INTACT" in text and "decisions: 5" in text and "llm_calls: 10" in text
    assert "no checkpoints yet" in text
    report = verify_ledger(ws / "ledger")
    assert report.ok and report.first_bad_seq is None and report.unanchored == 5


def test_json_output_parses(ws):
    code, text = run(ws, "--json")
    data = json.loads(text)
    assert code == 0
    assert data["ok"] is True and data["decisions"] == 5 and data["llm_calls"] == 10
    assert data["problems"] == [] and data["first_bad_seq"] is None and data["unanchored"] == 5


def test_one_byte_changed(ws):
    path = ws / "ledger" / "decisions.jsonl"
    data = bytearray(path.read_bytes())
    start = sum(len(x) for x in lines(path)[:2])  # seq 2 starts here
    data[data.index(b"100.00", start)] = ord("9")
    path.write_bytes(bytes(data))
    code, text = run(ws)
    assert code == 1
    assert "first bad seq: 2" in text and "record_hash does not match" in text
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_seq == 2 and report.problems[0][0] == "decisions.jsonl seq 2 (line 3)"


def test_record_changed_with_hash_recomputed_breaks_the_next_link(ws):
    path = ws / "ledger" / "decisions.jsonl"
    recs = lines(path)
    recs[2] = rehash(recs[2], payout="999.00")
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert not report.ok and report.first_bad_seq == 3
    assert report.problems[0] == (
        "decisions.jsonl seq 3",
        "previous_hash does not match record_hash of seq 2 (seq 2 or seq 3 was altered)",
    )
    assert run(ws)[0] == 1


def test_record_deleted(ws):
    path = ws / "ledger" / "decisions.jsonl"
    recs = lines(path)
    del recs[2]
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_seq == 2 and report.decisions == 4
    assert "holds seq 3 where seq 2 belongs" in report.problems[0][1]
    assert len(report.problems) == 1


def test_last_record_deleted_is_not_detectable_without_checkpoints(ws):
    # without a checkpoint covering it (5 records < checkpoint_every) the chain alone cannot tell;
    # test_ledger_tamper.py shows the checkpoint catching the same deletion
    path = ws / "ledger" / "decisions.jsonl"
    rewrite(path, lines(path)[:-1])
    assert verify_ledger(ws / "ledger").ok


def test_two_records_swapped(ws):
    path = ws / "ledger" / "decisions.jsonl"
    recs = lines(path)
    recs[1], recs[2] = recs[2], recs[1]
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_seq == 1
    assert report.problems[:2] == (
        ("decisions.jsonl line 2", "holds seq 2 where seq 1 belongs (seq 1 missing or moved)"),
        ("decisions.jsonl line 3", "holds seq 1 where seq 3 belongs (out of order or repeated)"),
    )
    # the calls of seq 1 now come after those of seq 2: the merge walk sees the reordering too
    assert "decisions were reordered" in report.problems[2][1]
    assert run(ws)[0] == 1


@pytest.mark.parametrize("recompute", [False, True])
def test_call_record_changed(ws, recompute):
    path = ws / "ledger" / "llm_calls.jsonl"
    recs = lines(path)
    target = 7  # call 7 belongs to decision seq 3
    assert parse_canonical(recs[target])["call_id"] == f"call_{7:016x}"
    if recompute:
        recs[target] = rehash(recs[target], response="a different answer")
    else:
        recs[target] = recs[target].replace(b"answer 7", b"answer 8")
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert not report.ok and report.first_bad_seq == 3
    decision_problems = [p for p in report.problems if p[0].startswith("decisions.jsonl")]
    assert decision_problems[0][0] == "decisions.jsonl seq 3"
    assert f"call_{7:016x}" in decision_problems[0][1]
    if not recompute:
        assert ("llm_calls.jsonl line 8", f"record_hash of call_{7:016x} does not match the record (it was changed)") in report.problems
    code, text = run(ws)
    assert code == 1 and "first bad seq: 3" in text


def test_missing_call_record(ws):
    path = ws / "ledger" / "llm_calls.jsonl"
    recs = lines(path)
    del recs[0]
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_seq == 0 and "has no record" in report.problems[0][1]


def test_torn_tail_is_reported(ws):
    path = ws / "ledger" / "decisions.jsonl"
    path.write_bytes(path.read_bytes()[:-1])
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_seq == 4 and "newline" in report.problems[0][1]


def test_second_non_failed_decision_for_a_key(ws):
    path = ws / "ledger" / "decisions.jsonl"
    recs = lines(path)
    last = parse_canonical(recs[-1])
    extra = {**last, "seq": 5, "previous_hash": last["record_hash"], "decision_id": "dec_00000000000000ff",
             "llm_calls": []}  # fmt: skip
    extra["record_hash"] = record_hash_of(extra)
    rewrite(path, [*recs, canonical_bytes(extra) + b"\n"])
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_seq == 5 and "second non-FAILED decision" in report.problems[0][1]


def test_missing_directory_exits_2(tmp_path, capsys):
    assert main(["--ledger", str(tmp_path / "nope")]) == 2
    assert "no ledger directory" in capsys.readouterr().err
    assert main(["--workspace", str(tmp_path)]) == 2


def test_not_a_ledger_exits_2(tmp_path):
    (tmp_path / "ledger").mkdir()
    assert main(["--workspace", str(tmp_path)]) == 2
    out = io.StringIO()
    assert main(["--workspace", str(tmp_path), "--json"], out=out) == 2
    assert json.loads(out.getvalue())["ok"] is False


def test_usage_errors_exit_2():
    assert main([]) == 2


def test_run_is_checked_like_every_run_id(ws, capsys):
    assert main(["--workspace", str(ws), "--prove", "C-1", "--run", "no/such run"]) == 2 and "--run" in capsys.readouterr().err
    assert main(["--workspace", str(ws), "--jobs", "0"]) == 2 and "--jobs must be at least 1" in capsys.readouterr().err


def test_call_record_with_a_credential_is_reported(ws):
    path = ws / "ledger" / "llm_calls.jsonl"
    recs = lines(path)
    value = parse_canonical(recs[4])
    recs[4] = rehash(recs[4], request={**value["request"], "headers": {"Authorization": "Bearer sk-x"}})
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert ("llm_calls.jsonl line 5", "call record holds a credential-like key request.headers.Authorization") in report.problems
    assert report.first_bad_seq == 2  # and the decision that used it no longer matches
