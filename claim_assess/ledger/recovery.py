"""Recovery on start (spec §5): scan a file, set a torn tail aside, refuse to start on corruption.

A crash can only damage what was being written when it happened, and the writer only ever appends,
so damage confined to the last line is a torn write: its bytes are kept in a side file (nothing is
thrown away) and the file is cut back to the last good record. Damage anywhere earlier cannot come
from a crash; the writer refuses to start and names the record so a human looks at it.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from claim_assess.errors import CanonicalFormError, InvalidRecordError, LedgerCorruptError
from claim_assess.ledger.chain import IdempotencyIndex
from claim_assess.ledger.checkpoints import Checkpoint, read_checkpoint
from claim_assess.ledger.lines import iter_lines, read_call, read_decision_fields
from claim_assess.ledger.merkle import MerkleFrontier
from claim_assess.ledger.records import genesis_hash

Fsync = Callable[[int], None]


@dataclass
class DecisionsState:
    """What a writer needs to continue a decisions file (kept small: no records in memory)."""

    height: int
    head_hash: str
    size: int
    offsets: array = field(default_factory=lambda: array("Q"))  # byte offset of each seq's line
    index: IdempotencyIndex = field(default_factory=IdempotencyIndex)
    frontier: MerkleFrontier = field(default_factory=MerkleFrontier)  # over the lines, for checkpoints


@dataclass(frozen=True)
class Torn:
    good_size: int
    data: bytes
    reason: str


def scan_decisions(
    path: Path, ledger_id: str, checkpoints: Sequence[Checkpoint] = ()
) -> tuple[DecisionsState, Torn | None]:
    """Stream decisions.jsonl, checking every record, link and checkpoint root; LedgerCorruptError before the tail.

    ``checkpoints`` (tree_size ascending) are checked against the roots of the prefixes they cover,
    so a writer never continues a ledger whose signed history was changed.
    """
    state = DecisionsState(height=0, head_hash=genesis_hash(ledger_id), size=0)
    pending = iter(checkpoints)
    upcoming = next(pending, None)
    with open(path, "rb") as f:
        for number, offset, raw, last in iter_lines(f):
            where = f"{path}: seq {state.height} (line {number})"
            try:
                record = read_decision_fields(raw)
            except CanonicalFormError as exc:
                if last:
                    return _check_covered(state, upcoming, path), Torn(offset, raw, str(exc))
                raise LedgerCorruptError(f"{where}: {exc}") from exc
            except InvalidRecordError as exc:
                raise LedgerCorruptError(f"{where}: {exc}") from exc
            if record["seq"] != state.height:
                raise LedgerCorruptError(f"{where}: holds seq {record['seq']}, expected {state.height}")
            if record["ledger_id"] != ledger_id:
                raise LedgerCorruptError(f"{where}: ledger_id {record['ledger_id']} is not this ledger's {ledger_id}")
            if record["previous_hash"] != state.head_hash:
                raise LedgerCorruptError(f"{where}: previous_hash does not match the record before it")
            state.offsets.append(offset)
            state.index.note(record["idempotency_key"], state.height, record["decision"])
            state.frontier.append_data(raw[:-1])
            state.height += 1
            state.head_hash = record["record_hash"]
            state.size = offset + len(raw)
            while upcoming is not None and upcoming.tree_size == state.height:
                if upcoming.root != state.frontier.root().hex() or upcoming.head_hash != state.head_hash:
                    raise LedgerCorruptError(
                        f"{path}: the first {upcoming.tree_size} records do not match the signed checkpoint "
                        f"of tree_size {upcoming.tree_size} (created {upcoming.created_at}): "
                        f"a record before seq {upcoming.tree_size} was changed"
                    )
                upcoming = next(pending, None)
    return _check_covered(state, upcoming, path), None


def _check_covered(state: DecisionsState, upcoming: Checkpoint | None, path: Path) -> DecisionsState:
    if upcoming is not None and upcoming.tree_size > state.height:
        raise LedgerCorruptError(
            f"{path} holds {state.height} records but a signed checkpoint covers {upcoming.tree_size}: "
            "records were deleted or truncated"
        )
    return state


def scan_checkpoints(path: Path, ledger_id: str) -> tuple[list[Checkpoint], int, Torn | None]:
    """Read checkpoints.jsonl: (checkpoints, good size, torn tail); LedgerCorruptError before the tail.

    Signatures are checked by the caller, who knows the key.
    """
    found: list[Checkpoint] = []
    size = 0
    with open(path, "rb") as f:
        for number, offset, raw, last in iter_lines(f):
            where = f"{path}: line {number}"
            try:
                checkpoint = read_checkpoint(raw)
            except CanonicalFormError as exc:
                if last:
                    return found, offset, Torn(offset, raw, str(exc))
                raise LedgerCorruptError(f"{where}: {exc}") from exc
            except InvalidRecordError as exc:
                raise LedgerCorruptError(f"{where}: {exc}") from exc
            if checkpoint.ledger_id != ledger_id:
                raise LedgerCorruptError(f"{where}: ledger_id {checkpoint.ledger_id} is not this ledger's")
            if found and checkpoint.tree_size <= found[-1].tree_size:
                raise LedgerCorruptError(
                    f"{where}: tree_size {checkpoint.tree_size} does not extend the checkpoint before it "
                    f"({found[-1].tree_size})"
                )
            found.append(checkpoint)
            size = offset + len(raw)
    return found, size, None


def scan_calls(path: Path) -> tuple[int, int, Torn | None]:
    """Stream llm_calls.jsonl; returns (count, good size, torn tail or None)."""
    count = size = 0
    with open(path, "rb") as f:
        for number, offset, raw, last in iter_lines(f):
            try:
                read_call(raw)
            except CanonicalFormError as exc:
                if last:
                    return count, offset, Torn(offset, raw, str(exc))
                raise LedgerCorruptError(f"{path}: line {number}: {exc}") from exc
            except InvalidRecordError as exc:
                raise LedgerCorruptError(f"{path}: line {number}: {exc}") from exc
            count += 1
            size = offset + len(raw)
    return count, size, None


def torn_stamp(moment: datetime) -> str:
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y%m%dT%H%M%S") + f"{utc.microsecond // 1000:03d}Z"


def fsync_dir(directory: Path, fsync: Fsync) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked; loop so a batch is one logical write."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def set_aside_torn_tail(path: Path, torn: Torn, *, moment: datetime, fsync: Fsync) -> Path:
    """Save the torn bytes to <file>.torn-<stamp> (durably) and only then cut the file back."""
    base = path.with_name(f"{path.name}.torn-{torn_stamp(moment)}")
    target, n = base, 0
    while True:
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            break
        except FileExistsError:
            n += 1
            target = base.with_name(f"{base.name}-{n}")
    try:
        write_all(fd, torn.data)
        fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent, fsync)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, torn.good_size)
        fsync(fd)
    finally:
        os.close(fd)
    return target
