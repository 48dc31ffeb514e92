"""Offline verification of a ledger directory (spec §6), streaming in bounded memory.

What is checked, in one pass over decisions.jsonl:
- every line: canonical bytes, record_hash, the fields the chain relies on (``lines.read_decision_fields``);
- the chain: contiguous seq, this ledger's id, previous_hash links from genesis;
- llm_calls references (see "Calls" below), at most one non-FAILED decision per idempotency_key;
- every reused answer's ``reused_from`` names an intact call record with that hash (``reuse_pointers``);
- checkpoints.jsonl, read in step: each checkpoint's signature (pinned key or the stored one), its
  key_id, that tree sizes grow, that its root equals the RFC 6962 root of the first tree_size lines
  (an O(log n) ``MerkleFrontier``) and its head_hash the record_hash of line tree_size − 1; at the
  end, that the file holds at least the largest tree_size (truncation inside a checkpoint).
- an optional trusted anchor (a checkpoint copied off the host) must be in checkpoints.jsonl and
  match the file.
Because every checkpoint's root is checked against the file itself, later checkpoints necessarily
extend earlier ones; no separate consistency proof is needed offline.

Memory does not grow with the ledger: the frontier is O(log n), one checkpoint is held at a time,
and the two indexes the old version kept in RAM are gone:
- Calls: a decision's llm_calls were logged in the same batch, before it, in call order, and the
  writer only appends, so the cited calls appear in llm_calls.jsonl in the same order as the
  citations in decisions.jsonl. A merge walk therefore finds each cited call by reading forward
  from the previous hit (uncited calls, e.g. from a crash between the two fsyncs or an idempotent
  repeat, are skipped). A citation not found before the end is reported and the reader rewinds
  to where it was, so one missing call does not hide the rest; after a few misses the check stops
  (each miss costs a read to the end) and says so.
- Idempotency keys: the non-FAILED keys are spooled to a temporary SQLite file in batches, and one
  GROUP BY at the end finds repeated keys (SQLite sorts on disk in bounded memory); small ledgers
  never leave RAM.

Positions: line i of decisions.jsonl (from 0) is where seq i belongs. ``first_bad_seq`` is the
first position where the file stops being an intact chain; a root mismatch names the checkpoint
(``first_bad_checkpoint``: its line in checkpoints.jsonl), since a root cannot say which leaf changed.

Documented limit: records appended after the newest checkpoint are only chained, not anchored, so
truncating them is seen only as fewer unanchored records; restoring an older checkpoints.jsonl is
caught only with a trusted anchor (``anchor_path``) newer than what was restored.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from claim_assess.errors import CanonicalFormError, InvalidRecordError, LedgerError
from claim_assess.ledger.canonical import parse_canonical, parse_sealed
from claim_assess.ledger.checkpoints import CHECKPOINTS_FILE, Checkpoint, read_checkpoint
from claim_assess.ledger.filestore import CALLS_FILE, DECISIONS_FILE, META_FILE
from claim_assess.ledger.keys import PUBLIC_KEY_FILE, key_id_of, load_public_key
from claim_assess.ledger.lines import read_decision_fields
from claim_assess.ledger.merkle import MerkleFrontier, leaf_hash
from claim_assess.ledger.reuse_pointers import ReusePointers
from claim_assess.credentials import first_credential_field
from claim_assess.ledger.records import CALL_SCHEMA, FAILED, genesis_hash

MAX_LISTED_PROBLEMS = 100
MAX_CALL_MISSES = 5
_CHUNK_BYTES = 1 << 20
_PARALLEL_MIN_BYTES = 16 << 20  # below this a process pool costs more than it saves


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    decisions: int
    llm_calls: int
    problems: tuple[tuple[str, str], ...]  # (where, what), first problem first
    first_bad_seq: int | None
    unanchored: int  # decision records after the last checkpoint that matched
    checkpoints: int = 0
    notes: tuple[str, ...] = ()
    first_bad_checkpoint: int | None = None  # line number in checkpoints.jsonl
    key_id: str | None = None  # the key signatures were checked with
    key_source: str | None = None  # "pinned" or "stored"
    newest_checkpoint: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "decisions": self.decisions,
            "llm_calls": self.llm_calls,
            "problems": [{"where": w, "message": m} for w, m in self.problems],
            "first_bad_seq": self.first_bad_seq,
            "first_bad_checkpoint": self.first_bad_checkpoint,
            "unanchored": self.unanchored,
            "checkpoints": self.checkpoints,
            "newest_checkpoint": self.newest_checkpoint,
            "key_id": self.key_id,
            "key_source": self.key_source,
            "notes": list(self.notes),
        }


class _Problems:
    def __init__(self) -> None:
        self.listed: list[tuple[str, str]] = []
        self.total = 0
        self.first_bad_seq: int | None = None
        self.first_bad_checkpoint: int | None = None

    def add(self, where: str, message: str, seq: int | None = None, checkpoint: int | None = None) -> None:
        self.total += 1
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            self.listed.append((where, message))
        if seq is not None and (self.first_bad_seq is None or seq < self.first_bad_seq):
            self.first_bad_seq = seq
        if checkpoint is not None and (self.first_bad_checkpoint is None or checkpoint < self.first_bad_checkpoint):
            self.first_bad_checkpoint = checkpoint


# --- per-line work (pure, picklable results: runs inline or in worker processes) ----------------

# (error or None, seq, ledger_id, previous_hash, record_hash, idempotency_key, decision, refs, leaf)
LineResult = tuple[str | None, Any, Any, Any, Any, Any, Any, tuple[tuple[str, str], ...], bytes]
# A clean chunk: (first previous_hash, record_hashes, leaves joined, [(key, seq) non-FAILED], [(seq, refs)])
ChunkSummary = tuple[str, list[str], bytes, list[tuple[str, int]], list[tuple[int, tuple[tuple[str, str], ...]]]]


def check_decision_line(raw: bytes) -> LineResult:
    leaf = leaf_hash(raw[:-1] if raw.endswith(b"\n") else raw)
    try:
        v = read_decision_fields(raw)
    except (CanonicalFormError, InvalidRecordError) as exc:
        return (str(exc), None, None, None, None, None, None, (), leaf)
    refs = tuple((r["call_id"], r["record_hash"]) for r in v["llm_calls"])
    return (None, v["seq"], v["ledger_id"], v["previous_hash"], v["record_hash"], v["idempotency_key"],
            v["decision"], refs, leaf)  # fmt: skip


def check_decision_chunk(chunk: bytes) -> list[LineResult]:
    return [check_decision_line(raw) for raw in chunk.splitlines(keepends=True)]


def summarize_chunk(chunk: bytes, position: int, ledger_id: str | None) -> ChunkSummary | None:
    """The common case in bulk: every line intact, seq == position, linked to the line before.

    Returns None at the first anomaly; the caller then walks that chunk line by line to explain it.
    Workers return only this summary, so the parent's share of the work stays small.
    """
    hashes: list[str] = []
    leaves: list[bytes] = []
    keys: list[tuple[str, int]] = []
    refs: list[tuple[int, tuple[tuple[str, str], ...]]] = []
    first_prev = ""
    for seq, raw in enumerate(chunk.splitlines(keepends=True), position):
        err, got, lid, prev, rhash, key, decision, crefs, leaf = check_decision_line(raw)
        if err is not None or got != seq or (ledger_id is not None and lid != ledger_id):
            return None
        if hashes:
            if prev != hashes[-1]:
                return None
        else:
            first_prev = prev
        hashes.append(rhash)
        leaves.append(leaf)
        if decision != FAILED:
            keys.append((key, seq))
        if crefs:
            refs.append((seq, crefs))
    return first_prev, hashes, b"".join(leaves), keys, refs


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    """Blocks of whole lines (the last block may end without a newline)."""
    rest = b""
    while True:
        block = f.read(_CHUNK_BYTES)
        if not block:
            if rest:
                yield rest
            return
        block = rest + block
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            rest = block
            continue
        rest = block[cut:]
        yield block[:cut]


def _summaries(f: IO[bytes], jobs: int, ledger_id: str | None) -> Iterator[tuple[bytes, int, ChunkSummary | None]]:
    """(chunk, its first position, summary or None) in file order."""

    def positioned() -> Iterator[tuple[bytes, int]]:
        position = 0
        for chunk in _chunks(f):
            yield chunk, position
            position += chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)

    if jobs <= 1:
        for chunk, position in positioned():
            yield chunk, position, summarize_chunk(chunk, position, ledger_id)
        return
    # ordered, with a bounded window of chunks in flight (Executor.map would read the whole file)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        window: deque[tuple[bytes, int, Future[ChunkSummary | None]]] = deque()
        for chunk, position in positioned():
            window.append((chunk, position, pool.submit(summarize_chunk, chunk, position, ledger_id)))
            if len(window) >= 2 * jobs:
                chunk, position, future = window.popleft()
                yield chunk, position, future.result()
        while window:
            chunk, position, future = window.popleft()
            yield chunk, position, future.result()


# --- llm_calls.jsonl: the merge walk -------------------------------------------------------------


class _CallReader:
    """Reads llm_calls.jsonl forward in step with the citations; checks each line once."""

    def __init__(self, f: IO[bytes] | None, problems: _Problems) -> None:
        self._f = f
        self._problems = problems
        self._number = 0  # lines consumed
        self._checked = 0  # lines already examined (and reported)
        self.misses = 0
        self.enabled = f is not None
        self.reuses = ReusePointers(problems.add, CALLS_FILE)  # reused answers must point to a record that is there

    def _examine(self, number: int, raw: bytes) -> tuple[str | None, str | None]:
        """(call_id, record_hash if the record is intact else None)."""
        report = number > self._checked
        self._checked = max(self._checked, number)
        where = f"{CALLS_FILE} line {number}"
        if not raw.endswith(b"\n") and report:
            self._problems.add(where, "last line has no newline (a torn write; the writer sets it aside on start)")
        try:
            value, computed = parse_sealed(raw, "request")
        except CanonicalFormError as exc:
            if report:
                self._problems.add(where, str(exc))
            return None, None
        call_id, stored = value.get("call_id"), value.get("record_hash")
        if value.get("schema") != CALL_SCHEMA or not isinstance(call_id, str) or not isinstance(stored, str):
            if report:
                self._problems.add(where, f"not an {CALL_SCHEMA} record with call_id and record_hash")
            return None, None
        if report:
            secret = first_credential_field(value)
            if secret is not None:
                self._problems.add(where, f"call record holds a credential-like key {secret}")
        if computed != stored:
            if report:
                self._problems.add(where, f"record_hash of {call_id} does not match the record (it was changed)")
            return call_id, None
        if report:
            self.reuses.seen(where, value)
        return call_id, stored

    def find(self, call_id: str) -> tuple[str | None, int] | None:
        """(record_hash or None if damaged, line) of the next record of ``call_id``, else None."""
        f = self._f
        assert f is not None
        start, start_number = f.tell(), self._number
        while True:
            raw = f.readline()
            if not raw:
                f.seek(start)
                self._number = start_number
                self.misses += 1
                return None
            self._number += 1
            found, stored = self._examine(self._number, raw)
            if found == call_id:
                return stored, self._number

    def find_earlier(self, call_id: str) -> int | None:
        """Line of ``call_id`` before the current position (only after a miss: a reordering), else None."""
        f = self._f
        assert f is not None
        here = f.tell()
        try:
            f.seek(0)
            for number in range(1, self._number + 1):
                raw = f.readline()
                if not raw:
                    break
                if call_id.encode("utf-8") in raw and self._examine(number, raw)[0] == call_id:
                    return number
            return None
        finally:
            f.seek(here)

    def finish(self) -> int:
        """Examine the lines no citation reached; returns the line count."""
        if self._f is None:
            return 0
        self._f.seek(0)
        number = 0
        for number, raw in enumerate(self._f, 1):
            if number > self._checked:
                self._examine(number, raw)
        self.reuses.resolve(self._f)
        return number


# --- idempotency keys: spooled to SQLite -----------------------------------------------------------


class _DecidedKeys:
    """Finds idempotency keys with two non-FAILED decisions in bounded memory."""

    BATCH = 50_000

    def __init__(self) -> None:
        self._buffer: list[tuple[str, int]] = []
        self._db: sqlite3.Connection | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def add(self, key: str, seq: int) -> None:
        self._buffer.append((key, seq))
        if len(self._buffer) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._db is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="ledger-verify-")
            self._db = sqlite3.connect(os.path.join(self._tmp.name, "keys.sqlite"))
            self._db.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2000;"
                "PRAGMA temp_store=FILE; CREATE TABLE k (key TEXT NOT NULL, seq INTEGER NOT NULL);"
            )
        self._db.executemany("INSERT INTO k VALUES (?, ?)", self._buffer)
        self._buffer = []

    def repeats(self) -> Iterator[tuple[str, int, int]]:
        """(key, first seq, later seq) for every non-FAILED decision after the first of its key."""
        try:
            if self._db is None:
                first: dict[str, int] = {}
                for key, seq in self._buffer:
                    if key in first:
                        yield key, first[key], seq
                    else:
                        first[key] = seq
                return
            self._flush()
            rows = self._db.execute(
                "SELECT key, seq FROM k WHERE key IN (SELECT key FROM k GROUP BY key HAVING COUNT(*) > 1) "
                "ORDER BY key, seq"
            )
            current, first_seq = None, 0
            for key, seq in rows:
                if key != current:
                    current, first_seq = key, seq
                else:
                    yield key, first_seq, seq
        finally:
            self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


# --- checkpoints.jsonl, read in step -------------------------------------------------------------


@dataclass
class _KeyChoice:
    key: Ed25519PublicKey | None
    key_id: str | None
    source: str | None  # "pinned" / "stored"
    label: str


def _choose_key(directory: Path, public_key_path: str | os.PathLike[str] | None, notes: list[str]) -> _KeyChoice:
    if public_key_path is not None:
        key = load_public_key(public_key_path)  # LedgerError (exit 2) if unreadable: a usage error
        kid = key_id_of(key)
        notes.append(f"checkpoint signatures checked with the pinned public key {public_key_path} (key {kid})")
        return _KeyChoice(key, kid, "pinned", "the pinned key")
    stored = directory / PUBLIC_KEY_FILE
    if not stored.exists():
        return _KeyChoice(None, None, None, "no key")
    try:
        key = load_public_key(stored)
    except LedgerError as exc:
        notes.append(f"the stored public key is unusable: {exc}")
        return _KeyChoice(None, None, None, "no key")
    kid = key_id_of(key)
    notes.append(
        f"checkpoint signatures checked with the STORED public key {PUBLIC_KEY_FILE} (key {kid}), which lives "
        "next to the data it vouches for: pin a copy kept off this host with --public-key"
    )
    return _KeyChoice(key, kid, "stored", "the stored key")


class _CheckpointReader:
    """Yields checkpoints with growing tree_size; reports and skips bad ones (one held at a time)."""

    def __init__(self, f: IO[bytes] | None, ledger_id: str | None, key: _KeyChoice, problems: _Problems) -> None:
        self._lines = enumerate(f, 1) if f is not None else iter(())
        self._ledger_id = ledger_id
        self._key = key
        self._problems = problems
        self._last_size = 0
        self.count = 0
        self.key_missing_reported = False

    def next(self) -> tuple[int, Checkpoint] | None:
        for number, raw in self._lines:
            self.count += 1
            found = self._check(number, raw)
            if found is not None:
                return number, found
        return None

    def _check(self, number: int, raw: bytes) -> Checkpoint | None:
        add = self._problems.add
        try:
            cp = read_checkpoint(raw)
        except (CanonicalFormError, InvalidRecordError) as exc:
            add(f"{CHECKPOINTS_FILE} line {number}", str(exc), checkpoint=number)
            return None
        where = f"{CHECKPOINTS_FILE} line {number} (tree_size {cp.tree_size})"
        if self._ledger_id is not None and cp.ledger_id != self._ledger_id:
            add(where, f"ledger_id {cp.ledger_id} is not this ledger's {self._ledger_id}", checkpoint=number)
            return None
        key = self._key
        if key.key is None:
            if not self.key_missing_reported:
                add(where, f"cannot check the signature: no --public-key given and {PUBLIC_KEY_FILE} is missing",
                    checkpoint=number)  # fmt: skip
                self.key_missing_reported = True
        elif cp.key_id != key.key_id:
            add(where, f"signed by key {cp.key_id}, not {key.label} {key.key_id} (a key change: the checkpoints "
                "were re-signed, e.g. after a rewrite)", checkpoint=number)  # fmt: skip
            return None
        elif not cp.signature_valid(key.key):
            add(where, f"signature does not verify with {key.label} {key.key_id} (the checkpoint was altered)",
                checkpoint=number)  # fmt: skip
            return None
        if cp.tree_size <= self._last_size:
            add(where, f"does not extend the checkpoint before it (tree_size {self._last_size}): an older "
                "checkpoint was restored or replayed", checkpoint=number)  # fmt: skip
            return None
        self._last_size = cp.tree_size
        return cp


def _read_anchor(path: str | os.PathLike[str], key: _KeyChoice, problems: _Problems) -> Checkpoint | None:
    """The last line of a trusted copy of checkpoints (a single checkpoint line, or a copied file)."""
    try:
        lines = [ln for ln in Path(path).read_bytes().splitlines(keepends=True) if ln.strip()]
    except OSError as exc:
        raise LedgerError(f"cannot read the anchor {path}: {exc}") from exc
    if not lines:
        raise LedgerError(f"the anchor {path} holds no checkpoint")
    raw = lines[-1] if lines[-1].endswith(b"\n") else lines[-1] + b"\n"
    try:
        cp = read_checkpoint(raw)
    except (CanonicalFormError, InvalidRecordError) as exc:
        raise LedgerError(f"the anchor {path} is not a checkpoint line: {exc}") from exc
    if key.key is not None and (cp.key_id != key.key_id or not cp.signature_valid(key.key)):
        problems.add(f"anchor {path}", f"its signature does not verify with {key.label} {key.key_id}")
    return cp


# --- the driver --------------------------------------------------------------------------------


@dataclass
class _Meta:
    ledger_id: str | None = None
    key_id: str | None = None
    notes: list[str] = field(default_factory=list)


def _read_meta(directory: Path, problems: _Problems) -> _Meta:
    path = directory / META_FILE
    try:
        meta = parse_canonical(path.read_bytes())
    except FileNotFoundError as exc:
        raise LedgerError(f"{directory} is not a ledger: {META_FILE} is missing") from exc
    except OSError as exc:
        raise LedgerError(f"cannot read {path}: {exc}") from exc
    except CanonicalFormError as exc:
        problems.add(META_FILE, str(exc))
        return _Meta()
    ledger_id = meta.get("ledger_id")
    if not isinstance(ledger_id, str) or len(ledger_id) != 32:
        problems.add(META_FILE, "has no 32-hex ledger_id")
        ledger_id = None
    key_id = meta.get("key_id")
    return _Meta(ledger_id, key_id if isinstance(key_id, str) else None)


def _open(path: Path, problems: _Problems | None) -> IO[bytes] | None:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        if problems is not None:
            problems.add(path.name, "file is missing")
        return None
    except OSError as exc:
        raise LedgerError(f"cannot read {path}: {exc}") from exc


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def verify_ledger(
    directory: str | Path,
    *,
    public_key_path: str | os.PathLike[str] | None = None,
    anchor_path: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
) -> VerifyReport:
    """Check a ledger directory; integrity problems go in the report, I/O and usage problems raise LedgerError.

    jobs: processes that parse and hash lines (None: up to 4 on large files, 1 on small ones).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise LedgerError(f"no ledger directory at {directory}")
    problems = _Problems()
    notes: list[str] = []
    meta = _read_meta(directory, problems)
    key = _choose_key(directory, public_key_path, notes)
    if meta.key_id is not None and key.key_id is not None and meta.key_id != key.key_id:
        problems.add(META_FILE, f"a key change: the ledger was created with signing key {meta.key_id}, but "
                     f"{key.label} is {key.key_id}")  # fmt: skip
    anchor = _read_anchor(anchor_path, key, problems) if anchor_path is not None else None
    dec_path = directory / DECISIONS_FILE
    dec_file = _open(dec_path, problems)
    calls = _CallReader(_open(directory / CALLS_FILE, problems), problems)
    cp_file = _open(directory / CHECKPOINTS_FILE, None)
    checkpoints = _CheckpointReader(cp_file, meta.ledger_id, key, problems)
    walk = _Walk(meta.ledger_id, problems, calls, checkpoints, anchor, notes)
    try:
        if dec_file is not None:
            _walk_decisions(dec_file, _jobs(jobs, dec_path), meta.ledger_id, walk)
        walk.finish_checkpoints()
        if anchor is not None:
            _check_anchor(anchor, walk, problems)
        for key_name, first_seq, seq in walk.keys.repeats():
            problems.add(f"{DECISIONS_FILE} seq {seq}",
                         f"second non-FAILED decision for {key_name} (the first is seq {first_seq})", seq)  # fmt: skip
        call_count = calls.finish()
    finally:
        walk.keys.close()
        for handle in (dec_file, calls._f, cp_file):
            if handle is not None:
                handle.close()
    return _report(walk, checkpoints, problems, notes, key, call_count)


def _jobs(jobs: int | None, dec_path: Path) -> int:
    if jobs is not None:
        return jobs
    size = dec_path.stat().st_size if dec_path.exists() else 0
    return default_jobs() if size >= _PARALLEL_MIN_BYTES else 1


def _walk_decisions(dec_file: IO[bytes], jobs: int, ledger_id: str | None, walk: _Walk) -> None:
    """Every line through the walk: a chunk summarized in a worker when it can be, line by line when not."""
    for chunk, position, summary in _summaries(dec_file, jobs, ledger_id):
        if summary is None or not walk.fast_chunk(position, summary):
            for offset, result in enumerate(check_decision_chunk(chunk)):
                walk.line(position + offset, result)


def _check_anchor(anchor: Checkpoint, walk: _Walk, problems: _Problems) -> None:
    """A trusted checkpoint kept off the host must still be covered by the ledger and be in its checkpoints."""
    if anchor.tree_size > walk.lines:
        problems.add(f"anchor (tree_size {anchor.tree_size})", f"the trusted checkpoint covers "
                     f"{anchor.tree_size} records but {DECISIONS_FILE} holds {walk.lines}: records were "
                     "deleted or truncated", seq=walk.lines)  # fmt: skip
    if not walk.anchor_seen:
        newest = walk.newest
        have = f"the newest there has tree_size {newest.tree_size}" if newest else "there is none"
        problems.add(f"anchor (tree_size {anchor.tree_size})", f"the trusted checkpoint is not in "
                     f"{CHECKPOINTS_FILE} ({have}): an older checkpoint file was restored or "
                     "checkpoints were removed")  # fmt: skip


def _report(walk: _Walk, checkpoints: _CheckpointReader, problems: _Problems, notes: list[str], key: _KeyChoice,
            call_count: int) -> VerifyReport:
    if checkpoints.count == 0:
        notes.append("no checkpoints yet: no record is anchored by a signature")
    if problems.total > len(problems.listed):
        notes.append(f"{problems.total - len(problems.listed)} more problems not listed")
    newest, newest_json = walk.newest, None
    if newest is not None:
        newest_json = {"line": walk.newest_line, "tree_size": newest.tree_size, "root": newest.root,
                       "head_hash": newest.head_hash, "created_at": newest.created_at, "key_id": newest.key_id}  # fmt: skip
    return VerifyReport(
        ok=problems.total == 0,
        decisions=walk.lines,
        llm_calls=call_count,
        problems=tuple(problems.listed),
        first_bad_seq=problems.first_bad_seq,
        unanchored=walk.lines - walk.anchored,
        checkpoints=checkpoints.count,
        notes=tuple(notes),
        first_bad_checkpoint=problems.first_bad_checkpoint,
        key_id=key.key_id,
        key_source=key.source,
        newest_checkpoint=newest_json,
    )


class _Walk:
    """The sequential state of one pass over decisions.jsonl: chain, Merkle frontier, checkpoints."""

    def __init__(self, ledger_id, problems, calls, checkpoints, anchor, notes) -> None:
        self.ledger_id = ledger_id
        self.problems: _Problems = problems
        self.calls: _CallReader = calls
        self.checkpoints: _CheckpointReader = checkpoints
        self.anchor: Checkpoint | None = anchor
        self.notes: list[str] = notes
        self.keys = _DecidedKeys()
        self.frontier = MerkleFrontier()
        self.expected_seq = 0
        self.previous: str | None = genesis_hash(ledger_id) if ledger_id else None
        self.lines = 0
        self.anchored = 0  # the largest tree_size whose checkpoint matched
        self.newest: Checkpoint | None = None
        self.newest_line = 0
        self.anchor_seen = anchor is None
        self.pending = checkpoints.next()

    def fast_chunk(self, position: int, summary: ChunkSummary) -> bool:
        """Apply a clean chunk in bulk; False (nothing applied) if it does not continue the chain."""
        first_prev, hashes, leaves, keys, refs = summary
        if position != self.expected_seq or self.lines != position or (
            self.previous is not None and first_prev != self.previous
        ):
            return False
        for seq, crefs in refs:
            self._check_refs(seq, f"{DECISIONS_FILE} seq {seq}", crefs)
        for key_name, seq in keys:
            self.keys.add(key_name, seq)
        append, pending = self.frontier.append, self.pending
        for i in range(len(hashes)):
            append(leaves[32 * i : 32 * i + 32])
            height = position + i + 1
            if pending is not None and pending[1].tree_size == height or (
                self.anchor is not None and self.anchor.tree_size == height
            ):
                self._after_leaf(height, hashes[i])
                pending = self.pending
        self.lines = position + len(hashes)
        self.expected_seq = self.lines
        self.previous = hashes[-1] if hashes else self.previous
        return True

    def line(self, position: int, result: LineResult) -> None:
        err, seq, lid, prev, rhash, key_name, decision, refs, leaf = result
        problems = self.problems
        self.lines += 1
        self.frontier.append(leaf)
        if err is not None:
            problems.add(f"{DECISIONS_FILE} seq {position} (line {position + 1})", err, position)
            self.expected_seq += 1
            self.previous = None  # unknown: the unreadable line was reported
            rhash = None
        else:
            where = f"{DECISIONS_FILE} seq {position}" if seq == position else f"{DECISIONS_FILE} line {position + 1}"
            expected = self.expected_seq
            if seq > expected:
                gap = f"seq {expected}" if seq == expected + 1 else f"seq {expected}..{seq - 1}"
                problems.add(where, f"holds seq {seq} where seq {expected} belongs ({gap} missing or moved)", position)
            elif seq < expected:
                problems.add(where, f"holds seq {seq} where seq {expected} belongs (out of order or repeated)", position)
            elif self.previous is not None and prev != self.previous:
                if seq == 0:
                    problems.add(where, "previous_hash is not this ledger's genesis hash", position)
                else:
                    problems.add(where, f"previous_hash does not match record_hash of seq {seq - 1} "
                                 f"(seq {seq - 1} or seq {seq} was altered)", position)  # fmt: skip
            if self.ledger_id is not None and lid != self.ledger_id:
                problems.add(where, f"ledger_id {lid} is not this ledger's {self.ledger_id}", position)
            # follow the highest seq seen, so one missing or moved record is one or two problems
            if seq >= expected:
                self.expected_seq = seq + 1
                self.previous = rhash
            if decision != FAILED:
                self.keys.add(key_name, position)
            if refs:
                self._check_refs(position, where, refs)
        self._after_leaf(position + 1, rhash)

    def _check_refs(self, position: int, where: str, refs: tuple[tuple[str, str], ...]) -> None:
        calls, problems = self.calls, self.problems
        if not calls.enabled:
            return
        for call_id, ref_hash in refs:
            found = calls.find(call_id)
            if found is None:
                earlier = calls.find_earlier(call_id)
                if earlier is None:
                    problems.add(where, f"llm_calls entry {call_id} has no record in {CALLS_FILE}", position)
                else:
                    problems.add(where, f"llm_calls entry {call_id} is at {CALLS_FILE} line {earlier}, before the "
                                 "calls of the decision preceding it: decisions were reordered", position)  # fmt: skip
                if calls.misses >= MAX_CALL_MISSES:
                    calls.enabled = False
                    self.notes.append(f"llm_calls references after seq {position} were not checked "
                                      f"({MAX_CALL_MISSES} references missing)")  # fmt: skip
                    return
            elif found[0] is None:
                problems.add(where, f"llm_calls entry {call_id}: its record ({CALLS_FILE} line {found[1]}) "
                             "is damaged", position)  # fmt: skip
            elif found[0] != ref_hash:
                problems.add(where, f"llm_calls entry {call_id}: record_hash differs from {CALLS_FILE} line "
                             f"{found[1]} (the call record was changed)", position)  # fmt: skip

    def _after_leaf(self, height: int, rhash: str | None) -> None:
        anchor = self.anchor
        if anchor is not None and anchor.tree_size == height:
            _check_root(anchor, f"anchor (tree_size {anchor.tree_size})", None, self.frontier, rhash, self.problems)
        while self.pending is not None and self.pending[1].tree_size == height:
            number, cp = self.pending
            where = f"{CHECKPOINTS_FILE} line {number} (tree_size {cp.tree_size})"
            if _check_root(cp, where, number, self.frontier, rhash, self.problems, self.anchored):
                self.anchored = cp.tree_size
            self._seen(number, cp)
            self.pending = self.checkpoints.next()

    def _seen(self, number: int, cp: Checkpoint) -> None:
        self.newest, self.newest_line = cp, number
        anchor = self.anchor
        if anchor is not None and cp.root == anchor.root and cp.tree_size == anchor.tree_size:
            self.anchor_seen = True

    def finish_checkpoints(self) -> None:
        """Checkpoints beyond the end of the file: records were truncated."""
        while self.pending is not None:
            number, cp = self.pending
            self.problems.add(
                f"{CHECKPOINTS_FILE} line {number} (tree_size {cp.tree_size})",
                f"covers {cp.tree_size} records but {DECISIONS_FILE} holds {self.lines}: records were deleted "
                "or truncated",
                seq=self.lines,
                checkpoint=number,
            )
            self._seen(number, cp)
            self.pending = self.checkpoints.next()


def _check_root(
    cp: Checkpoint,
    where: str,
    number: int | None,
    frontier: MerkleFrontier,
    head: str | None,
    problems: _Problems,
    anchored: int = 0,
) -> bool:
    ok = True
    if frontier.root().hex() != cp.root:
        span = f"seq {anchored}..{cp.tree_size - 1}" if anchored else f"seq 0..{cp.tree_size - 1}"
        problems.add(where, f"root does not match the first {cp.tree_size} lines of {DECISIONS_FILE}: a record in "
                     f"{span} was changed, inserted, removed or reordered after it was signed", checkpoint=number)  # fmt: skip
        ok = False
    elif head != cp.head_hash:
        problems.add(where, f"head_hash does not match the record_hash of seq {cp.tree_size - 1}", checkpoint=number)
        ok = False
    return ok
