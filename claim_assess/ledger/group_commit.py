"""GroupCommitWriter: many concurrent appends, one write and one fsync per batch, nothing acknowledged early.

The one writer of a ledger (the ``ledger`` actor is a thin shell over this class; any ``Ledger`` drives it).
Appends that arrive while a batch is being written wait in a queue and are written together by the next
``append_many``, so many assessors share each fsync; no caller gets its record before the fsync that holds it
returned. The blocking file work runs in a worker thread, so the writer keeps accepting appends meanwhile.

Checkpoints (a signed Merkle root): the ledger writes one by itself every N records inside ``append_many``;
``checkpoint()`` writes one on demand and ``close()`` writes the run's final one. Both take the same lock as
the batches, so a checkpoint never runs while a batch is being written and always covers whole acknowledged
batches. A failed write or fsync stops the writer for good: every waiting append fails with it.

``AppendBatcher`` is the same idea on a caller's side of the message: the appends an assessor's claims make while
one batch is on its way to the ledger go together in the next message (``append_many``). Every actor call costs
about a millisecond of CPU in each process on the benchmark's machine, one per claim before, so an assessor keeps
one batch in flight and a claim waits at most one round trip more. Each caller still gets its own record, or its
own error, and only once the ledger acknowledged the batch (after its fsync): nothing is acknowledged early.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from claim_assess.errors import CanonicalFormError, InvalidRecordError
from claim_assess.ledger.checkpoints import CheckpointInfo
from claim_assess.ledger.records import DecisionDraft, DecisionRecord, FAILED
from claim_assess.ledger.store import Ledger

log = logging.getLogger(__name__)
_Pending = tuple[DecisionDraft, Sequence[Mapping[str, Any]], asyncio.Future]
Appends = list[tuple[DecisionDraft, Sequence[Mapping[str, Any]]]]
MAX_BATCH = 64  # claims per message at most: bounds the message, and one bad message costs no more than this


class _AppendQueue:
    """Appends waiting for one task to take them a batch at a time: both sides of group commit queue this way."""

    def __init__(self) -> None:
        self._pending: list[_Pending] = []
        self._drainer: asyncio.Task | None = None

    async def _queued(self, draft: DecisionDraft, calls: Sequence[Mapping[str, Any]]) -> DecisionRecord:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((draft, calls, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        raise NotImplementedError


class GroupCommitWriter(_AppendQueue):
    def __init__(self, ledger: Ledger):
        super().__init__()
        self._ledger = ledger
        self._failure: BaseException | None = None
        self._io_lock: asyncio.Lock | None = None  # made lazily: it belongs to the running loop

    def _lock(self) -> asyncio.Lock:
        if self._io_lock is None:
            self._io_lock = asyncio.Lock()
        return self._io_lock

    @property
    def height(self) -> int:
        return self._ledger.height

    async def append(self, draft: DecisionDraft, calls: Sequence[Mapping[str, Any]] = ()) -> DecisionRecord:
        if self._failure is not None:
            raise self._failure
        return await self._queued(draft, calls)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self._lock():
                    records = await asyncio.to_thread(self._ledger.append_many, [(d, c) for d, c, _ in batch])
            except (InvalidRecordError, CanonicalFormError):
                # One malformed record rejects its whole batch before any byte is written: the ledger is fine,
                # so write the batch again one by one and fail only the bad caller.
                for draft, calls, future in batch:
                    await self._write_one(draft, calls, future)
                continue
            except BaseException as exc:
                self._stop(exc, batch)
                return
            for (_, _, future), record in zip(batch, records, strict=True):
                if not future.done():
                    future.set_result(record)

    async def _write_one(self, draft: DecisionDraft, calls: Sequence[Mapping[str, Any]],
                         future: asyncio.Future) -> None:
        try:
            async with self._lock():
                record = await asyncio.to_thread(self._ledger.append, draft, calls)
        except (InvalidRecordError, CanonicalFormError) as exc:
            future.set_exception(exc)
        except BaseException as exc:
            self._stop(exc, [(draft, calls, future)])
        else:
            future.set_result(record)

    async def append_many(self, appends: Appends) -> list[DecisionRecord | Exception]:
        """Each append's record, or the error that refused it (one bad record fails only its own slot).

        They join the queue together, so they are written in one batch (with whatever else is waiting).
        """
        outcomes = await asyncio.gather(*(self.append(draft, calls) for draft, calls in appends),
                                        return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # a cancellation or an exit is not one append's answer
        return list(outcomes)  # type: ignore[arg-type]

    async def append_calls(self, calls: Sequence[Mapping[str, Any]]) -> int:
        """Log calls no decision references (a claim cut short by a run-wide stop, a preflight)."""
        if self._failure is not None:
            raise self._failure
        async with self._lock():
            return await asyncio.to_thread(self._ledger.append_calls, list(calls))

    def _stop(self, exc: BaseException, batch: list[_Pending]) -> None:
        log.error("the ledger writer stopped: %s", exc)
        self._failure = exc
        for _, _, future in batch + self._pending:
            if not future.done():
                future.set_exception(exc)
        self._pending = []

    def decided_claims(self, run_id: str) -> list[str]:
        """Claim ids with a non-FAILED decision in this run (what a resume may skip)."""
        return [r.claim_id for r in self._ledger.decisions(run_id) if r.decision != FAILED]

    async def checkpoint(self) -> CheckpointInfo | None:
        """Sign the records written so far (if any are unsigned); the newest checkpoint, None if empty."""
        if self._failure is not None:
            raise self._failure
        async with self._lock():
            return await asyncio.to_thread(self._ledger.checkpoint)

    def newest_checkpoint(self) -> CheckpointInfo | None:
        return self._ledger.newest_checkpoint

    async def close(self) -> int:
        """Flush pending appends, write the run's final checkpoint, release the ledger; returns the height."""
        while self._drainer is not None and not self._drainer.done():
            await self._drainer
        try:
            if self._failure is None:
                async with self._lock():
                    await asyncio.to_thread(self._ledger.checkpoint)
        finally:
            height = self._ledger.height
            self._ledger.close()
        return height


class AppendBatcher(_AppendQueue):
    """One caller's appends, sent to the ledger a batch per message with one message in flight (module docstring).

    ``send_many`` delivers a batch and returns one record or exception per append, in order; if it raises, every
    append of that batch fails with its error (e.g. the ledger actor did not come back).
    """

    def __init__(self, send_many: Callable[[Appends], Awaitable[Sequence[DecisionRecord | Exception]]],
                 max_batch: int = MAX_BATCH):
        super().__init__()
        self._send_many = send_many
        self._max = max_batch
        self.messages = 0  # batches sent (for tests and the profile: how well appends coalesce)

    async def append(self, draft: DecisionDraft, calls: Sequence[Mapping[str, Any]] = ()) -> DecisionRecord:
        # A caller cancelled meanwhile leaves its append in the batch: the record may still be written, exactly
        # as a cancelled actor call is still delivered; the idempotency key keeps a re-run to that decision.
        return await self._queued(draft, calls)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:self._max], self._pending[self._max:]
            self.messages += 1
            try:
                outcomes = await self._send_many([(draft, calls) for draft, calls, _ in batch])
                if len(outcomes) != len(batch):
                    raise RuntimeError(f"the ledger answered {len(outcomes)} appends of {len(batch)}")
            except BaseException as exc:  # noqa: BLE001 - every caller of the batch gets it, the loop goes on
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    for _, _, future in self._pending:
                        if not future.done():
                            future.set_exception(exc)
                    self._pending = []
                    raise
                continue
            for (_, _, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
