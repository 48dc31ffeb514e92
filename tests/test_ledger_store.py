"""The ledger contract, run against MemoryLedger and FileLedger; then FileLedger's durability rules."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from claim_assess.errors import (
    InvalidRecordError,
    LedgerCorruptError,
    LedgerLockedError,
    LedgerWriteError,
)
from claim_assess.ledger.canonical import parse_canonical
from claim_assess.ledger.merkle import leaf_hash, root_of
from claim_assess.ledger.records import DecisionDraft, genesis_hash
from claim_assess.ledger.store import FileLedger, Ledger, MemoryLedger
from claim_assess.ledger.verify import verify_ledger


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 10, 0, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def draft(claim_id: str = "C-1", decision: str = "APPROVE", run_id: str = "run1", **over) -> DecisionDraft:
    fields = dict(
        run_id=run_id, claim_id=claim_id, policy_id="P-1", decision=decision, reasons=("OK",),
        payout="100.00", currency="EUR", confidence="0.870", input_digest="a" * 64, policy_digest="b" * 64,
        versions={"engine": "0.1.0", "rules": "claims-rules/1", "model": "m", "prompts": "c" * 64},
        actor="assessor-0", error="boom" if decision == "FAILED" else None,
    )  # fmt: skip
    fields.update(over)
    return DecisionDraft(**fields)


_counter = iter(range(10**9))


def call(claim_id: str = "C-1", run_id: str = "run1") -> dict:
    return {
        "schema": "llm_call/1", "call_id": f"call_{next(_counter):016x}", "run_id": run_id, "claim_id": claim_id,
        "purpose": "coverage", "item_id": None, "attempt": 1, "model": "m", "endpoint": "http://127.0.0.1:1/v1",
        "request": {"messages": [{"role": "user", "content": "x"}]}, "response": "{}", "status": 200,
        "error": None, "prompt_tokens": 1, "completion_tokens": 1, "latency_ms": 5,
        "started_at": "2026-11-29T10:00:00.000Z", "finished_at": "2026-11-29T10:00:00.005Z",
    }  # fmt: skip


@pytest.fixture(params=["memory", "file"])
def ledger(request, tmp_path):
    if request.param == "memory":
        store = MemoryLedger(clock=FakeClock())
    else:
        store = FileLedger.open(tmp_path / "ledger", clock=FakeClock())
    yield store
    store.close()


class TestLedgerContract:
    def test_is_a_ledger_and_starts_at_genesis(self, ledger):
        assert isinstance(ledger, Ledger)
        assert ledger.height == 0
        assert ledger.head_hash == genesis_hash(ledger.ledger_id)
        assert len(ledger.ledger_id) == 32

    def test_checkpoint_signs_the_current_tree_once(self, ledger):
        assert ledger.checkpoint() is None and ledger.newest_checkpoint is None  # nothing to commit to yet
        for i in range(3):
            ledger.append(draft(f"C-{i}"))
        info = ledger.checkpoint()
        assert (info.tree_size, info.root, info.head_hash) == (3, ledger.root, ledger.head_hash)
        assert ledger.checkpoint() == info == ledger.newest_checkpoint  # no new records: no new checkpoint
        ledger.append(draft("C-3"))
        assert ledger.checkpoint().tree_size == 4 and ledger.newest_checkpoint.root == ledger.root

    def test_records_chain_from_genesis(self, ledger):
        records = [ledger.append(draft(f"C-{i}")) for i in range(4)]
        assert [r.seq for r in records] == [0, 1, 2, 3]
        assert records[0].previous_hash == genesis_hash(ledger.ledger_id)
        for before, after in zip(records, records[1:]):
            assert after.previous_hash == before.record_hash
        assert ledger.head_hash == records[-1].record_hash
        assert ledger.height == 4
        assert list(ledger.decisions()) == records
        assert all(r.ledger_id == ledger.ledger_id for r in records)

    def test_calls_are_referenced_in_the_given_order(self, ledger):
        calls = [call(), call(), call()]
        record = ledger.append(draft(), calls)
        assert [ref.call_id for ref in record.llm_calls] == [c["call_id"] for c in calls]
        assert all(len(ref.record_hash) == 64 for ref in record.llm_calls)
        assert len({ref.record_hash for ref in record.llm_calls}) == 3

    def test_idempotent_append_returns_existing_unchanged(self, ledger):
        first = ledger.append(draft(payout="100.00"))
        again = ledger.append(draft(payout="999.00", decision="DENY"), [call()])
        assert again == first
        assert ledger.height == 1
        assert ledger.get("run1:C-1") == first
        assert ledger.get("run1:nope") is None

    def test_failed_then_retry_then_pinned(self, ledger):
        failed = ledger.append(draft(decision="FAILED"))
        assert ledger.get("run1:C-1") == failed
        failed2 = ledger.append(draft(decision="FAILED", error="again"))
        assert failed2.seq == 1 and ledger.get("run1:C-1") == failed2
        decided = ledger.append(draft(decision="REFER"))
        assert decided.seq == 2 and ledger.get("run1:C-1") == decided
        assert ledger.append(draft(decision="FAILED")) == decided
        assert ledger.height == 3

    def test_same_claim_in_another_run_is_a_new_key(self, ledger):
        a = ledger.append(draft(run_id="run1"))
        b = ledger.append(draft(run_id="run2"))
        assert a.seq == 0 and b.seq == 1
        assert [r.seq for r in ledger.decisions(run_id="run2")] == [1]

    def test_append_many_orders_and_dedupes_within_the_batch(self, ledger):
        existing = ledger.append(draft("C-0"))
        c1, c2 = call("C-1"), call("C-1")
        results = ledger.append_many(
            [
                (draft("C-1", decision="FAILED"), [c1]),
                (draft("C-1", decision="APPROVE"), [c2]),
                (draft("C-1", decision="DENY"), []),
                (draft("C-0", decision="DENY"), [call("C-0")]),
                (draft("C-2"), []),
            ]
        )
        assert [r.seq for r in results] == [1, 2, 2, 0, 3]
        assert results[2] == results[1] and results[3] == existing
        assert results[1].decision == "APPROVE"
        assert results[0].llm_calls[0].call_id == c1["call_id"]
        assert results[1].llm_calls[0].call_id == c2["call_id"]
        assert ledger.height == 4
        assert [r.seq for r in ledger.decisions()] == [0, 1, 2, 3]
        assert ledger.get("run1:C-1") == results[1]

    def test_root_is_the_rfc6962_root_of_the_lines(self, ledger):
        assert ledger.root == hashlib.sha256(b"").hexdigest()
        ledger.append_many([(draft(f"C-{i}"), [call(f"C-{i}")]) for i in range(5)])
        ledger.append(draft("C-0"))  # idempotent: no new leaf
        ledger.append(draft("C-9"))
        leaves = [leaf_hash(r.line()[:-1]) for r in ledger.decisions()]
        assert len(leaves) == 6 and ledger.root == root_of(leaves).hex()

    def test_a_bad_record_rejects_the_whole_batch(self, ledger):
        bad = call()
        bad["latency_ms"] = 1.5
        with pytest.raises(InvalidRecordError):
            ledger.append_many([(draft("C-1"), []), (draft("C-2"), [bad])])
        assert ledger.height == 0
        assert ledger.append(draft("C-1")).seq == 0


# --- FileLedger ----------------------------------------------------------------------------------


def fill(directory: Path, n: int = 3) -> FileLedger:
    store = FileLedger.open(directory, clock=FakeClock())
    for i in range(n):
        store.append(draft(f"C-{i}", decision="FAILED" if i == 1 else "APPROVE"), [call(f"C-{i}")])
    return store


def test_creates_files_and_lock_holds_pid(tmp_path):
    directory = tmp_path / "ws" / "ledger"
    with FileLedger.open(directory) as store:
        assert {p.name for p in directory.iterdir()} == {
            "decisions.jsonl", "llm_calls.jsonl", "checkpoints.jsonl", "ledger.json", "writer.lock",
            "signing_key", "signing_key.pub",
        }  # fmt: skip
        meta = parse_canonical((directory / "ledger.json").read_bytes())
        assert meta["ledger_id"] == store.ledger_id and meta["key_id"] == store.key_id
        assert (directory / "signing_key").stat().st_mode & 0o777 == 0o600
        assert (directory / "writer.lock").read_text().strip() == str(os.getpid())


def test_reopen_rebuilds_state_identically(tmp_path):
    store = fill(tmp_path, 5)
    store.append(draft("C-1", decision="DENY"))  # retry after FAILED
    before = (store.ledger_id, store.height, store.head_hash, store.calls_count, list(store.decisions()))
    gets = {f"run1:C-{i}": store.get(f"run1:C-{i}") for i in range(5)}
    index = store._state.index.snapshot()
    store.close()
    with FileLedger.open(tmp_path, clock=FakeClock()) as again:
        assert (again.ledger_id, again.height, again.head_hash, again.calls_count, list(again.decisions())) == before
        assert {k: again.get(k) for k in gets} == gets
        assert again._state.index.snapshot() == index
        assert again.recovered == ()
        nxt = again.append(draft("C-9"))
        assert nxt.seq == 6 and nxt.previous_hash == before[2]
    assert verify_ledger(tmp_path).ok


@pytest.mark.parametrize(
    ("name", "tail"),
    [
        ("decisions.jsonl", b'{"actor":"assessor-0","claim_id":"C-'),  # no newline
        ("decisions.jsonl", b"\x00\x00\x00\x00"),
        ("decisions.jsonl", b'{"a":1}\n'),  # parses, but not a hashed record
        ("llm_calls.jsonl", b'{"attempt":1,"call_id":"call_'),
    ],
)
def test_torn_tail_is_set_aside_and_truncated(tmp_path, name, tail):
    fill(tmp_path).close()
    path = tmp_path / name
    good = path.read_bytes()
    with open(path, "ab") as f:
        f.write(tail)
    with FileLedger.open(tmp_path, clock=FakeClock()) as store:
        assert len(store.recovered) == 1
        side = store.recovered[0]
        assert side.name.startswith(name + ".torn-2026") and side.read_bytes() == tail
        assert path.read_bytes() == good
        assert store.height == 3
    with FileLedger.open(tmp_path, clock=FakeClock()) as store:  # recovering twice changes nothing
        assert store.recovered == ()
        assert path.read_bytes() == good
        store.append(draft("C-7"), [call("C-7")])
    assert len(list(tmp_path.glob("*.torn-*"))) == 1
    assert verify_ledger(tmp_path).ok


def test_torn_last_record_with_bad_hash_is_recovered(tmp_path):
    fill(tmp_path).close()
    path = tmp_path / "decisions.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]) + lines[-1].replace(b'"100.00"', b'"100.01"'))
    with FileLedger.open(tmp_path) as store:
        assert store.height == 2 and len(store.recovered) == 1
    assert path.read_bytes() == b"".join(lines[:-1])


def test_corruption_before_the_tail_refuses_to_open_naming_the_seq(tmp_path):
    fill(tmp_path).close()
    path = tmp_path / "decisions.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"100.00"', b'"900.00"')
    path.write_bytes(b"".join(lines))
    open_fds = len(os.listdir("/proc/self/fd"))
    with pytest.raises(LedgerCorruptError, match=r"decisions\.jsonl: seq 1 "):
        FileLedger.open(tmp_path)
    assert len(os.listdir("/proc/self/fd")) == open_fds  # no descriptor leaked by the refused open
    assert path.read_bytes() == b"".join(lines)  # nothing was "repaired"
    FileLedger.open(tmp_path / "other").close()  # the lock was released by the failed open
    with pytest.raises(LedgerCorruptError):
        FileLedger.open(tmp_path)


def test_deleted_record_before_the_tail_is_corruption(tmp_path):
    fill(tmp_path).close()
    path = tmp_path / "decisions.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[2])
    with pytest.raises(LedgerCorruptError, match="seq 1.*holds seq 2"):
        FileLedger.open(tmp_path)


def test_corrupt_call_record_before_the_tail_names_the_line(tmp_path):
    fill(tmp_path).close()
    path = tmp_path / "llm_calls.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b'"coverage"', b'"assessment"')
    path.write_bytes(b"".join(lines))
    with pytest.raises(LedgerCorruptError, match=r"llm_calls\.jsonl: line 1: record_hash"):
        FileLedger.open(tmp_path)


def test_second_writer_is_refused_with_pid(tmp_path):
    with FileLedger.open(tmp_path):
        # a second open file description conflicts under flock even within one process
        with pytest.raises(LedgerLockedError, match=rf"{tmp_path}.*pid {os.getpid()}"):
            FileLedger.open(tmp_path)
        code = (
            "import sys\nfrom claim_assess.ledger.store import FileLedger\nfrom claim_assess.errors import LedgerLockedError\n"
            f"try:\n    FileLedger.open({str(tmp_path)!r})\nexcept LedgerLockedError as e:\n    print(e); sys.exit(3)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 3, proc.stderr
        assert f"pid {os.getpid()}" in proc.stdout
    FileLedger.open(tmp_path).close()  # released on close


class FlakyFsync:
    def __init__(self) -> None:
        self.fail = False
        self.calls = 0

    def __call__(self, fd: int) -> None:
        self.calls += 1
        if self.fail:
            raise OSError(errno.EIO, "simulated I/O error")
        os.fsync(fd)


def test_group_commit_is_one_fsync_per_file(tmp_path):
    fsync = FlakyFsync()
    with FileLedger.open(tmp_path, fsync=fsync) as store:
        fsync.calls = 0
        store.append_many([(draft(f"C-{i}"), [call(f"C-{i}"), call(f"C-{i}")]) for i in range(10)])
        assert fsync.calls == 2
        fsync.calls = 0
        store.append(draft("C-0"))  # idempotent, no calls: nothing to write
        assert fsync.calls == 0


def test_failed_fsync_stops_the_writer_with_nothing_acknowledged(tmp_path):
    fsync = FlakyFsync()
    store = FileLedger.open(tmp_path, fsync=fsync)
    kept = store.append(draft("C-0"))
    fsync.fail = True
    with pytest.raises(LedgerWriteError, match="stopped"):
        store.append(draft("C-1"), [call("C-1")])
    assert store.height == 1 and store.get("run1:C-1") is None and store.head_hash == kept.record_hash
    # the calls file failed first, so the decision was never even written
    assert len((tmp_path / "decisions.jsonl").read_bytes().splitlines()) == 1
    fsync.fail = False
    with pytest.raises(LedgerWriteError, match="stopped earlier"):  # never retried
        store.append(draft("C-2"))
    store.close()
    with FileLedger.open(tmp_path) as again:
        assert again.height == 1 and again.head_hash == kept.record_hash


def test_missing_ledger_json_with_records_is_corruption(tmp_path):
    fill(tmp_path).close()
    (tmp_path / "ledger.json").unlink()
    with pytest.raises(LedgerCorruptError, match="ledger.json is missing"):
        FileLedger.open(tmp_path)
