"""What the simulator served, for ``GET /stats`` and for benchmarks that compute utilisation.

``rate_limited`` counts 429s by what refused them: the provider's "requests" and "tokens" limits, and the
"gateway" in front of it. Each ``per_second`` record holds that second's successes and their usage tokens,
admissions and their charge, and its rate-limit 429s of any kind (``insufficient_quota`` is a fault, not a
rate limit). ``first_admitted_s`` and ``last_success_s`` (seconds since start, None until they happen) let a
benchmark measure a run's span to the millisecond rather than to the second.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

RATE_LIMIT_KINDS = ("requests", "tokens", "gateway")


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


class SimStats:
    """Counters kept on the server's loop and read from any thread (hence the lock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time):
        self._lock = threading.Lock()
        self._clock = clock
        self._t0 = clock()
        self.started_unix = wall_clock()
        self._counts: Counter[str] = Counter()
        self._rate_limited: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()
        # second since start -> counts; successes and their usage tokens, admissions and their charge, 429s.
        self._per_second: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self._first_admitted: float | None = None
        self._last_success: float | None = None

    def _elapsed(self) -> float:
        return self._clock() - self._t0

    def request(self) -> None:
        with self._lock:
            self._counts["requests"] += 1

    def rejected(self, status: int) -> None:
        with self._lock:
            self._rejected[str(status)] += 1

    def rate_limited(self, kind: str) -> None:
        with self._lock:
            self._rate_limited[kind] += 1
            self._per_second[int(self._elapsed())]["rate_limited"] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def admitted(self, charged_tokens: int) -> None:
        with self._lock:
            elapsed = self._elapsed()
            if self._first_admitted is None:
                self._first_admitted = elapsed
            bucket = self._per_second[int(elapsed)]
            bucket["admitted"] += 1
            bucket["charged_tokens"] += charged_tokens

    def success(self, prompt_tokens: int, completion_tokens: int) -> None:
        with self._lock:
            self._counts["successes"] += 1
            self._counts["prompt_tokens"] += prompt_tokens
            self._counts["completion_tokens"] += completion_tokens
            self._last_success = elapsed = self._elapsed()
            bucket = self._per_second[int(elapsed)]
            bucket["successes"] += 1
            bucket["tokens"] += prompt_tokens + completion_tokens

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "started_unix": self.started_unix,
                "uptime_s": round(self._elapsed(), 3),
                "first_admitted_s": _rounded(self._first_admitted),
                "last_success_s": _rounded(self._last_success),
                "requests": self._counts["requests"],
                "successes": self._counts["successes"],
                "rate_limited": {kind: self._rate_limited[kind] for kind in RATE_LIMIT_KINDS},
                "faults": dict(sorted(self._faults.items())),
                "rejected": dict(sorted(self._rejected.items())),
                "prompt_tokens": self._counts["prompt_tokens"],
                "completion_tokens": self._counts["completion_tokens"],
                "per_second": [
                    {"t": t, "successes": c["successes"], "tokens": c["tokens"],
                     "admitted": c["admitted"], "charged_tokens": c["charged_tokens"],
                     "rate_limited": c["rate_limited"]}
                    for t, c in sorted(self._per_second.items())
                ],
            }
