"""LedgerActor: the one writer of a workspace's ledger, pinned to the driver's node (where the files live).

A thin shell over ``claim_assess.ledger.group_commit.GroupCommitWriter``; the ledger comes from the factory
it is given (``OpenFileLedger(directory)`` in a run, ``MemoryLedger`` in a contract test). Ray restarts the
actor after a crash, which calls the factory again: the file ledger recovers from its files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ray

from claim_assess.ledger.checkpoints import CheckpointInfo
from claim_assess.ledger.group_commit import Appends, GroupCommitWriter
from claim_assess.ledger.records import DecisionDraft, DecisionRecord
from claim_assess.ledger.store import Ledger


class LedgerActor:
    def __init__(self, open_ledger: Callable[[], Ledger]):
        self._writer = GroupCommitWriter(open_ledger())

    async def append(self, draft: DecisionDraft, calls: Sequence[Mapping[str, Any]] = ()) -> DecisionRecord:
        return await self._writer.append(draft, calls)

    async def append_many(self, appends: Appends) -> list[DecisionRecord | Exception]:
        """An assessor's batch (``AppendBatcher``): one record or one error per append, in order."""
        return await self._writer.append_many(appends)

    async def append_calls(self, calls: Sequence[Mapping[str, Any]]) -> int:
        """The LLM calls of a claim cut short by a run-wide stop, or the run's preflight: logged, no decision."""
        return await self._writer.append_calls(calls)

    def height(self) -> int:
        return self._writer.height

    def decided_claims(self, run_id: str) -> list[str]:
        return self._writer.decided_claims(run_id)

    async def checkpoint(self) -> CheckpointInfo | None:
        return await self._writer.checkpoint()

    def newest_checkpoint(self) -> CheckpointInfo | None:
        return self._writer.newest_checkpoint()

    async def close(self) -> int:
        return await self._writer.close()

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()
