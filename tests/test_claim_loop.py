"""The claim loop and its failure rule, without Ray: a fake fleet that answers as a script says.

The fake stands in for actors/fleet.py (the thing under test is the loop: admission, retries, poison pills,
stops, cancellation); the Ray facade itself is exercised by the integration and resilience tests.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from decimal import Decimal

import pytest

from claim_assess.claims.dataset import ClaimEntry
from claim_assess.claims.results import ResultRow
from claim_assess.llm.accounting import LLMUsage
from claim_assess.llm.concurrency import AdmissionController
from claim_assess.llm.ratelimit import LimiterStats
from claim_assess.run.claim_loop import run_claims
from claim_assess.run.failures import (MAX_DEATHS_PER_CLAIM, MAX_UNAVAILABLE_PER_CLAIM, UNAVAILABLE_CLAIMS_TO_STOP,
                                       Action, ClaimError, EndpointHealth, Lost, verdict)
from claim_assess.run.outcome import ClaimOutcome

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def entry(n: int) -> ClaimEntry:
    return ClaimEntry(n, f"claims.jsonl line {n + 1}", f"C-{n}", {"claim_id": f"C-{n}"}, None)


def outcome(claim_id: str, decision: str = "APPROVE", actor: str = "assessor-1", succeeded: int = 1) -> ClaimOutcome:
    row = ResultRow("r", claim_id, "P-1", decision, (), Decimal("0.00"), "CHF", None, None, None, None, 0, 0, 0,
                    NOW, NOW, 0, actor, None, None if decision != "FAILED" else "x")
    return ClaimOutcome(row, (), 0, LLMUsage(requests=succeeded, succeeded=succeeded))


def stats(**over) -> LimiterStats:
    values = dict(rpm_limit=None, tpm_limit=None, requests_granted=0, tokens_reserved=0, tokens_refunded=0,
                  requests_level=None, tokens_level=None, paused_for_s=0.0, backlog_s=0.0, rate_limited=0,
                  rate_limited_requests=0, rate_limited_tokens=0, outstanding=0, limits_learned=False,
                  quota_exhausted=None)
    values.update(over)
    return LimiterStats(**values)


class ScriptedFleet:
    """Claims finish in submission order, one per ``wait``; ``script[claim_id]`` lists what each try returns."""

    def __init__(self, script: dict[str, list] | None = None, *, limiter=None, refuse_first: int = 0):
        self.script = {k: deque(v) for k, v in (script or {}).items()}
        self.limiter = limiter or (lambda: stats())
        self.refuse = refuse_first  # submits answered "no assessor free" first (all restarting)
        self.inflight: deque[tuple[int, ClaimEntry]] = deque()
        self.submitted: list[str] = []
        self.cancelled: list[int] = []
        self.failed: list[tuple[str, str]] = []
        self.peak = 0
        self._tickets = iter(range(10**6))

    def submit(self, e: ClaimEntry):
        if self.refuse:
            self.refuse -= 1
            return None
        ticket = next(self._tickets)
        self.inflight.append((ticket, e))
        self.submitted.append(e.claim_id)
        self.peak = max(self.peak, len(self.inflight))
        return ticket

    def wait(self, timeout_s: float):
        if not self.inflight:
            return []
        ticket, e = self.inflight.popleft()
        if ticket in self.cancelled:
            return [(ticket, ClaimError(Lost.CANCELLED, "cancelled"))]
        planned = self.script.get(e.claim_id)
        result = planned.popleft() if planned else outcome(e.claim_id)
        return [(ticket, result)]

    def cancel(self, tickets):
        self.cancelled.extend(tickets)

    def record_failed(self, e: ClaimEntry, error: str) -> ClaimOutcome:
        self.failed.append((e.claim_id, error))
        return outcome(e.claim_id, "FAILED", actor="driver")

    def limiter_stats(self):
        return self.limiter()


def drive(fleet, n: int, *, limit: int = 3, should_stop=lambda: False):
    got: list[ClaimOutcome] = []
    admission = AdmissionController(minimum=limit, maximum=limit)
    stopped = run_claims(fleet, [entry(i) for i in range(n)], admission=admission, on_outcome=got.append,
                         should_stop=should_stop, tick_s=0.0)
    return stopped, got


def test_every_claim_comes_back_once_and_in_flight_stays_within_the_admission_limit():
    fleet = ScriptedFleet()
    stopped, got = drive(fleet, 20, limit=3)
    assert stopped is None
    assert sorted(o.row.claim_id for o in got) == sorted(f"C-{i}" for i in range(20))
    assert fleet.peak == 3


def test_a_claim_whose_assessor_died_is_tried_again_first():
    lost = ClaimError(Lost.LOST, "ActorDiedError: assessor-1", died=True)
    fleet = ScriptedFleet({"C-0": [lost, outcome("C-0")]})
    stopped, got = drive(fleet, 5, limit=1)
    assert stopped is None and [o.row.claim_id for o in got] == ["C-0", "C-1", "C-2", "C-3", "C-4"]
    assert fleet.submitted[:2] == ["C-0", "C-0"]  # back at the head of the queue, before C-1


def test_a_claim_that_kills_every_assessor_is_recorded_failed_and_the_run_goes_on():
    lost = ClaimError(Lost.LOST, "ActorDiedError: boom", died=True)
    fleet = ScriptedFleet({"C-1": [lost] * (MAX_DEATHS_PER_CLAIM + 1)})
    stopped, got = drive(fleet, 3)
    assert stopped is None
    assert fleet.submitted.count("C-1") == MAX_DEATHS_PER_CLAIM + 1
    (claim_id, error), = fleet.failed
    assert claim_id == "C-1" and error.startswith(f"assessors died {MAX_DEATHS_PER_CLAIM + 1} times")
    assert {o.row.claim_id: o.row.decision for o in got} == {"C-0": "APPROVE", "C-1": "FAILED", "C-2": "APPROVE"}


def test_restarting_without_dying_never_makes_a_claim_a_poison_pill():
    restarting = ClaimError(Lost.LOST, "ActorUnavailableError: restarting", died=False)
    fleet = ScriptedFleet({"C-0": [restarting] * (MAX_DEATHS_PER_CLAIM + 3)})
    stopped, got = drive(fleet, 1)
    assert stopped is None and fleet.failed == [] and got[0].row.decision == "APPROVE"


def test_quota_stops_the_run_cancels_what_is_in_flight_and_starts_nothing_new():
    fleet = ScriptedFleet({"C-0": [ClaimError(Lost.QUOTA, "insufficient_quota: out of credit")]})
    stopped, got = drive(fleet, 10, limit=3)
    assert stopped == "insufficient_quota: out of credit"
    assert fleet.submitted == ["C-0", "C-1", "C-2"]  # nothing after the stop
    assert sorted(fleet.cancelled) == [1, 2]  # the other two in flight
    assert got == []  # the cancelled claims stay undecided for a resume


def test_a_quota_error_seen_by_the_limiter_stops_the_run_too():
    fleet = ScriptedFleet(limiter=lambda: stats(quota_exhausted="the provider reports insufficient_quota"))
    stopped, _ = drive(fleet, 10, limit=2)
    assert stopped == "the provider reports insufficient_quota" and len(fleet.submitted) == 2


def test_an_interrupt_stops_admitting_and_lets_the_claims_in_flight_come_back():
    asked = iter([False, False, True])
    fleet = ScriptedFleet()
    stopped, got = drive(fleet, 10, limit=2, should_stop=lambda: next(asked, True))
    assert stopped == "interrupted" and len(fleet.submitted) < 10
    assert len(got) + len(fleet.cancelled) == len(fleet.submitted)  # every claim in flight came back or was cancelled


def test_an_unexpected_error_stops_the_run_naming_it():
    fleet = ScriptedFleet({"C-0": [ClaimError(Lost.ERROR, "LedgerWriteError: fsync failed")]})
    stopped, _ = drive(fleet, 4, limit=1)
    assert stopped == "LedgerWriteError: fsync failed" and fleet.submitted == ["C-0"]


def test_while_every_assessor_restarts_the_loop_waits_instead_of_dropping_claims():
    fleet = ScriptedFleet(refuse_first=3)
    stopped, got = drive(fleet, 2, limit=2)
    assert stopped is None and len(got) == 2


@pytest.mark.parametrize(("error", "deaths", "stopping", "action"), [
    (ClaimError(Lost.CANCELLED, "x"), 0, False, Action.DROP),
    (ClaimError(Lost.INTERRUPTED, "x"), 0, True, Action.DROP),
    (ClaimError(Lost.INTERRUPTED, "x"), 0, False, Action.RETRY),
    (ClaimError(Lost.LOST, "x", died=True), MAX_DEATHS_PER_CLAIM - 1, False, Action.RETRY),
    (ClaimError(Lost.LOST, "x", died=True), MAX_DEATHS_PER_CLAIM, False, Action.RECORD_FAILED),
    (ClaimError(Lost.LOST, "x", died=False), MAX_DEATHS_PER_CLAIM, False, Action.RETRY),
    (ClaimError(Lost.QUOTA, "x"), 0, False, Action.STOP),
    (ClaimError(Lost.REJECTED, "x"), 0, False, Action.STOP),
    (ClaimError(Lost.UNAVAILABLE, "x"), 0, False, Action.REQUEUE),
    (ClaimError(Lost.UNAVAILABLE, "x"), 0, True, Action.DROP),
    (ClaimError(Lost.ERROR, "x"), 0, True, Action.STOP),
])
def test_the_failure_rule(error, deaths, stopping, action):
    assert verdict(error, deaths=deaths, stopping=stopping).action is action


def test_the_dataset_is_pulled_only_as_claims_are_admitted():
    """A stream of a million claims costs the loop what is in flight: never more read than admitted plus one."""
    pulled: list[int] = []

    def stream():
        for i in range(1_000_000):
            pulled.append(i)
            yield entry(i)

    fleet = ScriptedFleet()
    admission = AdmissionController(minimum=3, maximum=3)
    seen_at_first_outcome: list[int] = []

    def on_outcome(o):
        seen_at_first_outcome.append(len(pulled))

    stopped = run_claims(fleet, stream(), admission=admission, on_outcome=on_outcome,
                         should_stop=lambda: len(seen_at_first_outcome) >= 5, tick_s=0.0)
    assert stopped == "interrupted"
    assert seen_at_first_outcome[0] <= 3 + 1  # three admitted, at most one read ahead
    assert len(pulled) <= len(fleet.submitted) + 1 < 20


def test_a_dataset_that_fails_part_way_stops_the_run_and_keeps_what_was_decided():
    from claim_assess.errors import DatasetError

    def stream():
        for i in range(4):
            yield entry(i)
        raise DatasetError("s3://bucket/data/claims.jsonl: cannot read after line 4: connection reset")

    fleet = ScriptedFleet()
    got: list[ClaimOutcome] = []
    stopped = run_claims(fleet, stream(), admission=AdmissionController(minimum=2, maximum=2),
                         on_outcome=got.append, tick_s=0.0)
    assert stopped.startswith("the dataset could not be read further: s3://bucket/data/claims.jsonl")
    assert sorted(o.row.claim_id for o in got) == ["C-0", "C-1", "C-2", "C-3"]  # in flight at the failure: finished
    assert fleet.cancelled == []


# --- the endpoint, not the claim: a refused configuration, an endpoint that stays unavailable ------------------


UNAVAILABLE = ClaimError(Lost.UNAVAILABLE, "gave up after 6 attempts: last status connection_error")


def test_a_refused_configuration_stops_the_run_at_once_and_records_nothing():
    message = "http://x/v1 refused the run's configuration (HTTP 401 invalid_api_key: 'Incorrect API key')"
    fleet = ScriptedFleet({"C-0": [ClaimError(Lost.REJECTED, message)]})
    stopped, got = drive(fleet, 10, limit=3)
    assert stopped == message
    assert fleet.submitted == ["C-0", "C-1", "C-2"] and sorted(fleet.cancelled) == [1, 2]
    assert got == [] and fleet.failed == []  # no FAILED decision: the claims never had a fair try


def test_the_endpoint_failing_several_claims_in_a_row_stops_the_run_without_failing_them():
    fleet = ScriptedFleet({f"C-{i}": [UNAVAILABLE] * 3 for i in range(10)})  # a dead endpoint fails every try
    stopped, got = drive(fleet, 10, limit=1)
    assert stopped is not None and f"failed {UNAVAILABLE_CLAIMS_TO_STOP} claims in a row" in stopped
    assert "connection_error" in stopped  # the last give-up's words
    assert got == [] and fleet.failed == []
    # One at a time: each claim's next try waits its turn (one claim later, the admission limit), and each is tried
    # MAX_UNAVAILABLE_PER_CLAIM + 1 times at most; the third distinct claim shows the pattern and stops the run.
    assert fleet.submitted == ["C-0", "C-1", "C-0", "C-1", "C-0", "C-1", "C-2"]
    assert max(fleet.submitted.count(c) for c in fleet.submitted) == MAX_UNAVAILABLE_PER_CLAIM + 1


def test_a_blip_on_one_claim_is_tried_again_later_and_never_stops_the_run():
    fleet = ScriptedFleet({"C-0": [UNAVAILABLE]})
    stopped, got = drive(fleet, 4, limit=1)
    assert stopped is None
    assert sorted(o.row.claim_id for o in got) == ["C-0", "C-1", "C-2", "C-3"]
    assert fleet.submitted == ["C-0", "C-1", "C-0", "C-2", "C-3"]  # tried again after its turn, not at once


def test_a_successful_call_between_give_ups_means_blips_not_a_dead_endpoint():
    # C-0 and C-2 give up, C-1 succeeds in between, then C-3 gives up: never three in a row, so the run goes on.
    fleet = ScriptedFleet({"C-0": [UNAVAILABLE], "C-2": [UNAVAILABLE], "C-3": [UNAVAILABLE]})
    stopped, got = drive(fleet, 5, limit=1)
    assert stopped is None and len(got) == 5 and fleet.failed == []


def test_a_claim_the_endpoint_keeps_failing_is_left_undecided_not_failed():
    fleet = ScriptedFleet({"C-0": [UNAVAILABLE] * (MAX_UNAVAILABLE_PER_CLAIM + 1)})  # the others succeed
    stopped, got = drive(fleet, 6, limit=1)
    assert stopped is None
    assert fleet.submitted.count("C-0") == MAX_UNAVAILABLE_PER_CLAIM + 1
    assert "C-0" not in {o.row.claim_id for o in got} and fleet.failed == []  # undecided: a resume tries it again


def test_endpoint_health_counts_distinct_claims_since_the_last_success():
    health = EndpointHealth(claims_to_stop=3)
    assert health.gave_up("A", "x") is None
    assert health.gave_up("A", "x") is None  # the same claim twice is one claim
    assert health.gave_up("B", "x") is None
    health.answered()
    assert health.gave_up("C", "x") is None and health.gave_up("D", "x") is None
    assert "failed 3 claims in a row" in health.gave_up("E", "last words")
