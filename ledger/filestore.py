"""FileLedger: the durable ledger in <workspace>/ledger/ (spec §2, §3, §5).

Files: decisions.jsonl (hash chain), llm_calls.jsonl (content-hashed), ledger.json (the ledger_id),
writer.lock (flock held for the writer's lifetime; holds the writer's pid for error messages).

Durability order for every batch: call records are written and fsynced before the decisions that
reference them, so a decision on disk never points at a call that is not; nothing is acknowledged
before both fsyncs returned. A failed write or fsync is never retried (after a failed fsync the
kernel may have dropped the dirty pages and reports success next time): the writer stops.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from claim_assess.errors import (
    CanonicalFormError,
    LedgerCorruptError,
    LedgerError,
    LedgerLockedError,
    LedgerWriteError,
)
from ledger.canonical import canonical_bytes, parse_canonical
from ledger.chain import Batch, filter_run, plan_batch
from ledger.lines import read_decision
from ledger.recovery import (
    DecisionsState,
    Fsync,
    fsync_dir,
    scan_calls,
    scan_decisions,
    set_aside_torn_tail,
    write_all,
)
from ledger.records import DecisionDraft, DecisionRecord, format_timestamp, new_ledger_id, utc_now

DECISIONS_FILE = "decisions.jsonl"
CALLS_FILE = "llm_calls.jsonl"
META_FILE = "ledger.json"
LOCK_FILE = "writer.lock"
META_SCHEMA = "ledger/1"


def _acquire_lock(directory: Path) -> int:
    path = directory / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise LedgerLockedError(f"ledger {directory} is held by another writer{who}") from exc
        raise LedgerError(f"cannot lock ledger {directory}: {exc}") from exc
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _read_meta(path: Path) -> str:
    try:
        meta = parse_canonical(path.read_bytes())
    except CanonicalFormError as exc:
        raise LedgerCorruptError(f"{path}: {exc}") from exc
    ledger_id = meta.get("ledger_id")
    if meta.get("schema") != META_SCHEMA or not isinstance(ledger_id, str) or len(ledger_id) != 32:
        raise LedgerCorruptError(f"{path}: not a {META_SCHEMA} file with a 32-hex ledger_id")
    return ledger_id


def _create_meta(directory: Path, moment: datetime, fsync: Fsync) -> str:
    ledger_id = new_ledger_id()
    meta = {"schema": META_SCHEMA, "ledger_id": ledger_id, "created_at": format_timestamp(moment)}
    tmp = directory / (META_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, canonical_bytes(meta) + b"\n")
        fsync(fd)
    finally:
        os.close(fd)
    # rename after fsync: a crash leaves either no ledger.json or a complete one
    os.replace(tmp, directory / META_FILE)
    fsync_dir(directory, fsync)
    return ledger_id


class FileLedger:
    """Single-writer, crash-safe ledger. Construct with FileLedger.open(directory)."""

    def __init__(
        self,
        directory: Path,
        ledger_id: str,
        state: DecisionsState,
        calls_count: int,
        fds: tuple[int, int, int, int],
        clock: Callable[[], datetime],
        fsync: Fsync,
        recovered: tuple[Path, ...],
    ) -> None:
        self.directory = directory
        self.ledger_id = ledger_id
        self._state = state
        self._calls_count = calls_count
        self._lock_fd, self._dec_fd, self._calls_fd, self._read_fd = fds
        self._clock = clock
        self._fsync = fsync
        self._mutex = threading.Lock()
        self._stopped: str | None = None
        self._closed = False
        self.recovered = recovered  # torn-tail side files written when this writer started

    # -- opening --------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        *,
        clock: Callable[[], datetime] = utc_now,
        fsync: Fsync = os.fsync,
    ) -> FileLedger:
        directory = Path(directory)
        try:
            if not directory.is_dir():
                directory.mkdir(parents=True)
                fsync_dir(directory.parent, fsync)
            lock_fd = _acquire_lock(directory)
        except OSError as exc:
            raise LedgerError(f"cannot open ledger directory {directory}: {exc}") from exc
        try:
            return cls._open_locked(directory, lock_fd, clock, fsync)
        except BaseException:
            os.close(lock_fd)  # releases the flock
            raise

    @classmethod
    def _open_locked(cls, directory: Path, lock_fd: int, clock: Callable[[], datetime], fsync: Fsync) -> FileLedger:
        dec_path, calls_path, meta_path = directory / DECISIONS_FILE, directory / CALLS_FILE, directory / META_FILE
        fds: list[int] = []
        try:
            if meta_path.exists():
                ledger_id = _read_meta(meta_path)
            else:
                if dec_path.exists() and dec_path.stat().st_size > 0:
                    raise LedgerCorruptError(f"{meta_path} is missing but {dec_path} holds records")
                ledger_id = _create_meta(directory, clock(), fsync)
            created = False
            for path in (dec_path, calls_path):
                created |= not path.exists()
                fds.append(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
            if created:
                fsync_dir(directory, fsync)
            recovered = []
            # calls first: they were fsynced before the decisions that reference them
            calls_count, _, torn = scan_calls(calls_path)
            if torn is not None:
                recovered.append(set_aside_torn_tail(calls_path, torn, moment=clock(), fsync=fsync))
            state, torn_dec = scan_decisions(dec_path, ledger_id)
            if torn_dec is not None:
                recovered.append(set_aside_torn_tail(dec_path, torn_dec, moment=clock(), fsync=fsync))
            fds.append(os.open(dec_path, os.O_RDONLY))
        except BaseException as exc:
            for fd in fds:
                os.close(fd)
            if isinstance(exc, OSError):
                raise LedgerError(f"cannot open ledger {directory}: {exc}") from exc
            raise
        return cls(
            directory, ledger_id, state, calls_count, (lock_fd, fds[0], fds[1], fds[2]), clock, fsync, tuple(recovered)
        )

    # -- the contract ---------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return self._state.height

    @property
    def head_hash(self) -> str:
        return self._state.head_hash

    @property
    def calls_count(self) -> int:
        return self._calls_count

    def append(self, decision: DecisionDraft, calls: Sequence[Mapping[str, Any]] = ()) -> DecisionRecord:
        return self.append_many([(decision, calls)])[0]

    def append_many(self, batch: Batch) -> list[DecisionRecord]:
        """Append a batch with one write and one fsync per file; returns a record per batch entry."""
        with self._mutex:
            if self._stopped is not None:
                raise LedgerWriteError(f"ledger {self.directory} writer stopped earlier: {self._stopped}")
            if self._closed:
                raise LedgerError(f"ledger {self.directory} is closed")
            state = self._state
            plan = plan_batch(
                batch,
                ledger_id=self.ledger_id,
                height=state.height,
                head_hash=state.head_hash,
                index=state.index,
                clock=self._clock,
            )
            lines = plan.decision_lines
            try:
                if plan.call_lines:
                    write_all(self._calls_fd, b"".join(plan.call_lines))
                    self._fsync(self._calls_fd)
                if lines:
                    write_all(self._dec_fd, b"".join(lines))
                    self._fsync(self._dec_fd)
            except Exception as exc:
                self._stopped = f"{type(exc).__name__}: {exc}"
                raise LedgerWriteError(
                    f"ledger {self.directory}: write or fsync failed, the writer has stopped ({exc})"
                ) from exc
            self._calls_count += len(plan.call_records)
            for record, line in zip(plan.new_records, lines):
                state.offsets.append(state.size)
                state.size += len(line)
                state.index.note(record.idempotency_key, record.seq, record.decision)
                state.height += 1
            state.head_hash = plan.head_hash
            return [r if isinstance(r, DecisionRecord) else self._read_seq(r) for r in plan.results]

    def get(self, idempotency_key: str) -> DecisionRecord | None:
        with self._mutex:
            entry = self._state.index.lookup(idempotency_key)
            return None if entry is None else self._read_seq(entry[0])

    def decisions(self, run_id: str | None = None) -> Iterator[DecisionRecord]:
        """Stream the acknowledged records (those present when called), optionally of one run."""
        end = self._state.size
        return filter_run(self._stream(end), run_id)

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            for fd in (self._dec_fd, self._calls_fd, self._read_fd, self._lock_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass  # closing is best effort; every acknowledged byte was already fsynced

    def __enter__(self) -> FileLedger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading back ---------------------------------------------------------------------------

    def _read_seq(self, seq: int) -> DecisionRecord:
        state = self._state
        start = state.offsets[seq]
        end = state.offsets[seq + 1] if seq + 1 < len(state.offsets) else state.size
        raw = os.pread(self._read_fd, end - start, start)
        return read_decision(raw)

    def _stream(self, end: int) -> Iterator[DecisionRecord]:
        with open(self.directory / DECISIONS_FILE, "rb") as f:
            offset = 0
            while offset < end:
                raw = f.readline()
                if not raw:
                    return
                offset += len(raw)
                yield read_decision(raw)

