"""The admission controller with a fake clock: how many claims the fleet keeps in flight."""

from __future__ import annotations

import pytest

from claim_assess.llm.concurrency import AdmissionController


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_grows_quickly_while_nothing_pushes_back_up_to_the_maximum():
    ctl = AdmissionController(minimum=2, maximum=40, clock=FakeClock())
    limits = [ctl.observe(backlog_s=0.0, rate_limited_total=0, inflight=ctl.limit) for _ in range(8)]
    assert limits == [3, 5, 8, 12, 18, 27, 40, 40]


def test_does_not_grow_while_the_admitted_claims_are_not_in_use():
    ctl = AdmissionController(minimum=2, maximum=40, initial=10, clock=FakeClock())
    assert ctl.observe(backlog_s=0.0, rate_limited_total=0, inflight=3) == 10


def test_a_long_backlog_shrinks_by_one_and_growth_is_additive_after_that():
    ctl = AdmissionController(minimum=2, maximum=40, initial=20, clock=FakeClock())
    assert ctl.observe(backlog_s=5.0, rate_limited_total=0, inflight=20) == 19
    assert ctl.observe(backlog_s=0.1, rate_limited_total=0, inflight=19) == 20
    assert ctl.state().congested


def test_new_429s_cut_by_a_quarter_at_most_once_per_cooldown():
    clock = FakeClock()
    ctl = AdmissionController(minimum=2, maximum=40, initial=40, clock=clock)
    assert ctl.observe(backlog_s=0.0, rate_limited_total=3, inflight=40) == 30
    clock.now += 0.25
    assert ctl.observe(backlog_s=0.0, rate_limited_total=5, inflight=30) == 30  # within the cooldown
    clock.now += 1.0
    assert ctl.observe(backlog_s=0.0, rate_limited_total=6, inflight=30) == 22
    assert ctl.observe(backlog_s=0.0, rate_limited_total=6, inflight=22) == 23  # no new 429: additive growth


def test_never_below_the_minimum():
    clock = FakeClock()
    ctl = AdmissionController(minimum=4, maximum=8, initial=8, clock=clock)
    for total in range(1, 20):
        clock.now += 2
        ctl.observe(backlog_s=10.0, rate_limited_total=total, inflight=8)
    assert ctl.limit == 4


@pytest.mark.parametrize("minimum, maximum", [(0, 4), (5, 4)])
def test_invalid_bounds_are_clear_errors(minimum, maximum):
    with pytest.raises(ValueError, match="minimum <= maximum"):
        AdmissionController(minimum=minimum, maximum=maximum)
