"""What the simulator served, for ``GET /stats`` and for benchmarks that compute utilisation."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any


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
        # second since start -> counts; successes and their usage tokens, admissions and their charge.
        self._per_second: defaultdict[int, Counter[str]] = defaultdict(Counter)

    def _second(self) -> int:
        return int(self._clock() - self._t0)

    def request(self) -> None:
        with self._lock:
            self._counts["requests"] += 1

    def rejected(self, status: int) -> None:
        with self._lock:
            self._rejected[str(status)] += 1

    def rate_limited(self, kind: str) -> None:
        with self._lock:
            self._rate_limited[kind] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def admitted(self, charged_tokens: int) -> None:
        with self._lock:
            bucket = self._per_second[self._second()]
            bucket["admitted"] += 1
            bucket["charged_tokens"] += charged_tokens

    def success(self, prompt_tokens: int, completion_tokens: int) -> None:
        with self._lock:
            self._counts["successes"] += 1
            self._counts["prompt_tokens"] += prompt_tokens
            self._counts["completion_tokens"] += completion_tokens
            bucket = self._per_second[self._second()]
            bucket["successes"] += 1
            bucket["tokens"] += prompt_tokens + completion_tokens

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "started_unix": self.started_unix,
                "uptime_s": round(self._clock() - self._t0, 3),
                "requests": self._counts["requests"],
                "successes": self._counts["successes"],
                "rate_limited": {"requests": self._rate_limited["requests"], "tokens": self._rate_limited["tokens"]},
                "faults": dict(sorted(self._faults.items())),
                "rejected": dict(sorted(self._rejected.items())),
                "prompt_tokens": self._counts["prompt_tokens"],
                "completion_tokens": self._counts["completion_tokens"],
                "per_second": [
                    {"t": t, "successes": c["successes"], "tokens": c["tokens"],
                     "admitted": c["admitted"], "charged_tokens": c["charged_tokens"]}
                    for t, c in sorted(self._per_second.items())
                ],
            }
