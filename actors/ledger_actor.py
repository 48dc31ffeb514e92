"""LedgerActor: the one writer of a workspace's ledger, pinned to the driver's node.

A thin async shell over ``ledger.store.FileLedger``. Appends that arrive while a write is in progress
are queued and written together by the next ``append_many`` (one write and one fsync per file), so
many assessors share each fsync; no caller gets its record before the fsync that holds it returned.
The blocking file work runs in a worker thread so the actor keeps accepting appends meanwhile.

Checkpoints (ledger spec §4): FileLedger writes one by itself every N records inside append_many;
``checkpoint()`` writes one on demand and ``close()`` writes the final one of the run. Both go
through the same writer task as the appends (an asyncio lock), so a checkpoint never runs while a
batch is being written and always covers whole acknowledged batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from claim_assess.errors import CanonicalFormError, InvalidRecordError
from claim_assess.ledger.checkpoints import CheckpointInfo
from claim_assess.ledger.records import DecisionDraft, DecisionRecord
from claim_assess.ledger.store import FileLedger


class LedgerActor:
    def __init__(self, directory: str, signing_key_path: str | None = None, checkpoint_every: int = 1000):
        self._ledger = FileLedger.open(directory, signing_key_path=signing_key_path, checkpoint_every=checkpoint_every)
        self._pending: list[tuple[DecisionDraft, Sequence[Mapping[str, Any]], asyncio.Future]] = []
        self._writer: asyncio.Task | None = None
        self._failure: BaseException | None = None
        self._io_lock: asyncio.Lock | None = None  # serializes batches and checkpoints (made in the loop)

    def _lock(self) -> asyncio.Lock:
        if self._io_lock is None:
            self._io_lock = asyncio.Lock()
        return self._io_lock

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
                # One malformed record rejects its whole batch before any byte is written: the ledger
                # is fine, so write the batch again one by one and fail only the bad caller.
                for draft, calls, future in batch:
                    await self._write_one(draft, calls, future)
                continue
            except BaseException as exc:
                self._stop(exc, batch)
                return
            for (_, _, future), record in zip(batch, records, strict=True):
                if not future.done():
                    future.set_result(record)

    async def _write_one(self, draft, calls, future: asyncio.Future) -> None:
        try:
            async with self._lock():
                record = await asyncio.to_thread(self._ledger.append, draft, calls)
        except (InvalidRecordError, CanonicalFormError) as exc:
            future.set_exception(exc)
        except BaseException as exc:
            self._stop(exc, [(draft, calls, future)])
        else:
            future.set_result(record)

    def _stop(self, exc: BaseException, batch) -> None:
        """A failed write or fsync stops the writer for good (ledger spec 5): fail every waiting append."""
        self._failure = exc
        for _, _, future in batch + self._pending:
            if not future.done():
                future.set_exception(exc)
        self._pending = []

    def node_id(self) -> str:
        """The Ray node holding the ledger (it must be the driver's: the files live there)."""
        import ray

        return ray.get_runtime_context().get_node_id()

    def height(self) -> int:
        return self._ledger.height

    def decided_claims(self, run_id: str) -> list[str]:
        """Claim ids with a non-FAILED decision in this run (what a resume may skip)."""
        return [r.claim_id for r in self._ledger.decisions(run_id) if r.decision != "FAILED"]

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
