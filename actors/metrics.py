"""Custom metrics for the Ray dashboard (and Prometheus, which prefixes them with ``ray_``).

Every metric carries the run's id, so runs sharing a cluster stay apart. What each one means:

| metric | kind | tags | meaning |
|---|---|---|---|
| claim_assess_claims_decided | counter | decision | claims decided, by decision (FAILED included) |
| claim_assess_llm_requests | counter | status, purpose | HTTP attempts, by status (200, 429, 500, timeout, ...) |
| claim_assess_llm_tokens | counter | kind | prompt and completion tokens the provider reported |
| claim_assess_llm_latency_ms | histogram | purpose | time of each HTTP attempt |
| claim_assess_llm_inflight | gauge | actor | HTTP requests an assessor has under way |
| claim_assess_limiter_requests_level | gauge | | request budget left (negative: booked ahead) |
| claim_assess_limiter_tokens_level | gauge | | token budget left (negative: booked ahead) |
| claim_assess_limiter_backlog_s | gauge | | how far ahead the budget is booked, seconds |
| claim_assess_limiter_paused_s | gauge | | pause after a 429 still to run, seconds |
| claim_assess_admission_limit | gauge | | claims the driver lets be in flight |
| claim_assess_ledger_height | gauge | | decision records in the ledger |

Metric objects belong to the process that records them, so each actor builds its own ``RunMetrics``.
Recording never raises into the caller: a broken metrics agent must not cost a claim.

What an assessor records per attempt and per claim (requests, tokens, latency, in flight, claims decided) is
tallied here and handed to Ray at most once every ``every_s`` (and on ``flush()``): six metric calls per attempt
were a measurable share of an assessor's CPU at a few hundred requests per second, and a dashboard that scrapes
every few seconds sees the same counts. A gauge reports its last value when the tally goes out. The limiter's,
the admission and the ledger gauges are set a few times a second at most and go out at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable

from ray.util.metrics import Counter, Gauge, Histogram

from claim_assess.llm.attempts import AttemptRecord
from claim_assess.llm.ratelimit import LimiterStats

LATENCY_BOUNDARIES_MS = [25, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 30000, 60000]
FLUSH_EVERY_S = 1.0
log = logging.getLogger(__name__)


class RunMetrics:
    def __init__(self, run_id: str, *, every_s: float = FLUSH_EVERY_S, clock: Callable[[], float] = time.monotonic):
        self._run = {"run_id": run_id}
        self._every_s, self._clock = every_s, clock
        self._due_at = clock() + every_s
        self._requests_due: Tally[tuple[str, str]] = Tally()  # (status, purpose) -> attempts
        self._tokens_due: Tally[str] = Tally()  # kind -> tokens
        self._latencies_due: list[tuple[int, str]] = []  # (latency_ms, purpose): a histogram takes them one by one
        self._claims_due: Tally[str] = Tally()  # decision -> claims
        self._inflight_due: dict[str, int] = {}  # actor -> its last count
        self.claims = Counter("claim_assess_claims_decided", "claims decided, by decision", ("run_id", "decision"))
        self.requests = Counter(
            "claim_assess_llm_requests", "HTTP attempts to the LLM, by status", ("run_id", "status", "purpose")
        )
        self.tokens = Counter("claim_assess_llm_tokens", "tokens reported by the provider", ("run_id", "kind"))
        self.latency = Histogram(
            "claim_assess_llm_latency_ms", "time of each HTTP attempt", LATENCY_BOUNDARIES_MS, ("run_id", "purpose")
        )
        self.inflight = Gauge("claim_assess_llm_inflight", "HTTP requests under way", ("run_id", "actor"))
        self.requests_level = Gauge("claim_assess_limiter_requests_level", "request budget left", ("run_id",))
        self.tokens_level = Gauge("claim_assess_limiter_tokens_level", "token budget left", ("run_id",))
        self.backlog = Gauge("claim_assess_limiter_backlog_s", "budget booked ahead, seconds", ("run_id",))
        self.paused = Gauge("claim_assess_limiter_paused_s", "429 pause still to run, seconds", ("run_id",))
        self.admission = Gauge("claim_assess_admission_limit", "claims allowed in flight", ("run_id",))
        self.ledger = Gauge("claim_assess_ledger_height", "decision records in the ledger", ("run_id",))

    def _safely(self, record, *args, **kwargs) -> None:
        try:
            record(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - metrics are best effort by design
            log.debug("metric not recorded: %s", exc)

    def claim_decided(self, decision: str) -> None:
        self._claims_due[decision] += 1
        self._flush_when_due()

    def attempt(self, record: AttemptRecord) -> None:
        if record.reused_from is not None:  # answered from the ledger: no request, no latency, no tokens spent
            return
        self._requests_due[(str(record.status), record.purpose)] += 1
        self._latencies_due.append((record.latency_ms, record.purpose))
        if record.prompt_tokens:
            self._tokens_due["prompt"] += record.prompt_tokens
        if record.completion_tokens:
            self._tokens_due["completion"] += record.completion_tokens
        self._flush_when_due()

    def requests_in_flight(self, actor: str, count: int) -> None:
        self._inflight_due[actor] = count
        self._flush_when_due()

    async def keep_flushing(self, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        """Flush once a period whether or not anything happens, until cancelled. Why: tallies are otherwise handed
        over only by the next event after the period, and an assessor whose requests all hang on a slow provider has
        no next event: the dashboard showed no requests at all for exactly the run an operator is looking at."""
        while True:
            await sleep(self._every_s)
            self._flush_when_due()

    def _flush_when_due(self) -> None:
        if self._clock() >= self._due_at:
            self.flush()

    def flush(self) -> None:
        """Hand every tally to Ray now (an assessor's last reports, at the end of a run)."""
        self._due_at = self._clock() + self._every_s
        requests, self._requests_due = self._requests_due, Tally()
        tokens, self._tokens_due = self._tokens_due, Tally()
        latencies, self._latencies_due = self._latencies_due, []
        claims, self._claims_due = self._claims_due, Tally()
        inflight, self._inflight_due = self._inflight_due, {}
        for (status, purpose), count in requests.items():
            self._safely(self.requests.inc, count, {**self._run, "status": status, "purpose": purpose})
        for latency_ms, purpose in latencies:
            self._safely(self.latency.observe, latency_ms, {**self._run, "purpose": purpose})
        for kind, count in tokens.items():
            self._safely(self.tokens.inc, count, {**self._run, "kind": kind})
        for decision, count in claims.items():
            self._safely(self.claims.inc, count, {**self._run, "decision": decision})
        for actor, count in inflight.items():
            self._safely(self.inflight.set, count, {**self._run, "actor": actor})

    def limiter(self, stats: LimiterStats) -> None:
        for gauge, value in (
            (self.requests_level, stats.requests_level),
            (self.tokens_level, stats.tokens_level),
            (self.backlog, stats.backlog_s),
            (self.paused, stats.paused_for_s),
        ):
            if value is not None:
                self._safely(gauge.set, value, self._run)

    def admission_limit(self, limit: int) -> None:
        self._safely(self.admission.set, limit, self._run)

    def ledger_height(self, height: int) -> None:
        self._safely(self.ledger.set, height, self._run)
