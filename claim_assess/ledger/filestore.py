"""FileLedger: the durable ledger in <workspace>/ledger/ (spec §2, §3, §5).

Files: decisions.jsonl (hash chain), llm_calls.jsonl (content-hashed), checkpoints.jsonl (signed
Merkle roots), ledger.json (the ledger_id and the key_id of the signing key), signing_key (0600) and
signing_key.pub, writer.lock (flock held for the writer's lifetime; holds the writer's pid).

Checkpoints: the writer keeps an O(log n) Merkle frontier over the decision lines, so a checkpoint
costs one signature and one small fsynced write, never a re-read. One is written automatically when
a durable batch leaves ``checkpoint_every`` or more records after the newest checkpoint, and on
demand (``checkpoint()``, which the ledger actor calls at the end of every run). One ledger has one
signing key: ledger.json records its key_id, and opening with another key is refused, because
verify reports a key change as tampering (a rewrite re-signed with a new key looks exactly so).

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
from claim_assess.ledger.canonical import canonical_bytes, parse_canonical
from claim_assess.ledger.chain import Batch, filter_run, plan_batch, plan_calls
from claim_assess.ledger.checkpoints import CHECKPOINTS_FILE, Checkpoint, CheckpointInfo, make_checkpoint
from claim_assess.ledger.keys import PUBLIC_KEY_FILE, SigningKey, load_or_create_signing_key
from claim_assess.ledger.lines import read_decision
from claim_assess.ledger.recovery import (
    DecisionsState,
    Fsync,
    fsync_dir,
    scan_calls,
    scan_checkpoints,
    scan_decisions,
    set_aside_torn_tail,
    write_all,
)
from claim_assess.ledger.records import DecisionDraft, DecisionRecord, format_timestamp, new_ledger_id, utc_now

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


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = parse_canonical(path.read_bytes())
    except CanonicalFormError as exc:
        raise LedgerCorruptError(f"{path}: {exc}") from exc
    ledger_id = meta.get("ledger_id")
    if meta.get("schema") != META_SCHEMA or not isinstance(ledger_id, str) or len(ledger_id) != 32:
        raise LedgerCorruptError(f"{path}: not a {META_SCHEMA} file with a 32-hex ledger_id")
    return meta


def _write_meta(directory: Path, meta: dict[str, Any], fsync: Fsync) -> None:
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


def _meta_with_key(directory: Path, key: SigningKey, moment: datetime, fsync: Fsync) -> str:
    """Create ledger.json, or add the key_id to one written before keys existed; refuse a key change."""
    path = directory / META_FILE
    if not path.exists():
        dec_path = directory / DECISIONS_FILE
        if dec_path.exists() and dec_path.stat().st_size > 0:
            raise LedgerCorruptError(f"{path} is missing but {dec_path} holds records")
        meta = {
            "schema": META_SCHEMA,
            "ledger_id": new_ledger_id(),
            "created_at": format_timestamp(moment),
            "key_id": key.key_id,
        }
        _write_meta(directory, meta, fsync)
        return meta["ledger_id"]
    meta = _read_meta(path)
    recorded = meta.get("key_id")
    if recorded is None:
        _write_meta(directory, {**meta, "key_id": key.key_id}, fsync)
    elif recorded != key.key_id:
        raise LedgerError(
            f"ledger {directory} is signed with key {recorded} (ledger.json), but the signing key "
            f"{key.path} is {key.key_id}: restore the original key or pass it as signing_key_path; "
            "a ledger does not change keys (verify would report the change as tampering)"
        )
    return meta["ledger_id"]


class FileLedger:
    """Single-writer, crash-safe ledger. Construct with FileLedger.open(directory)."""

    def __init__(
        self,
        directory: Path,
        ledger_id: str,
        state: DecisionsState,
        calls_count: int,
        fds: tuple[int, int, int, int, int],
        clock: Callable[[], datetime],
        fsync: Fsync,
        recovered: tuple[Path, ...],
        key: SigningKey,
        newest: Checkpoint | None,
        checkpoint_every: int,
    ) -> None:
        self.directory = directory
        self.ledger_id = ledger_id
        self._state = state
        self._calls_count = calls_count
        self._lock_fd, self._dec_fd, self._calls_fd, self._read_fd, self._cp_fd = fds
        self._key = key
        self._newest = newest
        self._checkpoint_every = checkpoint_every
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
        signing_key_path: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1000,
    ) -> FileLedger:
        """Lock, recover and open the ledger in ``directory`` (created if missing).

        signing_key_path: a PEM Ed25519 private key to sign checkpoints with; by default
        ``directory/signing_key``, made on first use. checkpoint_every: write a checkpoint when a
        batch leaves this many records after the newest one (0 disables the automatic ones).
        """
        directory = Path(directory)
        if checkpoint_every < 0:
            raise LedgerError(f"checkpoint_every must be >= 0, got {checkpoint_every}")
        try:
            if not directory.is_dir():
                directory.mkdir(parents=True)
                fsync_dir(directory.parent, fsync)
            lock_fd = _acquire_lock(directory)
        except OSError as exc:
            raise LedgerError(f"cannot open ledger directory {directory}: {exc}") from exc
        try:
            return cls._open_locked(directory, lock_fd, clock, fsync, signing_key_path, checkpoint_every)
        except BaseException:
            os.close(lock_fd)  # releases the flock
            raise

    @classmethod
    def _open_locked(
        cls,
        directory: Path,
        lock_fd: int,
        clock: Callable[[], datetime],
        fsync: Fsync,
        signing_key_path: str | os.PathLike[str] | None,
        checkpoint_every: int,
    ) -> FileLedger:
        dec_path, calls_path, cp_path = directory / DECISIONS_FILE, directory / CALLS_FILE, directory / CHECKPOINTS_FILE
        fds: list[int] = []
        try:
            key = load_or_create_signing_key(directory, signing_key_path, fsync)
            ledger_id = _meta_with_key(directory, key, clock(), fsync)
            for path in (dec_path, calls_path, cp_path):
                fds.append(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
            fsync_dir(directory, fsync)  # new files, and the key files written above
            recovered = []
            # calls first: they were fsynced before the decisions that reference them
            calls_count, _, torn = scan_calls(calls_path)
            if torn is not None:
                recovered.append(set_aside_torn_tail(calls_path, torn, moment=clock(), fsync=fsync))
            checkpoints, _, torn_cp = scan_checkpoints(cp_path, ledger_id)
            if torn_cp is not None:
                recovered.append(set_aside_torn_tail(cp_path, torn_cp, moment=clock(), fsync=fsync))
            for number, checkpoint in enumerate(checkpoints, 1):
                if checkpoint.key_id != key.key_id or not checkpoint.signature_valid(key.public):
                    raise LedgerCorruptError(
                        f"{cp_path}: line {number} (tree_size {checkpoint.tree_size}) is not signed by this "
                        f"ledger's key {key.key_id} (it names key {checkpoint.key_id})"
                    )
            state, torn_dec = scan_decisions(dec_path, ledger_id, checkpoints)
            if torn_dec is not None:
                recovered.append(set_aside_torn_tail(dec_path, torn_dec, moment=clock(), fsync=fsync))
            newest = checkpoints[-1] if checkpoints else None
            del checkpoints  # the newest is all the writer needs
            fds.append(os.open(dec_path, os.O_RDONLY))
        except BaseException as exc:
            for fd in fds:
                os.close(fd)
            if isinstance(exc, OSError):
                raise LedgerError(f"cannot open ledger {directory}: {exc}") from exc
            raise
        return cls(
            directory,
            ledger_id,
            state,
            calls_count,
            (lock_fd, fds[0], fds[1], fds[3], fds[2]),
            clock,
            fsync,
            tuple(recovered),
            key,
            newest,
            checkpoint_every,
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

    @property
    def root(self) -> str:
        """RFC 6962 root over the decision lines so far (what a checkpoint now would sign)."""
        return self._state.frontier.root().hex()

    def append(self, decision: DecisionDraft, calls: Sequence[Mapping[str, Any]] = ()) -> DecisionRecord:
        return self.append_many([(decision, calls)])[0]

    def append_many(self, batch: Batch) -> list[DecisionRecord]:
        """Append a batch with one write and one fsync per file; returns a record per batch entry."""
        with self._mutex:
            self._check_writable()
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
            # Calls first: a decision on disk must never reference a call record that is not.
            files = ((self._calls_fd, plan.call_lines), (self._dec_fd, lines))
            self._write_durably([(fd, b"".join(chunk)) for fd, chunk in files if chunk],
                                failure="write or fsync failed")
            self._calls_count += len(plan.call_lines)
            offsets, index, append_leaf = state.offsets, state.index, state.frontier.append_data
            size = state.size
            for record, line in zip(plan.new_records, lines):
                offsets.append(size)
                size += len(line)
                index.note(record.idempotency_key, record.seq, record.decision)
                append_leaf(line[:-1])
            state.size = size
            state.height += len(lines)
            state.head_hash = plan.head_hash
            results = [r if isinstance(r, DecisionRecord) else self._read_seq(r) for r in plan.results]
            every = self._checkpoint_every
            if every and state.height - (self._newest.tree_size if self._newest else 0) >= every:
                self._write_checkpoint()  # the batch is durable already; this only anchors it
            return results

    def append_calls(self, calls: Sequence[Mapping[str, Any]]) -> int:
        _, lines = plan_calls(calls)
        if not lines:
            return 0
        with self._mutex:
            self._check_writable()
            self._write_durably([(self._calls_fd, b"".join(lines))], failure="write or fsync failed")
            self._calls_count += len(lines)
        return len(lines)

    def checkpoint(self) -> CheckpointInfo | None:
        """Sign the current tree if records follow the newest checkpoint; the newest one either way.

        None when the ledger is empty (there is nothing to commit to).
        """
        with self._mutex:
            self._check_writable()
            if self._state.height == 0:
                return None
            if self._newest is None or self._newest.tree_size < self._state.height:
                self._write_checkpoint()
            return self._info(self._newest)

    @property
    def newest_checkpoint(self) -> CheckpointInfo | None:
        return None if self._newest is None else self._info(self._newest)

    @property
    def key_id(self) -> str:
        return self._key.key_id

    def _info(self, checkpoint: Checkpoint) -> CheckpointInfo:
        return checkpoint.info(str(self.directory / CHECKPOINTS_FILE), str(self.directory / PUBLIC_KEY_FILE))

    def _check_writable(self) -> None:
        if self._stopped is not None:
            raise LedgerWriteError(f"ledger {self.directory} writer stopped earlier: {self._stopped}")
        if self._closed:
            raise LedgerError(f"ledger {self.directory} is closed")

    def _write_checkpoint(self) -> None:
        """Append a signed checkpoint of the whole current tree (mutex held; records already durable)."""
        state = self._state
        checkpoint = make_checkpoint(
            self._key,
            ledger_id=self.ledger_id,
            tree_size=state.height,
            root=state.frontier.root().hex(),
            head_hash=state.head_hash,
            created_at=format_timestamp(self._clock()),
        )
        self._write_durably([(self._cp_fd, checkpoint.line())], failure="writing a checkpoint failed",
                            what="checkpoint ")
        self._newest = checkpoint

    def _write_durably(self, writes: list[tuple[int, bytes]], *, failure: str, what: str = "") -> None:
        """Write and fsync each (fd, bytes) in order. Any failure stops this writer for good: what reached
        the disk is no longer known, and only recovery, when the ledger is opened again, may go on from it."""
        try:
            for fd, data in writes:
                write_all(fd, data)
                self._fsync(fd)
        except Exception as exc:
            self._stopped = f"{what}{type(exc).__name__}: {exc}"
            raise LedgerWriteError(f"ledger {self.directory}: {failure}, the writer has stopped ({exc})") from exc

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
            for fd in (self._dec_fd, self._calls_fd, self._read_fd, self._cp_fd, self._lock_fd):
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

