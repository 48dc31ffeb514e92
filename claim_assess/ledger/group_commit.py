"""GroupCommitWriter: many concurrent appends, one write and one fsync per batch, nothing acknowledged early.

The one writer of a ledger (the ``ledger`` actor is a thin shell over this class; any ``Ledger`` drives it).
Appends that arrive while a batch is being written wait in a queue and are written together by the next
``append_many``, so many assessors share each fsync; no caller gets its record before the fsync that holds it
returned. The blocking file work runs in a worker thread, so the writer keeps accepting appends meanwhile.

Checkpoints (a signed Merkle root): the ledger writes one by itself every N records inside ``append_many``;
``checkpoint()`` writes one on demand and ``close()`` writes the run's final one. Both take the same lock as
the batches, so a checkpoint never runs while a batch is being written and always covers whole acknowledged
batches. A failed write or fsync stops the writer for good: every waiting append fails with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from claim_assess.errors import CanonicalFormError, InvalidRecordError
from claim_assess.ledger.checkpoints import CheckpointInfo
from claim_assess.ledger.records import DecisionDraft, DecisionRecord, FAILED
from claim_assess.ledger.store import Ledger

log = logging.getLogger(__name__)
_Pending = tuple[DecisionDraft, Sequence[Mapping[str, Any]], asyncio.Future]


class GroupCommitWriter:
    def __init__(self, ledger: Ledger):
        self._ledger = ledger
        self._pending: list[_Pending] = []
        self._writer: asyncio.Task | None = None
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
        future = asyncio.get_running_loop().create_future()
        self._pending.append((draft, calls, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

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
        while self._writer is not None and not self._writer.done():
            await self._writer
        try:
            if self._failure is None:
                async with self._lock():
                    await asyncio.to_thread(self._ledger.checkpoint)
        finally:
            height = self._ledger.height
            self._ledger.close()
        return height
