"""Reading a dataset (spec section 1), as a stream: the policies first (a small file), then one claim at a time.

A dataset is ``policies.jsonl`` plus exactly one claims source: ``claims.jsonl``, ``claims.parquet`` or
``claims/<claim_id>.json``, in a local directory or at any URI pyarrow's filesystem layer reads (``s3://``,
``gs://``, ``hdfs://``, ``file://``), so a cluster job reads from object storage rather than the head's disk.

Why a stream: a year of claims is 10^5-10^6 entries; holding them all costs gigabytes and minutes before the
first claim starts. ``open_dataset`` checks what is wrong with the dataset as a whole (no directory, no
policies, no or two claims sources, a parquet file without a footer) and raises DatasetError before any work;
``DatasetSource.stream()`` then yields the claims in dataset order, reading a block at a time, and can be
called again (a resume streams the dataset anew). What the stream keeps is one id and one int per claim, to
find duplicates: the claims themselves are not kept.

Problems with one entry become that entry's error (the claim is FAILED later, the run goes on). A read error
in the middle of the stream (a disk or network failure) raises DatasetError from the iterator, naming the
position it reached: the run stops cleanly there and a resume carries on.

Field-level validation of claims happens in the pipeline, not here: reading only establishes each entry's
identity (a unique ``claim_id``) and whether it parsed at all.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from claim_assess.errors import ClaimInputError, DatasetError
from claim_assess.files import replacing
from claim_assess.claims.entry_json import first_line, parse_json_object
from claim_assess.claims.models import Policy, is_identifier, parse_policy, short_repr

POLICIES_FILE = "policies.jsonl"
CLAIMS_SOURCES = ("claims.jsonl", "claims.parquet", "claims")
_PARQUET_BATCH_ROWS = 1024
_READ_BLOCK = 4 << 20
_CHEAP_COUNT_BYTES = 64 << 20  # about 25,000 claims: counted in well under a second  # bytes per read of a JSONL file: large enough for object storage, small beside memory


@dataclass(frozen=True)
class ClaimEntry:
    position: int  # 0-based order in the dataset
    location: str  # "claims.jsonl line 17", "claims.parquet row 3", "claims/C-1.json"
    claim_id: str  # real id, or "@<location>" when the real one is invalid or taken (never collides)
    raw: dict | None  # the parsed JSON object, None when the entry is not a JSON object
    error: str | None  # why the entry is already known to be bad, else None


# --- where a dataset lives ---------------------------------------------------------------------------


def is_uri(text: str) -> bool:
    """``s3://bucket/x``, ``file:///data``: a scheme of two or more letters (``C:\\data`` is a path)."""
    scheme = urlsplit(text).scheme
    return len(scheme) > 1 and "://" in text


def check_input_location(text: str) -> str:
    """``text`` if it may be stored in settings.json; DatasetError for credentials in a URI, which would then sit
    in the run's files and in process lists (the filesystem's own variables carry them)."""
    if is_uri(text):
        parts = urlsplit(text)
        if parts.username or parts.password or any(
                key in parts.query.lower() for key in ("secret_key", "access_key", "session_token")):
            raise DatasetError(f"{parts.scheme}://{parts.hostname or ''}{parts.path}: --input must not carry "
                               "credentials; give them the way the filesystem reads them (for S3: "
                               "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or a profile)")
    return text


@dataclass(frozen=True)
class _Place:
    """A file or directory on a pyarrow filesystem, and how to name it to a user."""

    fs: pafs.FileSystem
    path: str
    shown: str

    @classmethod
    def of(cls, location: str | os.PathLike[str]) -> _Place:
        text = os.fspath(location)
        if not is_uri(text):
            return cls(pafs.LocalFileSystem(), os.path.abspath(text), text)
        check_input_location(text)
        try:
            fs, path = pafs.FileSystem.from_uri(text)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DatasetError(f"{text}: cannot open the dataset's location: {first_line(str(exc))}") from exc
        return cls(fs, path.rstrip("/"), text.split("?", 1)[0].rstrip("/"))

    def child(self, name: str) -> _Place:
        return _Place(self.fs, f"{self.path}/{name}", f"{self.shown}/{name}")

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def local(self) -> bool:
        # Local files go through Python's own I/O: POSIX names are bytes, and Python keeps an undecodable one
        # (as surrogate escapes) where pyarrow's listing fails on the whole directory.
        return isinstance(self.fs, pafs.LocalFileSystem)

    def kind(self) -> pafs.FileType:
        if self.local:
            if os.path.isdir(self.path):
                return pafs.FileType.Directory
            return pafs.FileType.File if os.path.lexists(self.path) else pafs.FileType.NotFound
        try:
            return self.fs.get_file_info(self.path).type
        except (pa.ArrowException, OSError) as exc:
            raise DatasetError(f"{self.shown}: cannot look at it: {first_line(str(exc))}") from exc

    def size(self) -> int:
        return os.path.getsize(self.path) if self.local else self.fs.get_file_info(self.path).size

    def open(self) -> Any:
        """A binary stream with ``read(n)``: Python's file locally, pyarrow's input stream elsewhere."""
        return open(self.path, "rb") if self.local else self.fs.open_input_stream(self.path)

    def read_bytes(self) -> bytes:
        with self.open() as stream:
            return stream.read()

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(1-based line number, bytes) of the non-blank lines, a block at a time; one huge line costs itself."""
        number = 0
        pending: list[bytes] = []  # the start of a line that continues in the next block
        with self.open() as stream:
            while block := stream.read(_READ_BLOCK):
                lines = block.split(b"\n")
                if len(lines) == 1:
                    pending.append(block)
                    continue
                del block  # its lines are copies: the block need not stay alive while they are yielded
                if pending:
                    pending.append(lines[0])
                    lines[0] = b"".join(pending)
                pending = [lines.pop()]
                for line in lines:
                    number += 1
                    if line.strip():
                        yield number, line
        last = b"".join(pending)
        if last.strip():
            yield number + 1, last

    def json_files(self) -> list[_Place]:
        """The ``*.json`` files directly in this directory (hidden ones skipped), sorted by name."""
        try:
            if self.local:
                with os.scandir(self.path) as found:
                    names = [item.name for item in found if not item.is_dir()]
            else:
                names = [info.base_name for info in self.fs.get_file_info(pafs.FileSelector(self.path))
                         if info.type != pafs.FileType.Directory]
        except (pa.ArrowException, OSError) as exc:
            raise DatasetError(f"{self.shown}: cannot list claims directory: {_reason(exc)}") from exc
        return [self.child(name) for name in sorted(names) if name.endswith(".json") and not name.startswith(".")]


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else first_line(str(exc))


# --- policies ----------------------------------------------------------------------------------------


def _read_policies(root: _Place) -> tuple[dict[str, Policy], dict[str, str], dict[str, dict]]:
    place = root.child(POLICIES_FILE)
    if place.kind() != pafs.FileType.File:
        raise DatasetError(f"{place.shown}: {POLICIES_FILE} is missing")
    return _policy_lines(place, POLICIES_FILE)


def read_policy_file(location: str | os.PathLike[str]) -> tuple[dict[str, Policy], dict[str, str], dict[str, dict]]:
    """A policies file of its own (what-if's new terms), read and validated line by line as a dataset's is:
    (policies by id, errors by policy id or "<file> line N", the raw objects by id)."""
    place = _Place.of(location)
    if place.kind() != pafs.FileType.File:
        raise DatasetError(f"{place.shown}: no such file")
    return _policy_lines(place, place.name)


def _policy_lines(place: _Place, name: str) -> tuple[dict[str, Policy], dict[str, str], dict[str, dict]]:
    policies: dict[str, Policy] = {}
    errors: dict[str, str] = {}
    raws: dict[str, dict] = {}
    first_line_of: dict[str, int] = {}
    try:
        for number, line in place.lines():
            where = f"{name} line {number}"
            raw, problem = parse_json_object(line)
            if raw is None:
                errors[where] = f"{where}: {problem}"
                continue
            policy_id = raw.get("policy_id")
            if not is_identifier(policy_id):
                errors[where] = f"{where}: policy_id: invalid identifier, got {short_repr(policy_id)}"
                continue
            if policy_id in first_line_of:
                # Two definitions of one policy: neither can be trusted, claims naming it fail.
                errors[policy_id] = (
                    f"duplicate policy_id {policy_id!r} ({name} lines {first_line_of[policy_id]} and {number})"
                )
                policies.pop(policy_id, None)
                raws.pop(policy_id, None)
                continue
            first_line_of[policy_id] = number
            try:
                policies[policy_id] = parse_policy(raw, where)
                raws[policy_id] = raw
            except ClaimInputError as exc:
                errors[policy_id] = str(exc)
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(f"{place.shown}: cannot read {name}: {_reason(exc)}") from exc
    return policies, errors, raws


# --- claims ------------------------------------------------------------------------------------------


class _EntryBuilder:
    """Assigns positions and unique claim ids as entries arrive in dataset order.

    It remembers each id taken with the number of the line, row or file it came from (an int, not the
    location text), so a duplicate still names where the first one was while a million claims cost tens
    of megabytes, not the claims.
    """

    def __init__(self, describe: Callable[[int], str]) -> None:
        self._describe = describe  # number -> location text ("claims.jsonl line 17")
        self._first_at: dict[str, int] = {}
        self._position = 0

    def add(self, number: int, synthetic_id: str, raw: dict | None, error: str | None,
            expected_id: str | None = None, location: str | None = None) -> ClaimEntry:
        location = location or self._describe(number)
        claim_id = synthetic_id
        if raw is not None and error is None:
            candidate = raw.get("claim_id")
            if "claim_id" not in raw:
                error = f"{location}: claim_id: missing required field"
            elif not is_identifier(candidate):
                error = f"{location}: claim_id: invalid identifier, got {short_repr(candidate)}"
            elif candidate in self._first_at:
                error = (f"{location}: duplicate claim_id {candidate!r} "
                         f"(first at {self._describe(self._first_at[candidate])})")
            elif expected_id is not None and candidate != expected_id:
                error = f"{location}: claim_id {candidate!r} does not match the file name"
            else:
                claim_id = candidate
                self._first_at[candidate] = number
        entry = ClaimEntry(self._position, location, claim_id, raw, error)
        self._position += 1
        return entry


def _claims_jsonl(place: _Place) -> Iterator[ClaimEntry]:
    builder = _EntryBuilder(lambda number: f"{place.name} line {number}")
    number = 0
    try:
        for number, line in place.lines():
            raw, problem = parse_json_object(line)
            error = None if raw is not None else f"{place.name} line {number}: {problem}"
            yield builder.add(number, f"@{place.name}:{number}", raw, error)
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(f"{place.shown}: cannot read after line {number}: {_reason(exc)}") from exc


def _plain(value: Any) -> Any:
    """Parquet values back to the JSON shapes the models accept (dates and decimals as strings)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value  # not a valid date: validation reports it
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _parquet_row(row: dict[str, Any]) -> dict[str, Any]:
    row = _plain(row)
    documents = row.get("documents")
    # A foreign file may hold any type here; validation names it, the reader must not trip over it.
    for document in documents if isinstance(documents, list) else ():
        facts = document.get("facts") if isinstance(document, dict) else None
        if isinstance(facts, dict):
            # A struct column holds every fact; null means the document did not state it.
            document["facts"] = {k: v for k, v in facts.items() if v is not None}
    return row


def _batch_rows(batch: pa.RecordBatch) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    """(row, None) or (None, why) per row. A string column may hold invalid UTF-8 (Arrow does not check
    what a foreign writer stored); converting then fails for the whole batch, so fall back to single
    rows and let only the rows that carry bad bytes fail."""
    try:
        rows = batch.to_pylist()
    except (UnicodeDecodeError, pa.ArrowException, ValueError):
        for index in range(batch.num_rows):
            try:
                yield batch.slice(index, 1).to_pylist()[0], None
            except (UnicodeDecodeError, pa.ArrowException, ValueError) as exc:
                yield None, first_line(str(exc))
        return
    for row in rows:
        yield row, None


def _open_parquet(place: _Place) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(place.path if place.local else place.fs.open_input_file(place.path))
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(f"{place.shown}: cannot read parquet: {first_line(str(exc))}") from exc


def _claims_parquet(place: _Place, parquet: pq.ParquetFile) -> Iterator[ClaimEntry]:
    builder = _EntryBuilder(lambda number: f"{place.name} row {number}")
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            for row, problem in _batch_rows(batch):
                number += 1
                if problem is not None:
                    yield builder.add(number, f"@{place.name}:{number}", None,
                                      f"{place.name} row {number}: cannot read row: {problem}")
                else:
                    yield builder.add(number, f"@{place.name}:{number}", _parquet_row(row), None)
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(f"{place.shown}: cannot read parquet after row {number}: {first_line(str(exc))}") from exc


def _claims_dir(place: _Place, files: list[_Place]) -> Iterator[ClaimEntry]:
    shown_names = [_shown(file.name) for file in files]
    builder = _EntryBuilder(lambda number: f"{place.name}/{shown_names[number]}")
    for number, file in enumerate(files):
        location = f"{place.name}/{shown_names[number]}"
        try:
            data = file.read_bytes()
        except (OSError, pa.ArrowException) as exc:
            yield builder.add(number, f"@{location}", None, f"{location}: cannot read: {_reason(exc)}")
            continue
        raw, problem = parse_json_object(data)
        yield builder.add(number, f"@{location}", raw, None if raw is not None else f"{location}: {problem}",
                          expected_id=file.name[: -len(".json")])


def _shown(name: str) -> str:
    # File names are bytes on POSIX; undecodable ones arrive as lone surrogates, which must not reach the
    # error text or the ledger, so odd names are shown escaped.
    return name if name.isprintable() else ascii(name)[1:-1]


@dataclass(frozen=True)
class DatasetSource:
    """A dataset opened for streaming: its policies (read), and its claims (read when ``entries()`` is iterated)."""

    root: str  # the path or URI as given
    claims_source: str  # "claims.jsonl", "claims.parquet" or "claims"
    policies: Mapping[str, Policy]
    policy_errors: Mapping[str, str]
    raw_policies: Mapping[str, dict]  # the policy objects exactly as read, for the ledger's input digest
    _claims: _Place = field(repr=False, compare=False)

    def stream(self) -> Iterator[ClaimEntry]:
        """The claims in dataset order, each time anew (raises DatasetError if reading fails part-way)."""
        if self.claims_source == "claims.jsonl":
            return _claims_jsonl(self._claims)
        if self.claims_source == "claims.parquet":
            return _claims_parquet(self._claims, _open_parquet(self._claims))
        return _claims_dir(self._claims, self._claims.json_files())

    def cheap_to_count(self) -> bool:
        """Whether ``count()`` is quick (a Parquet footer, a directory listing, a JSONL file under 64 MB)."""
        if self.claims_source != "claims.jsonl":
            return True
        try:
            return self._claims.size() < _CHEAP_COUNT_BYTES
        except (OSError, pa.ArrowException):
            return False

    def count(self) -> int:
        """How many entries ``stream()`` yields, found cheaply (no JSON parsed): non-blank lines, the parquet
        footer's row count, or the directory's ``*.json`` files. For the display and the count of what a
        stopped run left undecided; a JSONL count reads the file once more (about 0.7 s per 100,000 claims),
        so a run counts in the background."""
        try:
            if self.claims_source == "claims.jsonl":
                return sum(1 for _ in self._claims.lines())
            if self.claims_source == "claims.parquet":
                return _open_parquet(self._claims).metadata.num_rows
            return len(self._claims.json_files())
        except (OSError, pa.ArrowException) as exc:
            raise DatasetError(f"{self._claims.shown}: cannot count its claims: {_reason(exc)}") from exc


@dataclass(frozen=True)
class Dataset(DatasetSource):
    """A dataset read whole: for the small ones of tests, tools and benchmarks. Runs stream (``open_dataset``)."""

    entries: tuple[ClaimEntry, ...] = ()

    def stream(self) -> Iterator[ClaimEntry]:
        return iter(self.entries)

    def count(self) -> int:
        return len(self.entries)

    def cheap_to_count(self) -> bool:
        return True


def raw_policy(dataset: DatasetSource, policy_id: str) -> dict | None:
    return dataset.raw_policies.get(policy_id)


def open_dataset(location: str | os.PathLike[str]) -> DatasetSource:
    """Check the dataset as a whole and read its policies; the claims are read later, as a stream."""
    root = _Place.of(location)
    if root.kind() != pafs.FileType.Directory:
        raise DatasetError(f"{root.shown}: dataset directory does not exist")
    kinds = {name: root.child(name).kind() for name in CLAIMS_SOURCES}
    present = [name for name, kind in kinds.items() if kind != pafs.FileType.NotFound]
    if not present:
        raise DatasetError(f"{root.shown}: no claims source; expected one of claims.jsonl, claims.parquet, claims/")
    if len(present) > 1:
        raise DatasetError(f"{root.shown}: more than one claims source: {', '.join(present)}; keep exactly one")
    policies, policy_errors, raws = _read_policies(root)
    source = root.child(present[0])
    if present[0] == "claims" and kinds["claims"] != pafs.FileType.Directory:
        raise DatasetError(f"{source.shown}: expected a directory of <claim_id>.json files")
    if present[0] == "claims.parquet":
        _open_parquet(source)  # a file that is no parquet at all is the dataset's problem, found now
    return DatasetSource(os.fspath(location), present[0], policies, policy_errors, raws, source)


def read_dataset(location: str | os.PathLike[str]) -> Dataset:
    """Open the dataset and read every entry (fine for thousands of claims; a run streams instead)."""
    source = open_dataset(location)
    return Dataset(source.root, source.claims_source, source.policies, source.policy_errors, source.raw_policies,
                   source._claims, tuple(source.stream()))


# --- writing parquet (generator and tests) -----------------------------------------------------------

_STR = pa.string()
CLAIMS_PARQUET_SCHEMA = pa.schema([
    ("claim_id", _STR),
    ("policy_id", _STR),
    ("loss_date", _STR),
    ("reported_date", _STR),
    ("odometer_km", pa.int64()),
    ("narrative", _STR),
    ("documents", pa.list_(pa.struct([
        ("doc_id", _STR),
        ("doc_type", _STR),
        ("facts", pa.struct([("odometer_km", pa.int64()), ("loss_date", _STR), ("vin", _STR)])),
        ("text", _STR),
    ]))),
    ("line_items", pa.list_(pa.struct([
        ("item_id", _STR),
        ("doc_id", _STR),
        ("description", _STR),
        ("item_type", _STR),
        ("component", _STR),
        ("quantity", _STR),
        ("unit_price", _STR),  # money stays a string: the exact text the spec requires
        ("total", _STR),
    ]))),
])


def write_claims_parquet(claims: list[dict], path: str | os.PathLike[str]) -> Path:
    """Write claims (spec JSON shape) as ``claims.parquet``, whole or not at all (``claim_assess.files``)."""
    target = Path(path)
    table = pa.Table.from_pylist(claims, schema=CLAIMS_PARQUET_SCHEMA)
    with replacing(target) as (tmp,):
        pq.write_table(table, tmp)
    return target
