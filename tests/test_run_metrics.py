"""RunMetrics tallies an assessor's per-attempt and per-claim figures and hands them to Ray once per interval: the
dashboard sees the same totals, from a handful of metric calls a second instead of six per attempt."""

from __future__ import annotations

import asyncio

import pytest

from claim_assess.actors.metrics import RunMetrics
from claim_assess.llm.attempts import AttemptRecord
from test_shared_limiter import FakeClock


class Recorded:
    """Stands in for one Ray metric object: what was handed to it (the Ray side is Ray's to test)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, dict]] = []

    def inc(self, value, tags):
        self.calls.append((value, tags))

    observe = set = inc


def attempt(status=200, purpose="coverage", latency_ms=12, prompt=100, completion=30) -> AttemptRecord:
    return AttemptRecord(call_id="call_1", run_id="r1", claim_id="C-1", purpose=purpose, item_id=None, attempt=1,
                         model="m", endpoint="http://127.0.0.1:1/v1", request={}, response="{}", status=status,
                         error=None, prompt_tokens=prompt, completion_tokens=completion, latency_ms=latency_ms,
                         started_at="", finished_at="")


def metrics(clock) -> RunMetrics:
    m = RunMetrics("r1", every_s=1.0, clock=clock)
    for name in ("requests", "tokens", "latency", "claims", "inflight"):
        setattr(m, name, Recorded())
    return m


def test_attempts_are_tallied_and_handed_over_once_the_interval_is_up():
    clock = FakeClock()
    m = metrics(clock)
    for latency in (10, 20, 30):
        m.attempt(attempt(latency_ms=latency))
    m.attempt(attempt(status=500, purpose="assessment", prompt=None, completion=None))
    m.requests_in_flight("assessor-1", 3)
    m.claim_decided("APPROVE")
    assert m.requests.calls == m.latency.calls == m.claims.calls == []  # nothing yet: within the interval
    clock.now = 1.0
    m.requests_in_flight("assessor-1", 2)  # the next event after the interval sends everything
    run = {"run_id": "r1"}
    assert sorted(m.requests.calls, key=str) == sorted([
        (3, run | {"status": "200", "purpose": "coverage"}), (1, run | {"status": "500", "purpose": "assessment"})
    ], key=str)
    assert [v for v, _ in m.latency.calls] == [10, 20, 30, 12]  # a histogram still sees every attempt
    assert sorted(m.tokens.calls, key=str) == sorted([(300, run | {"kind": "prompt"}),
                                                      (90, run | {"kind": "completion"})], key=str)
    assert m.claims.calls == [(1, run | {"decision": "APPROVE"})]
    assert m.inflight.calls == [(2, run | {"actor": "assessor-1"})]  # a gauge: its last value


def test_flush_sends_what_is_left_and_nothing_twice():
    clock = FakeClock()
    m = metrics(clock)
    m.claim_decided("DENY")
    m.flush()
    m.flush()
    assert m.claims.calls == [(1, {"run_id": "r1", "decision": "DENY"})]


def test_a_broken_metrics_agent_never_reaches_the_caller():
    clock = FakeClock()
    m = metrics(clock)

    class Broken:
        def inc(self, *args):
            raise RuntimeError("agent gone")

    m.requests = Broken()
    m.attempt(attempt())
    m.flush()  # no exception


def test_tallies_reach_ray_once_a_period_even_when_nothing_else_happens():
    """An assessor whose requests all hang has no next event: the period alone must hand its tallies over."""
    clock = FakeClock()
    m = metrics(clock)
    m.attempt(attempt())
    periods: list[float] = []

    async def one_period_passes(seconds: float) -> None:
        periods.append(seconds)
        clock.now += seconds
        if len(periods) == 3:
            raise asyncio.CancelledError  # the actor's task is cancelled when it ends

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(m.keep_flushing(sleep=one_period_passes))
    assert periods == [1.0, 1.0, 1.0]
    assert m.requests.calls == [(1, {"run_id": "r1", "status": "200", "purpose": "coverage"})]  # once, not thrice
