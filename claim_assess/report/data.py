"""What the run report shows, read from a workspace: results, summary, LLM attempts, timeline, checkpoint.

Reading is tolerant: the report is a view, so a missing or unreadable optional file (an older run has no
timeline, a fresh ledger no checkpoint, a summary.json of an older format) or a torn last line becomes a
note on the page, never an error. Only a run without results is an error (there is nothing to show).

``llm_calls.jsonl`` holds every run of the workspace and may be large: it is streamed line by line and a
line is parsed only when it names the run (run ids are plain ``[A-Za-z0-9._-]`` text, so the JSON
spelling ``"<run_id>"`` is a safe prefilter). Neither the attempts nor the result rows are kept: both stream
into tallies (``claim_assess.report.figures``), so the report of a million claims does not hold a million rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from claim_assess.errors import InputError
from claim_assess.ledger.checkpoints import CHECKPOINTS_FILE
from claim_assess.ledger.filestore import CALLS_FILE
from claim_assess.report.figures import CallFigures, CallTally, ClaimFigures, ClaimTally
from claim_assess.run.summary import RunSummary, read_summary
from claim_assess.run.workspace import RunPaths, Workspace


ROW_BATCH = 1024  # result rows in memory at a time (as dicts: about 1.5 KB each)
# The columns of results.parquet the report shows (line items and tokens are the summary's and the ledger's).
REPORTED_COLUMNS = ("claim_id", "policy_id", "decision", "reasons", "payout", "currency", "claimed_total",
                    "confidence", "duration_ms", "started_at", "finished_at", "error")


@dataclass(frozen=True, slots=True)  # one per HTTP attempt of the run: tens of thousands
class Attempt:
    """One HTTP attempt of the run (a slice of an llm_calls.jsonl record)."""

    claim_id: str
    purpose: str
    status: str  # "200", "429", "timeout", ...
    started: dt.datetime
    finished: dt.datetime
    latency_ms: int
    tokens: int  # prompt + completion as the endpoint counted them (0 when it did not)
    error: str | None


@dataclass(frozen=True)
class ReportData:
    workspace: Workspace
    paths: RunPaths
    summary: RunSummary | None  # None: summary.json missing or unreadable (a note says which)
    claims: ClaimFigures  # results.parquet, tallied
    calls: CallFigures  # the run's attempts in llm_calls.jsonl, tallied
    timeline: Sequence[Mapping[str, Any]]  # timeline.jsonl samples, on one clock
    checkpoint: Mapping[str, Any] | None  # the newest checkpoints.jsonl line, as written
    origin: dt.datetime | None  # t = 0 of the charts: the run's start
    notes: tuple[str, ...] = field(default_factory=tuple)  # what could not be read, for the page

    @property
    def run_id(self) -> str:
        return self.paths.run_id


def as_workspace(workspace: Workspace | str | os.PathLike[str]) -> Workspace:
    return workspace if isinstance(workspace, Workspace) else Workspace(workspace)


def parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _json_object(line: bytes) -> dict | None:
    """The object a JSONL line holds; None for anything else (a torn tail while a run writes)."""
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _json_lines(path: Path, needle: bytes | None = None) -> Iterator[dict]:
    """Objects of a JSONL file; lines that do not parse are skipped."""
    with open(path, "rb") as fh:
        for line in fh:
            if needle is not None and needle not in line:
                continue
            value = _json_object(line)
            if value is not None:
                yield value


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def iter_attempts(calls_file: Path, run_id: str) -> Iterator[Attempt]:
    """The run's attempts in the order the log holds them (a claim's together, with its decision)."""
    for record in _json_lines(calls_file, json.dumps(run_id).encode()):
        if record.get("run_id") != run_id:
            continue
        started, finished = parse_time(record.get("started_at")), parse_time(record.get("finished_at"))
        if started is None or finished is None:
            continue
        error = record.get("error")
        yield Attempt(
            claim_id=str(record.get("claim_id")),
            purpose=str(record.get("purpose") or "unknown"),
            status=str(record.get("status")),
            started=started,
            finished=finished,
            latency_ms=_int(record.get("latency_ms")),
            tokens=_int(record.get("prompt_tokens")) + _int(record.get("completion_tokens")),
            error=str(error) if error is not None else None,
        )


def read_attempts(calls_file: Path, run_id: str) -> list[Attempt]:
    """Every attempt of the run, by the time it finished (a list: for a look at a few, not for the report)."""
    return sorted(iter_attempts(calls_file, run_id), key=lambda a: a.finished)


def last_json_line(path: Path, chunk: int = 65536) -> dict | None:
    """The last complete JSON object line of a file, reading only its end."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        start = max(0, end - chunk)
        while True:
            fh.seek(start)
            lines = fh.read(end - start).splitlines()
            for line in reversed(lines[1:] if start > 0 else lines):  # the first may be cut by the seek
                value = _json_object(line)
                if value is not None:
                    return value
            if start == 0:
                return None
            start = max(0, start - chunk)


def _results_file(workspace: Workspace, run_id: str) -> Path:
    paths = workspace.run(run_id)
    if not paths.dir.is_dir():
        raise InputError(workspace.unknown_run(run_id))
    if not paths.results.is_file():
        raise InputError(f"run {run_id!r} has no results yet: no {paths.results.name} in {paths.dir}")
    return paths.results


def iter_rows(workspace: Workspace | str | os.PathLike[str], run_id: str,
              columns: Sequence[str] | None = None) -> Iterator[dict]:
    """The run's results.parquet rows (only ``columns`` of them, those the file has), a batch at a time in
    memory; InputError when the run or its results cannot be found or read."""
    workspace = as_workspace(workspace)
    results = _results_file(workspace, run_id)
    try:
        # Claims, not line items: line_items.parquet (3x the rows) is not read at all.
        parquet = pq.ParquetFile(results)
        names = parquet.schema_arrow.names
        chosen = names if columns is None else [c for c in columns if c in names]
        for batch in parquet.iter_batches(batch_size=ROW_BATCH, columns=chosen):
            yield from batch.to_pylist()
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"run {run_id!r}: cannot read {results.name}: {exc}") from exc


def run_rows(workspace: Workspace | str | os.PathLike[str], run_id: str) -> list[dict]:
    """Every row of the run's results.parquet, as a list (for a small run; the report streams them)."""
    return list(iter_rows(workspace, run_id))


@dataclass(frozen=True, slots=True)
class EvaluatedRow:
    """What the evaluation reads of a result row, and no more: it holds one per claim."""

    claim_id: str
    decision: str
    reasons: tuple[str, ...]
    payout: Decimal | None


def evaluated_rows(workspace: Workspace | str | os.PathLike[str], run_id: str) -> Iterator[EvaluatedRow]:
    for row in iter_rows(workspace, run_id, ("claim_id", "decision", "reasons", "payout")):
        yield EvaluatedRow(str(row.get("claim_id")), str(row.get("decision")), tuple(row.get("reasons") or ()),
                           row.get("payout"))


def _summary(paths: RunPaths) -> tuple[RunSummary | None, str | None]:
    """The run's summary, or None and the note that says why it is not shown."""
    name = paths.summary.name
    try:
        return read_summary(paths.summary), None
    except FileNotFoundError:
        return None, f"{name} is missing: settings and LLM totals are not shown"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        # ValueError includes a JSON syntax error; the others mean a summary of another format.
        return None, f"{name} could not be read ({type(exc).__name__}: {exc}): settings and LLM totals are not shown"


def load_report_data(workspace: Workspace | str | os.PathLike[str], run_id: str) -> ReportData:
    workspace = as_workspace(workspace)
    _results_file(workspace, run_id)  # no results: nothing to report, said before anything is read
    paths = workspace.run(run_id)
    summary, note = _summary(paths)
    notes = [note] if note else []
    calls_file, checkpoints = workspace.ledger_dir / CALLS_FILE, workspace.ledger_dir / CHECKPOINTS_FILE
    calls = CallTally()
    if calls_file.is_file():
        for attempt in iter_attempts(calls_file, run_id):
            calls.add(attempt)
    else:
        notes.append(f"no {calls_file}: LLM throughput and stage times come from the timeline only")
    call_figures = calls.figures()
    claims = ClaimTally(calls.llm_s, parse_time)
    for row in iter_rows(workspace, run_id, REPORTED_COLUMNS):
        claims.add(row)
    claim_figures = claims.figures()
    timeline, origin = _timeline(paths)
    if origin is None:
        origin = min((t for t in (claim_figures.first_started, call_figures.first_started) if t is not None),
                     default=None)
    checkpoint = last_json_line(checkpoints) if checkpoints.is_file() else None
    return ReportData(workspace, paths, summary, claim_figures, call_figures, timeline, checkpoint, origin,
                      tuple(notes))


def _timeline(paths: RunPaths) -> tuple[list[dict], dt.datetime | None]:
    """The timeline's samples on one clock, and the run's start it gives (None: no timeline)."""
    timeline = list(_json_lines(paths.timeline)) if paths.timeline.is_file() else []
    timeline = [t for t in timeline if isinstance(t.get("t"), (int, float))]
    if not timeline:
        return timeline, None
    origin = None
    at = parse_time(timeline[0].get("at"))
    if at is not None:
        origin = at - dt.timedelta(seconds=float(timeline[0]["t"]))
    return _one_clock(timeline, origin), origin


COUNTERS = ("done", "requests", "tokens", "rate_limited", "retries")


def _one_clock(samples: list[dict], origin: dt.datetime | None) -> list[dict]:
    """A resumed run appends a second segment whose ``t`` and counters start again from 0: put every
    sample on the first segment's clock (from its ``at``) and carry the counters on across restarts."""
    out, offsets, last = [], dict.fromkeys(COUNTERS, 0), dict.fromkeys(COUNTERS, 0)
    for sample in samples:
        sample = dict(sample)
        at = parse_time(sample.get("at"))
        if origin is not None and at is not None:
            sample["t"] = (at - origin).total_seconds()
        for key in COUNTERS:
            value = sample.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if value + offsets[key] < last[key]:
                    offsets[key] = last[key]  # the counter restarted with the process
                sample[key] = value + offsets[key]
                last[key] = sample[key]
        out.append(sample)
    out.sort(key=lambda s: s["t"])
    return out
