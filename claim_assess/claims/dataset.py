"""Reading a dataset directory (spec section 1).

A dataset is ``policies.jsonl`` plus exactly one claims source: ``claims.jsonl``, ``claims.parquet`` or
``claims/<claim_id>.json``. Problems with the dataset as a whole raise DatasetError before any work;
problems with one line become that entry's error (the claim is FAILED later, the run goes on).

Field-level validation of claims happens in the pipeline, not here: reading only establishes each
entry's identity (a unique ``claim_id``) and whether it parsed at all.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from claim_assess.errors import ClaimInputError, DatasetError
from claim_assess.files import replacing
from claim_assess.claims.entry_json import first_line, parse_json_object
from claim_assess.claims.models import Policy, is_identifier, parse_policy, short_repr

POLICIES_FILE = "policies.jsonl"
CLAIMS_SOURCES = ("claims.jsonl", "claims.parquet", "claims")
_PARQUET_BATCH_ROWS = 1024


@dataclass(frozen=True)
class ClaimEntry:
    position: int  # 0-based order in the dataset
    location: str  # "claims.jsonl line 17", "claims.parquet row 3", "claims/C-1.json"
    claim_id: str  # real id, or "@<location>" when the real one is invalid or taken (never collides)
    raw: dict | None  # the parsed JSON object, None when the entry is not a JSON object
    error: str | None  # why the entry is already known to be bad, else None


@dataclass(frozen=True)
class Dataset:
    root: str
    claims_source: str
    policies: Mapping[str, Policy]
    policy_errors: Mapping[str, str]
    entries: tuple[ClaimEntry, ...]
    # The policy objects exactly as read, for the ledger's input digest.
    raw_policies: Mapping[str, dict] = field(default_factory=dict)


def raw_policy(dataset: Dataset, policy_id: str) -> dict | None:
    return dataset.raw_policies.get(policy_id)


def _jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, bytes) of the non-blank lines; streams, so one huge line costs only itself."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line


# --- policies ----------------------------------------------------------------------------------------


def _read_policies(root: Path) -> tuple[dict[str, Policy], dict[str, str], dict[str, dict]]:
    path = root / POLICIES_FILE
    if not path.is_file():
        raise DatasetError(f"{path}: {POLICIES_FILE} is missing")
    policies: dict[str, Policy] = {}
    errors: dict[str, str] = {}
    raws: dict[str, dict] = {}
    first_line: dict[str, int] = {}
    try:
        for number, line in _jsonl_lines(path):
            where = f"{POLICIES_FILE} line {number}"
            raw, problem = parse_json_object(line)
            if raw is None:
                errors[where] = f"{where}: {problem}"
                continue
            policy_id = raw.get("policy_id")
            if not is_identifier(policy_id):
                errors[where] = f"{where}: policy_id: invalid identifier, got {short_repr(policy_id)}"
                continue
            if policy_id in first_line:
                # Two definitions of one policy: neither can be trusted, claims naming it fail.
                errors[policy_id] = (
                    f"duplicate policy_id {policy_id!r} ({POLICIES_FILE} lines {first_line[policy_id]} and {number})"
                )
                policies.pop(policy_id, None)
                raws.pop(policy_id, None)
                continue
            first_line[policy_id] = number
            try:
                policies[policy_id] = parse_policy(raw, where)
                raws[policy_id] = raw
            except ClaimInputError as exc:
                errors[policy_id] = str(exc)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read {POLICIES_FILE}: {exc.strerror or exc}") from exc
    return policies, errors, raws


# --- claims ------------------------------------------------------------------------------------------


class _EntryBuilder:
    """Assigns positions and unique claim ids as entries arrive in dataset order."""

    def __init__(self) -> None:
        self.entries: list[ClaimEntry] = []
        self._first_at: dict[str, str] = {}

    def add(self, location: str, synthetic_id: str, raw: dict | None, error: str | None,
            expected_id: str | None = None) -> None:
        claim_id = synthetic_id
        if raw is not None and error is None:
            candidate = raw.get("claim_id")
            if "claim_id" not in raw:
                error = f"{location}: claim_id: missing required field"
            elif not is_identifier(candidate):
                error = f"{location}: claim_id: invalid identifier, got {short_repr(candidate)}"
            elif candidate in self._first_at:
                error = f"{location}: duplicate claim_id {candidate!r} (first at {self._first_at[candidate]})"
            elif expected_id is not None and candidate != expected_id:
                error = f"{location}: claim_id {candidate!r} does not match the file name"
            else:
                claim_id = candidate
                self._first_at[candidate] = location
        self.entries.append(ClaimEntry(len(self.entries), location, claim_id, raw, error))


def _read_claims_jsonl(path: Path) -> tuple[ClaimEntry, ...]:
    builder = _EntryBuilder()
    try:
        for number, line in _jsonl_lines(path):
            location = f"{path.name} line {number}"
            raw, problem = parse_json_object(line)
            builder.add(location, f"@{path.name}:{number}", raw, None if raw is not None else f"{location}: {problem}")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return tuple(builder.entries)


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


def _read_claims_parquet(path: Path) -> tuple[ClaimEntry, ...]:
    builder = _EntryBuilder()
    try:
        parquet = pq.ParquetFile(path)
        number = 0
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            for row, problem in _batch_rows(batch):
                number += 1
                location = f"{path.name} row {number}"
                if problem is not None:
                    builder.add(location, f"@{path.name}:{number}", None, f"{location}: cannot read row: {problem}")
                else:
                    builder.add(location, f"@{path.name}:{number}", _parquet_row(row), None)
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(f"{path}: cannot read parquet: {exc}") from exc
    return tuple(builder.entries)


def _read_claims_dir(path: Path) -> tuple[ClaimEntry, ...]:
    builder = _EntryBuilder()
    try:
        files = sorted(p for p in path.iterdir() if p.name.endswith(".json") and not p.name.startswith("."))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot list claims directory: {exc.strerror or exc}") from exc
    for file in files:
        # File names are bytes on POSIX; undecodable ones arrive as lone surrogates, which must not
        # reach the error text or the ledger, so odd names are shown escaped.
        shown = file.name if file.name.isprintable() else ascii(file.name)[1:-1]
        location = f"{path.name}/{shown}"
        stem = file.name[: -len(".json")]
        try:
            data = file.read_bytes()
        except OSError as exc:
            builder.add(location, f"@{location}", None, f"{location}: cannot read: {exc.strerror or exc}")
            continue
        raw, problem = parse_json_object(data)
        builder.add(location, f"@{location}", raw, None if raw is not None else f"{location}: {problem}",
                    expected_id=stem)
    return tuple(builder.entries)


def read_dataset(path: str | os.PathLike[str]) -> Dataset:
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset directory does not exist")
    present = [name for name in CLAIMS_SOURCES if (root / name).exists()]
    if not present:
        raise DatasetError(f"{root}: no claims source; expected one of claims.jsonl, claims.parquet, claims/")
    if len(present) > 1:
        raise DatasetError(f"{root}: more than one claims source: {', '.join(present)}; keep exactly one")
    policies, policy_errors, raws = _read_policies(root)
    source = root / present[0]
    if present[0] == "claims.jsonl":
        entries = _read_claims_jsonl(source)
    elif present[0] == "claims.parquet":
        entries = _read_claims_parquet(source)
    else:
        if not source.is_dir():
            raise DatasetError(f"{source}: expected a directory of <claim_id>.json files")
        entries = _read_claims_dir(source)
    return Dataset(str(root), present[0], policies, policy_errors, entries, raws)


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
