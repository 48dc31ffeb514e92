"""What the report takes from a run's result rows and LLM attempts, tallied as they stream past.

A run of a million claims must not cost the report a Python object per claim: the rows of results.parquet are
read a batch at a time and the attempts of llm_calls.jsonl a line at a time, each added to a tally and dropped.
What is kept grows with the claims only where a figure needs every value, and then compactly:

- per claim: its duration (8 bytes, for the exact percentiles and the histogram) and, for a claim with LLM
  attempts, the seconds its attempts spanned (a dict entry, so the stage chart can subtract them from that
  claim's duration and never let one claim's remainder go below zero);
- per attempt: its end time and tokens (16 bytes, for the per-minute rates) and its latency (8 bytes, for the
  p50/p95 per purpose), and a 429 its time, purpose and claim (the charts mark each one);
- the tables of claims keep their first ``MAX_TABLE_ROWS`` rows in the order shown (``Smallest``), with the count.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

from claim_assess.claims.decision import FAILED, REFER
from claim_assess.report.markup import MAX_TABLE_ROWS

T = TypeVar("T")
Row = Mapping[str, Any]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch_us(moment: dt.datetime) -> int:
    """Microseconds since the epoch, exactly (a float of seconds would round them)."""
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


class Smallest(Generic[T]):
    """The ``limit`` smallest items by ``key`` in order, and how many were added: a table of 500 claims out of
    a million holds about 1,000 rows at a time, not a million."""

    def __init__(self, key: Callable[[T], Any], limit: int = MAX_TABLE_ROWS) -> None:
        self._key, self._limit = key, limit
        self._kept: list[T] = []
        self.added = 0

    def add(self, item: T) -> None:
        self._kept.append(item)
        self.added += 1
        if len(self._kept) >= 2 * self._limit + 16:
            self._compact()

    def _compact(self) -> None:
        self._kept.sort(key=self._key)  # stable: equal keys keep the order they came in
        del self._kept[self._limit:]

    def items(self) -> tuple[T, ...]:
        self._compact()
        return tuple(self._kept)


def _payout_first(row: Row) -> tuple[Decimal, str]:
    """Largest proposed payout first, then by claim."""
    payout = Decimal(str(row["payout"])) if row.get("payout") is not None else Decimal(0)
    return -payout, str(row.get("claim_id"))


@dataclass(frozen=True)
class ClaimFigures:
    """The result rows of a run, tallied."""

    claims: int = 0
    decisions: Mapping[str, int] = field(default_factory=dict)
    payouts: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)  # decision -> currency -> sum
    deciding: Mapping[str, int] = field(default_factory=dict)  # reason code -> claims it decided
    applied: Mapping[str, int] = field(default_factory=dict)  # reason code -> claims it applied to
    durations_s: Sequence[float] = ()  # of the claims that have a duration, in file order
    other_s: float | None = None  # claims' time outside their LLM attempts, summed (None: no duration at all)
    referred: int = 0
    referred_rows: tuple[Row, ...] = ()  # the first MAX_TABLE_ROWS, largest proposed payout first
    failed: int = 0
    failed_rows: tuple[Row, ...] = ()  # the first MAX_TABLE_ROWS by claim id
    first_started: dt.datetime | None = None
    last_finished: dt.datetime | None = None


class ClaimTally:
    """``ClaimFigures`` built row by row. ``llm_s``: each claim's seconds in LLM attempts (``CallTally``)."""

    def __init__(self, llm_s: Mapping[str, float], parse_time: Callable[[Any], dt.datetime | None]) -> None:
        self._llm_s, self._parse_time = llm_s, parse_time
        self._decisions: Counter[str] = Counter()
        self._payouts: defaultdict[str, defaultdict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        self._deciding: Counter[str] = Counter()
        self._applied: Counter[str] = Counter()
        self._durations = array("d")
        self._other: float | None = None
        self._referred: Smallest[Row] = Smallest(_payout_first)
        self._failed: Smallest[Row] = Smallest(lambda r: str(r.get("claim_id")))
        self._first: dt.datetime | None = None
        self._last: dt.datetime | None = None

    def add(self, row: Row) -> None:
        decision = str(row.get("decision"))
        self._decisions[decision] += 1
        if row.get("currency") and row.get("payout") is not None:
            self._payouts[decision][str(row["currency"])] += Decimal(str(row["payout"]))
        self._reasons(list(row.get("reasons") or []))
        if decision == REFER:
            self._referred.add(row)
        elif decision == FAILED:
            self._failed.add(row)
        self._times(row)

    def _reasons(self, reasons: list) -> None:
        if reasons:
            self._deciding[str(reasons[0])] += 1
        for code in dict.fromkeys(map(str, reasons)):
            self._applied[code] += 1

    def _times(self, row: Row) -> None:
        duration = row.get("duration_ms")
        if isinstance(duration, int):
            self._durations.append(duration / 1000)
            spent = self._llm_s.get(str(row.get("claim_id")), 0.0)
            self._other = (self._other or 0.0) + max(0.0, duration / 1000 - spent)
        started, finished = self._parse_time(row.get("started_at")), self._parse_time(row.get("finished_at"))
        if started is not None and (self._first is None or started < self._first):
            self._first = started
        if finished is not None and (self._last is None or finished > self._last):
            self._last = finished

    def figures(self) -> ClaimFigures:
        referred, failed = self._referred.items(), self._failed.items()
        return ClaimFigures(
            claims=sum(self._decisions.values()), decisions=dict(self._decisions),
            payouts={d: dict(by) for d, by in self._payouts.items()}, deciding=dict(self._deciding),
            applied=dict(self._applied), durations_s=self._durations, other_s=self._other,
            referred=self._referred.added, referred_rows=referred, failed=self._failed.added, failed_rows=failed,
            first_started=self._first, last_finished=self._last)


@dataclass(frozen=True)
class PurposeFigures:
    """The attempts of one purpose (coverage, assessment, ...)."""

    attempts: int
    answered: int  # status 200
    tokens: int
    latencies_ms: Sequence[int]
    spent_s: float  # the spans of this purpose's attempts per claim, summed


@dataclass(frozen=True)
class CallFigures:
    """The run's LLM attempts, tallied. Times are integer microseconds since the epoch (exact, as the log's
    RFC 3339 times are), in the order the log holds them."""

    attempts: int = 0
    finished_us: Sequence[int] = ()
    tokens: Sequence[float] = ()
    purposes: Mapping[str, PurposeFigures] = field(default_factory=dict)
    problems: Mapping[tuple[str, str], tuple[int, str | None]] = field(default_factory=dict)  # (purpose, status)
    rate_limited: tuple[tuple[int, str, str], ...] = ()  # the 429s: (finished, purpose, claim), by time
    first_started: dt.datetime | None = None
    last_finished: dt.datetime | None = None


class CallTally:
    """``CallFigures`` built attempt by attempt, and each claim's seconds in LLM attempts (``llm_s``).

    A stage's time in a claim is the span from its first attempt's start to its last attempt's end (coverage
    calls of a claim run side by side; retries and back-off are part of the stage). A claim's attempts are
    logged together, with its decision, so the spans of the last ``OPEN_CLAIMS`` claims are kept open and a
    claim that falls out of them is complete; should more of its attempts come later (a claim tried again long
    after), their span is added to the first rather than joined with it."""

    OPEN_CLAIMS = 2048

    def __init__(self) -> None:
        self.llm_s: dict[str, float] = {}
        self._open: dict[str, dict[str, list[dt.datetime]]] = {}  # claim -> purpose -> [start, end], oldest first
        self._spent: defaultdict[str, float] = defaultdict(float)
        self._finished, self._tokens = array("q"), array("d")
        self._counts: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # attempts, answered, tokens
        self._latencies: defaultdict[str, array] = defaultdict(lambda: array("q"))
        self._problems: dict[tuple[str, str], list] = {}  # (purpose, status) -> [attempts, an example error]
        self._limited: list[tuple[int, str, str]] = []
        self._first: dt.datetime | None = None
        self._last: dt.datetime | None = None

    def add(self, attempt: Any) -> None:
        """``attempt``: a ``claim_assess.report.data.Attempt``."""
        finished = epoch_us(attempt.finished)
        self._finished.append(finished)
        self._tokens.append(float(attempt.tokens))
        counts = self._counts[attempt.purpose]
        counts[0] += 1
        counts[1] += attempt.status == "200"
        counts[2] += attempt.tokens
        self._latencies[attempt.purpose].append(attempt.latency_ms)
        if attempt.status != "200":
            self._problems.setdefault((attempt.purpose, attempt.status), [0, attempt.error])[0] += 1
        if attempt.status == "429":
            self._limited.append((finished, attempt.purpose, attempt.claim_id))
        self._span(attempt)
        self._first = attempt.started if self._first is None else min(self._first, attempt.started)
        self._last = attempt.finished if self._last is None else max(self._last, attempt.finished)

    def _span(self, attempt: Any) -> None:
        spans = self._open.pop(attempt.claim_id, None)  # popped and put back: the dict stays oldest first
        if spans is None:
            spans = {}
            if len(self._open) >= self.OPEN_CLAIMS:
                oldest = next(iter(self._open))
                self._close(oldest, self._open.pop(oldest))
        self._open[attempt.claim_id] = spans
        span = spans.setdefault(attempt.purpose, [attempt.started, attempt.finished])
        span[0], span[1] = min(span[0], attempt.started), max(span[1], attempt.finished)

    def _close(self, claim_id: str, spans: dict[str, list[dt.datetime]]) -> None:
        for purpose, (start, end) in spans.items():
            spent = (end - start).total_seconds()
            self._spent[purpose] += spent
            self.llm_s[claim_id] = self.llm_s.get(claim_id, 0.0) + spent

    def figures(self) -> CallFigures:
        """Every attempt added so far (the open spans are closed: call once, at the end)."""
        while self._open:
            oldest = next(iter(self._open))
            self._close(oldest, self._open.pop(oldest))
        purposes = {p: PurposeFigures(n, ok, tokens, self._latencies[p], self._spent.get(p, 0.0))
                    for p, (n, ok, tokens) in self._counts.items()}
        return CallFigures(
            attempts=len(self._finished), finished_us=self._finished, tokens=self._tokens, purposes=purposes,
            problems={k: (n, error) for k, (n, error) in self._problems.items()},
            rate_limited=tuple(sorted(self._limited)), first_started=self._first, last_finished=self._last)
