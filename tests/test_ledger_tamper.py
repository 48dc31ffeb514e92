"""The tamper matrix (issue 4): every kind of change is caught with exit 1, naming the seq or checkpoint.

The fixture ledger: 10 decisions (seq i cites calls 2i and 2i+1), checkpoints after 4 and 8 records
(checkpoint_every=4) and a final one at 10, so checkpoints.jsonl lines 1, 2, 3 have tree sizes 4, 8, 10.
"""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from claim_assess.drivers.verify import main
from claim_assess.ledger.canonical import canonical_bytes, parse_canonical
from claim_assess.ledger.checkpoints import make_checkpoint
from claim_assess.ledger.keys import SigningKey, key_id_of, public_pem
from claim_assess.ledger.merkle import MerkleFrontier, inclusion_proof, leaf_hash, verify_inclusion
from claim_assess.ledger.records import CALL_FIELDS, DecisionDraft, DecisionRecord, record_hash_of
from claim_assess.ledger.store import FileLedger
from claim_assess.ledger.verify import verify_ledger

N = 10


def draft(claim_id: str) -> DecisionDraft:
    return DecisionDraft(
        run_id="run1", claim_id=claim_id, policy_id="P-1", decision="APPROVE", reasons=("OK",),
        payout="100.00", currency="EUR", confidence="0.870", input_digest="a" * 64, policy_digest=None,
        versions={"engine": "0.1.0", "model": "m"}, actor="assessor-0", error=None,
    )  # fmt: skip


def call(n: int, claim_id: str) -> dict:
    return {
        "schema": "llm_call/1", "call_id": f"call_{n:016x}", "run_id": "run1", "claim_id": claim_id,
        "purpose": "coverage", "item_id": "I-1", "attempt": 1, "model": "m", "endpoint": "http://127.0.0.1:1/v1",
        "request": {"messages": [{"role": "user", "content": f"q{n}"}]}, "response": f"answer {n}", "status": 200,
        "error": None, "prompt_tokens": 1, "completion_tokens": 1, "latency_ms": 5,
        "started_at": "2026-11-29T10:00:00.000Z", "finished_at": "2026-11-29T10:00:00.005Z",
    }  # fmt: skip


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("pristine")
    with FileLedger.open(ws / "ledger", checkpoint_every=4) as store:
        for i in range(N):
            store.append(draft(f"C-{i}"), [call(2 * i, f"C-{i}"), call(2 * i + 1, f"C-{i}")])
        store.checkpoint()
    shutil.copy(ws / "ledger" / "signing_key.pub", ws / "trusted.pub")  # the operator's off-host copy
    return ws


@pytest.fixture
def ws(pristine, tmp_path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(pristine, target)
    return target


def dec_path(ws: Path) -> Path:
    return ws / "ledger" / "decisions.jsonl"


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def rewrite(path: Path, new_lines: list[bytes]) -> None:
    path.write_bytes(b"".join(new_lines))


def rehash(value: dict) -> bytes:
    value = {k: v for k, v in value.items() if k != "record_hash"}
    value["record_hash"] = record_hash_of(value)
    return canonical_bytes(value) + b"\n"


def rechain(records: list[dict], start: int = 0) -> list[bytes]:
    """What an attacker with write access does: renumber and recompute every hash from ``start`` on."""
    out = []
    previous = records[start - 1]["record_hash"] if start else None
    for i, value in enumerate(records):
        if i >= start:
            value = {**value, "seq": i}
            if previous is not None:
                value["previous_hash"] = previous
            line = rehash(value)
            value = parse_canonical(line)
        out.append(canonical_bytes(value) + b"\n")
        previous = value["record_hash"]
    return out


def run(ws: Path, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--workspace", str(ws), *extra], out=out)
    return code, out.getvalue()


def test_the_fixture_verifies(ws):
    report = verify_ledger(ws / "ledger")
    assert report.ok, report.problems
    assert (report.decisions, report.llm_calls, report.checkpoints, report.unanchored) == (N, 2 * N, 3, 0)
    assert report.key_source == "stored" and report.newest_checkpoint["tree_size"] == N
    code, text = run(ws, "--public-key", str(ws / "trusted.pub"))
    assert code == 0 and "pinned public key" in text and "INTACT" in text


# --- decisions.jsonl ---------------------------------------------------------------------------

# The fields come from the record schema itself, so a field added to a record is tampered with here without
# anyone remembering to list it; test_the_schema_fields_are_what_a_record_line_holds ties the schema to the bytes.
DECISION_RECORD_FIELDS = sorted(f.name for f in dataclasses.fields(DecisionRecord))
CALL_RECORD_FIELDS = sorted(CALL_FIELDS | {"record_hash"})  # a call is a mapping: CALL_FIELDS, plus the hash
HASH_MISMATCH = "record_hash does not match the record's canonical bytes"


def altered(value):
    """``value`` changed as little as it can be, still JSON (and, for null, a value the schema takes: 64 hex is a
    digest, an id and an error text alike). A character flips to another of its kind, a number moves by one, a
    container changes its first value (never a key: that would reorder the canonical form)."""
    if value is None:
        return "0" * 64
    if type(value) is bool:
        return not value
    if type(value) is int:
        return value + 1
    if isinstance(value, str):
        for at, ch in enumerate(value):
            for kind in ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
                if ch in kind:
                    return value[:at] + kind[(kind.index(ch) + 1) % len(kind)] + value[at + 1:]
        return value + "x"
    if isinstance(value, list):
        return [altered(value[0]), *value[1:]] if value else ["x"]
    if isinstance(value, dict):
        first = min(value) if value else None
        return {**value, first: altered(value[first])} if value else {"x": "x"}
    raise AssertionError(f"no alteration for {type(value).__name__}")


def tampered_line(raw: bytes, field: str) -> bytes:
    """The line with ``field`` altered and everything else, its stored record_hash included, kept: valid canonical
    JSON, so only the hash (or the chain) can tell."""
    value = parse_canonical(raw)
    changed = {**value, field: altered(value[field])}
    assert changed[field] != value[field]
    line = canonical_bytes(changed) + b"\n"
    assert json.loads(line) == changed  # the verifier reads a record, not a JSON syntax error
    return line


def test_the_schema_fields_are_what_a_record_line_holds(pristine):
    """The fields tampered with below are every field the lines hold: none more (a typo), none fewer (a new field)."""
    decision = parse_canonical(lines(dec_path(pristine))[5])
    call_line = parse_canonical(lines(pristine / "ledger" / "llm_calls.jsonl")[13])
    assert sorted(decision) == DECISION_RECORD_FIELDS
    assert sorted(call_line) == CALL_RECORD_FIELDS
    assert any(decision[f] is None for f in DECISION_RECORD_FIELDS)  # the null case is exercised


@pytest.mark.parametrize("field", DECISION_RECORD_FIELDS)
def test_any_field_of_a_decision_changed(ws, field):
    path = dec_path(ws)
    recs = lines(path)
    recs[5] = tampered_line(recs[5], field)
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert not report.ok
    assert report.first_bad_seq == 5, report.problems
    assert report.problems[0] == ("decisions.jsonl seq 5 (line 6)", HASH_MISMATCH)  # the record, for its hash
    assert report.first_bad_checkpoint == 2  # and the signed root over seq 0..7 no longer matches
    assert run(ws)[0] == 1


@pytest.mark.parametrize("field", CALL_RECORD_FIELDS)
def test_any_field_of_a_call_record_changed(ws, field):
    path = ws / "ledger" / "llm_calls.jsonl"
    recs = lines(path)
    call_id = parse_canonical(recs[13])["call_id"]  # call 13 belongs to seq 6
    recs[13] = tampered_line(recs[13], field)
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert not report.ok and report.first_bad_seq == 6, report.problems
    # The line is named for its hash, except a changed schema: the reader then will not take it for a call record.
    said = {w: m for w, m in report.problems}.get("llm_calls.jsonl line 14", "")
    if field == "schema":
        assert said == "not an llm_call/1 record with call_id and record_hash", report.problems
    else:
        said_id = parse_canonical(recs[13])["call_id"]  # what the line now says it is
        assert said == f"record_hash of {said_id} does not match the record (it was changed)", report.problems
    seq_problems = [m for w, m in report.problems if w == "decisions.jsonl seq 6"]
    assert seq_problems and call_id in seq_problems[0]  # the decision citing it is the one named
    assert report.first_bad_checkpoint is None  # the decisions themselves are untouched
    assert run(ws)[0] == 1


def test_decision_changed_with_its_record_hash_recomputed(ws):
    path = dec_path(ws)
    recs = lines(path)
    recs[5] = rehash({**parse_canonical(recs[5]), "decision": "DENY", "payout": "0.00"})
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_seq == 6  # the chain breaks at the next link
    assert "previous_hash does not match record_hash of seq 5" in report.problems[0][1]
    assert report.first_bad_checkpoint == 2
    code, text = run(ws)
    assert code == 1 and "first bad seq: 6" in text and "first bad checkpoint: checkpoints.jsonl line 2" in text


def test_record_deleted(ws):
    path = dec_path(ws)
    recs = lines(path)
    del recs[5]
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_seq == 5 and "holds seq 6 where seq 5 belongs" in report.problems[0][1]
    assert run(ws)[0] == 1


def test_last_record_deleted_is_caught_by_the_checkpoint(ws):
    path = dec_path(ws)
    rewrite(path, lines(path)[:-1])
    report = verify_ledger(ws / "ledger")
    assert not report.ok and report.first_bad_checkpoint == 3 and report.first_bad_seq == 9
    assert "covers 10 records but decisions.jsonl holds 9" in report.problems[0][1]


def test_two_records_swapped(ws):
    path = dec_path(ws)
    recs = lines(path)
    recs[5], recs[6] = recs[6], recs[5]
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_seq == 5 and report.first_bad_checkpoint == 2
    assert run(ws)[0] == 1


def test_record_inserted_with_every_later_hash_recomputed(ws):
    path = dec_path(ws)
    records = [parse_canonical(x) for x in lines(path)]
    forged = {**records[5], "claim_id": "C-X", "idempotency_key": "run1:C-X", "llm_calls": []}
    rewrite(path, rechain([*records[:5], forged, *records[5:]], start=5))
    report = verify_ledger(ws / "ledger")
    # the chain itself is consistent again: only the signed roots can tell
    assert not [p for p in report.problems if p[0].startswith("decisions.jsonl")]
    assert report.first_bad_checkpoint == 2
    assert report.problems[0][0] == "checkpoints.jsonl line 2 (tree_size 8)"
    assert "a record in seq 4..7 was changed" in report.problems[0][1]
    assert report.unanchored == N + 1 - 4
    code, text = run(ws)
    assert code == 1 and "first bad checkpoint: checkpoints.jsonl line 2" in text


@pytest.mark.parametrize(("keep", "first_cp"), [(9, 3), (6, 2), (2, 1)])
def test_records_truncated_inside_the_last_checkpoint(ws, keep, first_cp):
    path = dec_path(ws)
    rewrite(path, lines(path)[:keep])
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_checkpoint == first_cp and report.first_bad_seq == keep
    assert "records were deleted or truncated" in report.problems[0][1]
    assert run(ws)[0] == 1


def test_truncation_after_the_last_checkpoint_shows_only_as_fewer_unanchored_records(tmp_path):
    # the documented limit: records after the newest checkpoint are only chained
    with FileLedger.open(tmp_path, checkpoint_every=4) as store:
        for i in range(6):
            store.append(draft(f"C-{i}"))
    assert verify_ledger(tmp_path).unanchored == 2
    rewrite(tmp_path / "decisions.jsonl", lines(tmp_path / "decisions.jsonl")[:5])
    report = verify_ledger(tmp_path)
    assert report.ok and report.unanchored == 1


# --- keys and checkpoints -----------------------------------------------------------------------


def _attacker_rewrite(ws: Path, *, replace_pub: bool, fix_meta: bool) -> None:
    """Change seq 5, recompute the whole chain after it, re-checkpoint everything with a new key."""
    d = ws / "ledger"
    records = [parse_canonical(x) for x in lines(d / "decisions.jsonl")]
    records[5] = {**records[5], "decision": "DENY", "payout": "0.00"}
    new_lines = rechain(records, start=5)
    rewrite(d / "decisions.jsonl", new_lines)
    private = Ed25519PrivateKey.generate()
    key = SigningKey(private, key_id_of(private.public_key()), d / "attacker")
    frontier, out = MerkleFrontier(), []
    ledger_id = records[0]["ledger_id"]
    for i, line in enumerate(new_lines, 1):
        frontier.append_data(line[:-1])
        if i in (4, 8, 10):
            cp = make_checkpoint(key, ledger_id=ledger_id, tree_size=i, root=frontier.root().hex(),
                                 head_hash=parse_canonical(line)["record_hash"], created_at="2026-11-29T11:00:00.000Z")  # fmt: skip
            out.append(cp.line())
    rewrite(d / "checkpoints.jsonl", out)
    if replace_pub:
        (d / "signing_key.pub").write_bytes(public_pem(private.public_key()))
    if fix_meta:
        meta = parse_canonical((d / "ledger.json").read_bytes())
        (d / "ledger.json").write_bytes(canonical_bytes({**meta, "key_id": key.key_id}) + b"\n")


@pytest.mark.parametrize("replace_pub", [False, True])
def test_rewrite_re_signed_with_another_key_is_a_key_change(ws, replace_pub):
    _attacker_rewrite(ws, replace_pub=replace_pub, fix_meta=False)
    report = verify_ledger(ws / "ledger")
    assert not report.ok
    assert any("key change" in message for _, message in report.problems)
    if not replace_pub:
        assert report.first_bad_checkpoint == 1  # signed by a key that is not the stored one
    code, text = run(ws)
    assert code == 1 and "key change" in text


def test_rewrite_re_signed_with_another_key_is_caught_by_the_pinned_key(ws):
    _attacker_rewrite(ws, replace_pub=True, fix_meta=True)
    assert verify_ledger(ws / "ledger").ok  # the documented limit: everything on the host agrees
    report = verify_ledger(ws / "ledger", public_key_path=ws / "trusted.pub")
    assert not report.ok and report.first_bad_checkpoint == 1 and report.key_source == "pinned"
    assert "not the pinned key" in report.problems[1][1] or "not the pinned key" in report.problems[0][1]
    code, text = run(ws, "--public-key", str(ws / "trusted.pub"))
    assert code == 1 and "first bad checkpoint: checkpoints.jsonl line 1" in text


def test_older_checkpoint_replayed_after_newer_ones(ws):
    path = ws / "ledger" / "checkpoints.jsonl"
    cps = lines(path)
    rewrite(path, [*cps, cps[0]])
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_checkpoint == 4
    assert "does not extend the checkpoint before it" in report.problems[0][1]
    assert run(ws)[0] == 1


def test_older_checkpoint_file_restored_is_caught_by_the_anchor(ws):
    d = ws / "ledger"
    cps = lines(d / "checkpoints.jsonl")
    (ws / "anchor.txt").write_bytes(cps[-1])  # the operator copied the newest checkpoint off the host
    # the attacker changes seq 9 (after the second checkpoint), re-chains it, restores the old file
    records = [parse_canonical(x) for x in lines(d / "decisions.jsonl")]
    records[9] = {**records[9], "decision": "DENY", "payout": "0.00", "llm_calls": []}
    rewrite(d / "decisions.jsonl", rechain(records, start=9))
    rewrite(d / "checkpoints.jsonl", cps[:2])
    plain = verify_ledger(d)
    assert plain.ok and plain.unanchored == 2  # without the anchor: only more unanchored records
    report = verify_ledger(d, anchor_path=ws / "anchor.txt")
    assert not report.ok
    messages = [m for _, m in report.problems]
    assert any("an older checkpoint file was restored" in m for m in messages)
    assert any("root does not match" in m for m in messages)
    code, text = run(ws, "--anchor", str(ws / "anchor.txt"))
    assert code == 1 and "anchor (tree_size 10)" in text


def test_checkpoint_byte_changed(ws):
    path = ws / "ledger" / "checkpoints.jsonl"
    cps = lines(path)
    value = parse_canonical(cps[1])
    cps[1] = canonical_bytes({**value, "tree_size": 7}) + b"\n"
    rewrite(path, cps)
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_checkpoint == 2 and "signature does not verify" in report.problems[0][1]


# --- llm_calls.jsonl ------------------------------------------------------------------------------


@pytest.mark.parametrize("recompute", [False, True])
def test_call_record_changed(ws, recompute):
    path = ws / "ledger" / "llm_calls.jsonl"
    recs = lines(path)
    value = parse_canonical(recs[13])  # call 13 belongs to seq 6
    if recompute:
        recs[13] = rehash({**value, "response": "a different answer"})
    else:
        recs[13] = recs[13].replace(b"answer 13", b"answer 31")
    rewrite(path, recs)
    report = verify_ledger(ws / "ledger")
    assert report.first_bad_seq == 6
    seq_problems = [p for p in report.problems if p[0].startswith("decisions.jsonl")]
    assert seq_problems[0][0] == "decisions.jsonl seq 6" and f"call_{13:016x}" in seq_problems[0][1]
    assert report.first_bad_checkpoint is None  # the decisions themselves are untouched
    assert run(ws)[0] == 1


# --- --prove -------------------------------------------------------------------------------------


def test_prove_prints_a_valid_rfc6962_proof(ws):
    code, text = run(ws, "--prove", "C-5", "--json")
    data = json.loads(text)
    assert code == 0 and data["ok"] is True and data["seq"] == 5 and data["checkpoint"]["tree_size"] == N
    leaves = [leaf_hash(x[:-1]) for x in lines(dec_path(ws))]
    assert data["proof"] == [h.hex() for h in inclusion_proof(leaves, 5)]
    assert verify_inclusion(leaves[5], 5, N, [bytes.fromhex(h) for h in data["proof"]], bytes.fromhex(data["checkpoint"]["root"]))
    code, text = run(ws, "--prove", "C-5", "--run", "run1", "--public-key", str(ws / "trusted.pub"))
    assert code == 0 and "PROOF VALID" in text and "pinned key" in text


def test_prove_fails_after_a_rewrite(ws):
    path = dec_path(ws)
    records = [parse_canonical(x) for x in lines(path)]
    records[2] = {**records[2], "payout": "1.00"}
    rewrite(path, rechain(records, start=2))
    code, text = run(ws, "--prove", "C-5")
    assert code == 1 and "PROOF INVALID" in text


def test_prove_unknown_or_unanchored_claim_exits_2(ws, tmp_path, capsys):
    assert run(ws, "--prove", "C-404")[0] == 2
    assert run(ws, "--prove", "C-5", "--run", "other")[0] == 2
    capsys.readouterr()
    with FileLedger.open(tmp_path / "ledger", checkpoint_every=0) as store:
        store.append(draft("C-1"))
        assert run(tmp_path, "--prove", "C-1")[0] == 2
        assert "holds no checkpoint" in capsys.readouterr().err
        store.checkpoint()
        store.append(draft("C-2"))
    assert run(tmp_path, "--prove", "C-1")[0] == 0
    assert run(tmp_path, "--prove", "C-2")[0] == 2
    assert "not anchored yet" in capsys.readouterr().err


# --- the parallel, chunked walk reports exactly what the line-by-line walk does ------------------


def _tamper_mixed(ws: Path) -> None:
    path = dec_path(ws)
    recs = lines(path)
    recs[3] = recs[3].replace(b'"100.00"', b'"100.01"')  # a bad hash in one chunk
    recs[7], recs[8] = recs[8], recs[7]  # a reordering in another
    rewrite(path, recs)


@pytest.mark.parametrize("tamper", [None, _tamper_mixed])
def test_parallel_chunked_verify_equals_the_serial_one(ws, monkeypatch, tamper):
    import claim_assess.ledger.verify as verify_module

    if tamper is not None:
        tamper(ws)
    serial = verify_ledger(ws / "ledger", jobs=1)
    monkeypatch.setattr(verify_module, "_CHUNK_BYTES", 1500)  # about two lines per chunk
    assert verify_ledger(ws / "ledger", jobs=1) == serial
    assert verify_ledger(ws / "ledger", jobs=2) == serial
    assert serial.ok is (tamper is None)


def test_bad_key_or_anchor_files_are_usage_errors(ws, tmp_path):
    assert run(ws, "--public-key", str(tmp_path / "missing.pub"))[0] == 2
    (tmp_path / "junk").write_text("not a key")
    assert run(ws, "--public-key", str(tmp_path / "junk"))[0] == 2
    assert run(ws, "--anchor", str(tmp_path / "junk"))[0] == 2
    assert main(["--workspace", str(ws), "--run", "run1"]) == 2  # --run needs --prove
