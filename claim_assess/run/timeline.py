"""runs/<run_id>/timeline.jsonl: one line per second of what the run was doing, for the report.

Written by the driver from the same snapshots the live display shows, so it costs no extra actor calls.
Fields: t (seconds since start), at (RFC 3339 UTC), done, requests, tokens, rate_limited, retries
(cumulative), paused_s (limiter pause remaining), inflight_claims, claim_limit (admission limit),
rpm_limit, tpm_limit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from claim_assess.files import cut_torn_tail
from claim_assess.run.progress import ProgressSnapshot


class TimelineWriter:
    def __init__(self, path: Path, *, every_s: float = 1.0, clock: Callable[[], float] = time.monotonic):
        cut_torn_tail(path)  # a resume appends here: a killed driver's half line would glue to its first
        self._file = path.open("a", encoding="utf-8")
        self._every = every_s
        self._clock = clock
        self._started = clock()
        self._last: float | None = None

    def add(self, snapshot: ProgressSnapshot, *, inflight: int, claim_limit: int, force: bool = False) -> bool:
        """Append a line if a second has passed since the last one (or ``force``); True if written."""
        now = self._clock()
        if not force and self._last is not None and now - self._last < self._every:
            return False
        self._last = now
        line = {
            "t": round(now - self._started, 3),
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "done": snapshot.done,
            "requests": snapshot.llm.requests,
            "tokens": snapshot.llm.tokens,
            "rate_limited": snapshot.llm.rate_limited,
            "retries": snapshot.llm.retries,
            "paused_s": round(snapshot.limiter_paused_s, 3),
            "inflight_claims": inflight,
            "claim_limit": claim_limit,
            "rpm_limit": snapshot.rpm_limit,
            "tpm_limit": snapshot.tpm_limit,
        }
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()
        return True

    def close(self) -> None:
        self._file.close()
