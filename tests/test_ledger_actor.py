"""The ledger actor's contract, through Ray, with either ledger behind it: the same test class runs against
the in-memory ledger and the file ledger (the actor takes a factory, so nothing else changes)."""

from __future__ import annotations

import pytest

from claim_assess.actors.ledger_actor import LedgerActor
from claim_assess.errors import LedgerError
from claim_assess.ledger.memory import MemoryLedger
from claim_assess.ledger.records import genesis_hash
from claim_assess.ledger.store import OpenFileLedger
from test_ledger_store import call, draft  # the store's contract test builds the same records

pytestmark = pytest.mark.ray


@pytest.fixture(params=["memory", "file"])
def actor(request, ray_session, tmp_path):
    open_ledger = MemoryLedger if request.param == "memory" else OpenFileLedger(str(tmp_path / "ledger"))
    handle = ray_session.remote(LedgerActor).options(max_concurrency=100).remote(open_ledger)
    yield handle
    ray_session.kill(handle)


class TestLedgerActorContract:
    def test_concurrent_appends_are_chained_in_one_order_and_keep_one_decision_per_claim(self, actor, ray_session):
        refs = [actor.append.remote(draft(f"C-{i}"), [call(f"C-{i}")]) for i in range(30)]
        records = ray_session.get(refs)
        again = ray_session.get(actor.append.remote(draft("C-3", payout="999.00", decision="DENY")))
        assert sorted(r.seq for r in records) == list(range(30))
        by_seq = sorted(records, key=lambda r: r.seq)
        assert by_seq[0].previous_hash == genesis_hash(by_seq[0].ledger_id)
        assert all(after.previous_hash == before.record_hash for before, after in zip(by_seq, by_seq[1:]))
        assert again == next(r for r in records if r.claim_id == "C-3")  # the key keeps the first decision
        assert ray_session.get(actor.height.remote()) == 30

    def test_a_batch_of_appends_answers_each_in_order_and_refuses_only_the_bad_one(self, actor, ray_session):
        bad_call = call("C-1") | {"latency_ms": 1.5}  # canonical JSON has no floats
        appends = [(draft("C-0"), [call("C-0")]), (draft("C-1"), [bad_call]), (draft("C-2"), [])]
        first, refused, third = ray_session.get(actor.append_many.remote(appends))
        assert (first.claim_id, third.claim_id) == ("C-0", "C-2") and isinstance(refused, LedgerError)
        assert ray_session.get(actor.append_many.remote(appends[::2])) == [first, third]  # sent again: same records
        assert ray_session.get(actor.height.remote()) == 2

    def test_a_failed_claim_is_not_decided_and_may_be_retried(self, actor, ray_session):
        ray_session.get([actor.append.remote(draft("C-1", "FAILED", payout="0.00")), actor.append.remote(draft("C-2"))])
        assert ray_session.get(actor.decided_claims.remote("run1")) == ["C-2"]
        retried = ray_session.get(actor.append.remote(draft("C-1")))
        assert retried.seq == 2 and sorted(ray_session.get(actor.decided_claims.remote("run1"))) == ["C-1", "C-2"]

    def test_checkpoint_covers_the_acknowledged_records_and_close_signs_the_end(self, actor, ray_session):
        assert ray_session.get(actor.checkpoint.remote()) is None  # an empty ledger: nothing to sign
        ray_session.get([actor.append.remote(draft(f"C-{i}")) for i in range(5)])
        info = ray_session.get(actor.checkpoint.remote())
        assert info.tree_size == 5 and ray_session.get(actor.newest_checkpoint.remote()) == info
        ray_session.get(actor.append.remote(draft("C-5")))
        assert ray_session.get(actor.close.remote()) == 6
