"""The writer's checkpoints (spec §4): automatic and on demand, signed, O(log n) frontier, restarts, keys."""

from __future__ import annotations

import asyncio
import base64
import errno
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

from claim_assess.ledger.group_commit import GroupCommitWriter
from claim_assess.errors import LedgerCorruptError, LedgerError, LedgerWriteError
from claim_assess.ledger.canonical import canonical_bytes, parse_canonical
from claim_assess.ledger.checkpoints import CheckpointInfo, read_checkpoint
from claim_assess.ledger.keys import key_id_of, load_public_key
from claim_assess.ledger.merkle import leaf_hash, root_of
from claim_assess.ledger.store import FileLedger
from claim_assess.ledger.verify import verify_ledger
from test_ledger_store import FakeClock, call, draft


def cp_lines(directory) -> list[dict]:
    path = directory / "checkpoints.jsonl"
    return [parse_canonical(x) for x in path.read_bytes().splitlines(keepends=True)]


def expected_root(directory, size: int) -> str:
    lines = (directory / "decisions.jsonl").read_bytes().splitlines()[:size]
    return root_of([leaf_hash(x) for x in lines]).hex()


def test_automatic_checkpoints_commit_to_the_file(tmp_path):
    with FileLedger.open(tmp_path, clock=FakeClock(), checkpoint_every=5) as store:
        store.append_many([(draft(f"C-{i}"), [call(f"C-{i}")]) for i in range(3)])
        assert store.newest_checkpoint is None
        store.append_many([(draft(f"C-{i}"), []) for i in range(3, 7)])  # 7 >= 5: one at tree_size 7
        for i in range(7, 13):
            store.append(draft(f"C-{i}"))  # next one when 5 more follow: at 12
        head = store.head_hash
    cps = cp_lines(tmp_path)
    assert [c["tree_size"] for c in cps] == [7, 12]
    public = load_public_key(tmp_path / "signing_key.pub")
    for c in cps:
        assert c["schema"] == "checkpoint/1" and c["root"] == expected_root(tmp_path, c["tree_size"])
        body = {k: v for k, v in c.items() if k != "signature"}
        public.verify(base64.b64decode(c["signature"]), canonical_bytes(body))  # raises if invalid
        assert c["key_id"] == key_id_of(public)
    decisions = (tmp_path / "decisions.jsonl").read_bytes().splitlines()
    assert cps[1]["head_hash"] == parse_canonical(decisions[11])["record_hash"]
    assert head != cps[1]["head_hash"]  # seq 12 is not covered yet


def test_checkpoint_on_demand(tmp_path):
    with FileLedger.open(tmp_path, checkpoint_every=0) as store:
        assert store.checkpoint() is None  # empty: nothing to sign
        store.append(draft("C-1"))
        info = store.checkpoint()
        assert isinstance(info, CheckpointInfo)
        assert (info.tree_size, info.head_hash, info.key_id) == (1, store.head_hash, store.key_id)
        assert info.path == str(tmp_path / "checkpoints.jsonl")
        assert info.public_key_path == str(tmp_path / "signing_key.pub")
        assert info.root == expected_root(tmp_path, 1)
        assert store.checkpoint() == info  # nothing new: no new line
        assert len(cp_lines(tmp_path)) == 1
        store.append(draft("C-2"))
        assert store.checkpoint().tree_size == 2
    assert len(cp_lines(tmp_path)) == 2
    assert verify_ledger(tmp_path).ok


def test_frontier_survives_a_restart(tmp_path):
    with FileLedger.open(tmp_path, checkpoint_every=0) as store:
        for i in range(11):
            store.append(draft(f"C-{i}"))
        first = store.checkpoint()
    with FileLedger.open(tmp_path, checkpoint_every=0) as store:
        assert store.newest_checkpoint == first
        for i in range(11, 30):
            store.append(draft(f"C-{i}"))
        info = store.checkpoint()
    assert info.root == expected_root(tmp_path, 30)
    report = verify_ledger(tmp_path)
    assert report.ok and report.checkpoints == 2 and report.unanchored == 0


def test_signing_key_file_is_private_and_reused(tmp_path):
    with FileLedger.open(tmp_path) as store:
        key_id = store.key_id
    assert (tmp_path / "signing_key").stat().st_mode & 0o777 == 0o600
    with FileLedger.open(tmp_path) as store:
        assert store.key_id == key_id
    assert parse_canonical((tmp_path / "ledger.json").read_bytes())["key_id"] == key_id


def test_a_given_key_file_signs_and_a_key_change_is_refused(tmp_path):
    key_file = tmp_path / "operator.pem"
    private = Ed25519PrivateKey.generate()
    key_file.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))  # fmt: skip
    directory = tmp_path / "ledger"
    with FileLedger.open(directory, signing_key_path=key_file) as store:
        assert store.key_id == key_id_of(private.public_key())
        store.append(draft("C-1"))
        store.checkpoint()
    assert not (directory / "signing_key").exists()
    assert key_id_of(load_public_key(directory / "signing_key.pub")) == store.key_id
    with pytest.raises(LedgerError, match="does not change keys"):
        FileLedger.open(directory)  # would make a new signing_key: a different key
    with FileLedger.open(directory, signing_key_path=key_file) as again:
        assert again.height == 1


def test_an_altered_checkpoint_refuses_to_open(tmp_path):
    with FileLedger.open(tmp_path, checkpoint_every=0) as store:
        store.append(draft("C-1"))
        store.checkpoint()
        store.append(draft("C-2"))
        store.checkpoint()
    path = tmp_path / "checkpoints.jsonl"
    first, second = path.read_bytes().splitlines(keepends=True)
    value = parse_canonical(first)
    path.write_bytes(canonical_bytes({**value, "root": "0" * 64}) + b"\n" + second)
    with pytest.raises(LedgerCorruptError, match="line 1 .*not signed by this ledger's key"):
        FileLedger.open(tmp_path)


def test_truncation_inside_a_checkpoint_refuses_to_open(tmp_path):
    with FileLedger.open(tmp_path, checkpoint_every=0) as store:
        for i in range(4):
            store.append(draft(f"C-{i}"))
        store.checkpoint()
    path = tmp_path / "decisions.jsonl"
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:3]))
    with pytest.raises(LedgerCorruptError, match="holds 3 records but a signed checkpoint covers 4"):
        FileLedger.open(tmp_path)


def test_torn_checkpoint_tail_is_set_aside(tmp_path):
    with FileLedger.open(tmp_path, checkpoint_every=0) as store:
        store.append(draft("C-1"))
        store.checkpoint()
    path = tmp_path / "checkpoints.jsonl"
    good = path.read_bytes()
    path.write_bytes(good + good[:40])
    with FileLedger.open(tmp_path, clock=FakeClock()) as store:
        assert [p.name.split(".torn-")[0] for p in store.recovered] == ["checkpoints.jsonl"]
        assert store.newest_checkpoint.tree_size == 1
    assert path.read_bytes() == good
    assert read_checkpoint(good).tree_size == 1


class FailingCheckpointFsync:
    def __init__(self, directory) -> None:
        self.target = os.path.realpath(directory / "checkpoints.jsonl")
        self.armed = False

    def __call__(self, fd: int) -> None:
        if self.armed and os.path.realpath(f"/proc/self/fd/{fd}") == self.target:
            raise OSError(errno.EIO, "simulated I/O error")
        os.fsync(fd)


def test_failed_checkpoint_fsync_stops_the_writer(tmp_path):
    fsync = FailingCheckpointFsync(tmp_path)
    store = FileLedger.open(tmp_path, fsync=fsync, checkpoint_every=2)
    store.append(draft("C-0"))
    fsync.armed = True
    with pytest.raises(LedgerWriteError, match="checkpoint failed"):
        store.append(draft("C-1"))  # durable, but the automatic checkpoint after it failed
    with pytest.raises(LedgerWriteError, match="stopped earlier"):
        store.append(draft("C-2"))
    with pytest.raises(LedgerWriteError):
        store.checkpoint()
    store.close()
    with FileLedger.open(tmp_path) as again:
        assert again.height == 2  # C-1 was durable (never acknowledged, but not lost either)


# --- the group-commit writer (the ledger actor's core), driven by asyncio --------------------------------------


def test_actor_checkpoint_is_serialized_with_batches_and_close_writes_the_last(tmp_path):
    async def scenario() -> tuple[int, CheckpointInfo | None, list]:
        actor = GroupCommitWriter(FileLedger.open(tmp_path, checkpoint_every=1000))
        records = await asyncio.gather(*(actor.append(draft(f"C-{i}"), [call(f"C-{i}")]) for i in range(20)))
        middle = await asyncio.gather(
            actor.checkpoint(), *(actor.append(draft(f"D-{i}")) for i in range(5))
        )
        info = middle[0]
        assert info is not None and info.tree_size in range(20, 26)
        more = [await actor.append(draft(f"E-{i}")) for i in range(3)]
        height = await actor.close()
        return height, info, records + list(middle[1:]) + more

    height, info, records = asyncio.run(scenario())
    assert height == 28 and len({r.seq for r in records}) == 28
    cps = cp_lines(tmp_path)
    assert cps[-1]["tree_size"] == 28  # close() signed the end of the run
    assert all(c["root"] == expected_root(tmp_path, c["tree_size"]) for c in cps)
    assert verify_ledger(tmp_path).ok
