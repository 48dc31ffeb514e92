"""What the run report shows, read from a workspace: results, summary, LLM attempts, timeline, checkpoint.

Reading is tolerant: the report is a view, so a missing optional file (an older run has no timeline,
a fresh ledger no checkpoint) or a torn last line becomes a note on the page, never an error. Only a run
without results is an error (there is nothing to show).

``llm_calls.jsonl`` holds every run of the workspace and may be large: it is streamed line by line and a
line is parsed only when it names the run (run ids are plain ``[A-Za-z0-9._-]`` text, so the JSON
spelling ``"<run_id>"`` is a safe prefilter); only a few small fields of each attempt are kept.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from claim_assess.errors import InputError
from claim_assess.claims.results import RESULTS_FILE, SUMMARY_FILE

TIMELINE_FILE, REPORT_FILE = "timeline.jsonl", "report.html"
CALLS_FILE, CHECKPOINTS_FILE = "llm_calls.jsonl", "checkpoints.jsonl"


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
    run_id: str
    run_dir: Path
    summary: Mapping[str, Any] | None
    rows: Sequence[Mapping[str, Any]]
    attempts: Sequence[Attempt]
    timeline: Sequence[Mapping[str, Any]]
    checkpoint: Mapping[str, Any] | None
    origin: dt.datetime | None  # t = 0 of the charts: the run's start
    notes: tuple[str, ...] = field(default_factory=tuple)  # what could not be read, for the page


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


def _json_lines(path: Path, needle: bytes | None = None) -> Iterator[dict]:
    """Objects of a JSONL file; lines that do not parse (a torn tail while a run writes) are skipped."""
    with open(path, "rb") as fh:
        for line in fh:
            if needle is not None and needle not in line:
                continue
            try:
                value = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(value, dict):
                yield value


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def read_attempts(calls_file: Path, run_id: str) -> list[Attempt]:
    attempts = []
    for record in _json_lines(calls_file, json.dumps(run_id).encode()):
        if record.get("run_id") != run_id:
            continue
        started, finished = parse_time(record.get("started_at")), parse_time(record.get("finished_at"))
        if started is None or finished is None:
            continue
        error = record.get("error")
        attempts.append(Attempt(
            claim_id=str(record.get("claim_id")),
            purpose=str(record.get("purpose") or "unknown"),
            status=str(record.get("status")),
            started=started,
            finished=finished,
            latency_ms=_int(record.get("latency_ms")),
            tokens=_int(record.get("prompt_tokens")) + _int(record.get("completion_tokens")),
            error=str(error) if error is not None else None,
        ))
    attempts.sort(key=lambda a: a.finished)
    return attempts


def last_json_line(path: Path, chunk: int = 65536) -> dict | None:
    """The last complete JSON object line of a file, reading only its end."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        start = max(0, end - chunk)
        while True:
            fh.seek(start)
            lines = fh.read(end - start).splitlines()
            for line in reversed(lines[1:] if start > 0 else lines):
                try:
                    value = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
                if isinstance(value, dict):
                    return value
            if start == 0:
                return None
            start = max(0, start - chunk)


def load_report_data(workspace: Path, run_id: str) -> ReportData:
    run_dir = workspace / "runs" / run_id
    if not (run_dir / RESULTS_FILE).is_file():
        raise InputError(f"run {run_id!r} not found: no {RESULTS_FILE} in {run_dir}")
    notes: list[str] = []
    try:
        # The page shows claims, not line items: line_items.parquet (3x the rows) is not read at all.
        rows = pq.read_table(run_dir / RESULTS_FILE).to_pylist()
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"run {run_id!r}: cannot read {RESULTS_FILE}: {exc}") from exc
    summary = None
    try:
        loaded = json.loads((run_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
        summary = loaded if isinstance(loaded, dict) else None
    except FileNotFoundError:
        notes.append(f"{SUMMARY_FILE} is missing: settings and LLM totals are not shown")
    except (OSError, json.JSONDecodeError) as exc:
        notes.append(f"{SUMMARY_FILE} could not be read: {exc}")

    ledger = workspace / "ledger"
    attempts: list[Attempt] = []
    if (ledger / CALLS_FILE).is_file():
        attempts = read_attempts(ledger / CALLS_FILE, run_id)
    else:
        notes.append(f"no {ledger / CALLS_FILE}: LLM throughput and stage times come from the timeline only")
    timeline = list(_json_lines(run_dir / TIMELINE_FILE)) if (run_dir / TIMELINE_FILE).is_file() else []
    timeline = [t for t in timeline if isinstance(t.get("t"), (int, float))]
    checkpoint = last_json_line(ledger / CHECKPOINTS_FILE) if (ledger / CHECKPOINTS_FILE).is_file() else None

    origin = None
    if timeline:
        at = parse_time(timeline[0].get("at"))
        if at is not None:
            origin = at - dt.timedelta(seconds=float(timeline[0]["t"]))
        timeline = _one_clock(timeline, origin)
    if origin is None:
        starts = [t for t in (parse_time(r.get("started_at")) for r in rows) if t is not None]
        starts += [a.started for a in attempts]
        origin = min(starts, default=None)
    return ReportData(run_id, run_dir, summary, rows, attempts, timeline, checkpoint, origin, tuple(notes))


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


# --- derived series ----------------------------------------------------------------------------------


def rate_window(duration_s: float) -> float:
    """Seconds of the trailing window a per-minute rate is measured over: long enough to smooth one
    second's burst, short enough that a short run still shows a shape (a minute for runs of 20+ minutes)."""
    return float(min(60, max(5, round(duration_s / 20))))


def rate_series(times: Sequence[float], weights: Sequence[float], *, end: float,
                window: float) -> list[tuple[float, float]]:
    """Per-minute rate of events at ``times`` (seconds, sorted) with ``weights``, once a second from 0 to
    ``end``: the amount in the trailing ``window`` seconds (nothing happened before the start), scaled to a
    minute. Like a provider's per-minute limit, a burst counts against the whole window."""
    prefix = [0.0]
    for weight in weights:
        prefix.append(prefix[-1] + weight)
    instants = [float(s) for s in range(0, int(end) + 1)]
    if end > instants[-1]:
        instants.append(float(end))
    points = []
    for t in instants:
        amount = prefix[bisect.bisect_right(times, t)] - prefix[bisect.bisect_right(times, t - window)]
        points.append((t, amount / window * 60))
    return points


def cumulative_rate(samples: Sequence[tuple[float, float]], *, window: float) -> list[tuple[float, float]]:
    """Per-minute rate from (t, cumulative count) samples over the trailing ``window`` (the count before
    the first sample is 0), as ``rate_series`` measures it."""
    times = [t for t, _ in samples]
    points = []
    for t, count in samples:
        i = bisect.bisect_right(times, t - window) - 1
        before = samples[i][1] if i >= 0 else 0.0
        points.append((t, max(0.0, count - before) / window * 60))
    return points


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return float(ordered[int(rank) - 1])
