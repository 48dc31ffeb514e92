"""AppendBatcher (an assessor's side of group commit): claims finishing while one batch is on its way to the ledger
go in the next message, and each caller still gets its own record or its own error, never before the ledger's."""

from __future__ import annotations

import asyncio

import pytest

from claim_assess.errors import CanonicalFormError, InvalidRecordError
from claim_assess.ledger.group_commit import AppendBatcher, GroupCommitWriter
from claim_assess.ledger.memory import MemoryLedger
from claim_assess.ledger.records import genesis_hash
from test_ledger_store import call, draft


class GatedLedger:
    """The ledger actor's ``append_many`` over a real writer, answering only when the test opens the gate."""

    def __init__(self) -> None:
        self.ledger = MemoryLedger()
        self.writer = GroupCommitWriter(self.ledger)
        self.gate = asyncio.Event()
        self.batches: list[list[str]] = []

    async def append_many(self, appends):
        self.batches.append([d.claim_id for d, _ in appends])
        await self.gate.wait()
        return await self.writer.append_many(appends)


async def _until(condition) -> None:
    for _ in range(1000):  # lets the other tasks run; no sleeping for time to pass
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def test_appends_made_while_a_batch_is_in_flight_go_together_in_the_next_message():
    async def go():
        ledger = GatedLedger()
        batcher = AppendBatcher(ledger.append_many)
        first = asyncio.create_task(batcher.append(draft("C-0"), [call("C-0")]))
        await _until(lambda: len(ledger.batches) == 1)
        rest = [asyncio.create_task(batcher.append(draft(f"C-{i}"), [call(f"C-{i}")])) for i in range(1, 6)]
        await _until(lambda: len(batcher._pending) == 5)
        assert not any(t.done() for t in [first, *rest])  # nothing acknowledged before the ledger answered
        ledger.gate.set()
        return ledger, batcher, await asyncio.gather(first, *rest)

    ledger, batcher, records = asyncio.run(go())
    assert ledger.batches == [["C-0"], [f"C-{i}" for i in range(1, 6)]] and batcher.messages == 2
    assert [r.claim_id for r in records] == [f"C-{i}" for i in range(6)]  # each caller its own record
    by_seq = sorted(records, key=lambda r: r.seq)
    assert by_seq[0].previous_hash == genesis_hash(by_seq[0].ledger_id)
    assert all(b.previous_hash == a.record_hash for a, b in zip(by_seq, by_seq[1:]))
    assert ledger.ledger.height == 6


def test_a_malformed_record_fails_only_its_own_caller():
    async def go():
        ledger = GatedLedger()
        ledger.gate.set()
        batcher = AppendBatcher(ledger.append_many)
        float_call = call("C-2") | {"latency_ms": 1.5}  # canonical JSON has no floats: refused when written
        return ledger, await asyncio.gather(
            batcher.append(draft("C-1")), batcher.append(draft("C-2"), [float_call]), batcher.append(draft("C-3")),
            return_exceptions=True)

    ledger, (one, bad, three) = asyncio.run(go())
    assert isinstance(bad, (InvalidRecordError, CanonicalFormError))
    assert (one.claim_id, three.claim_id) == ("C-1", "C-3") and ledger.ledger.height == 2


def test_a_message_that_fails_fails_its_callers_and_the_next_batch_still_goes():
    sent: list[int] = []

    async def flaky(appends):
        sent.append(len(appends))
        if len(sent) == 1:
            raise ConnectionError("the ledger did not come back")
        return await writer.append_many(appends)

    writer = GroupCommitWriter(MemoryLedger())

    async def go():
        batcher = AppendBatcher(flaky)
        first = asyncio.create_task(batcher.append(draft("C-1")))
        await asyncio.sleep(0)  # C-1 leaves alone; C-2 joins the queue behind it
        second = asyncio.create_task(batcher.append(draft("C-2")))
        return await asyncio.gather(first, second, return_exceptions=True)

    first, second = asyncio.run(go())
    assert isinstance(first, ConnectionError) and second.claim_id == "C-2"
    assert sent == [1, 1]


def test_a_batch_resent_after_a_ledger_restart_keeps_one_decision_per_claim():
    writer = GroupCommitWriter(MemoryLedger())

    async def go():
        appends = [(draft(f"C-{i}"), [call(f"C-{i}")]) for i in range(3)]
        once = await writer.append_many(appends)
        again = await writer.append_many(appends)  # what through_restart does when the answer was lost
        return once, again

    once, again = asyncio.run(go())
    assert once == again and writer.height == 3


@pytest.mark.parametrize("max_batch", [1, 2])
def test_a_batch_is_capped(max_batch):
    sizes: list[int] = []
    writer = GroupCommitWriter(MemoryLedger())

    async def send(appends):
        sizes.append(len(appends))
        return await writer.append_many(appends)

    async def go():
        batcher = AppendBatcher(send, max_batch=max_batch)
        return await asyncio.gather(*(batcher.append(draft(f"C-{i}")) for i in range(5)))

    assert len(asyncio.run(go())) == 5 and max(sizes) == max_batch and sum(sizes) == 5
