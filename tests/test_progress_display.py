"""The progress board and the display, driven directly: a fake clock, rendering into a string."""

from __future__ import annotations

import io

from rich.console import Console

from claim_assess.actors.progress import AttemptTick, FinishedClaim, ProgressActor, ProgressBatch
from claim_assess.drivers.display import plain_line, render, summary_table


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def board_with_work() -> tuple[ProgressActor, FakeClock]:
    clock = FakeClock()
    board = ProgressActor(clock=clock)
    board.begin(10, actors=("assessor-1", "assessor-2"), rpm=600, tpm=None, endpoint="http://127.0.0.1:1/v1", model="m")
    board.report(
        ProgressBatch(
            "assessor-1",
            stages=(("C-1", "coverage"), ("C-2", "assessment")),
            attempts=(AttemptTick(200, 100, False), AttemptTick(429, 0, False), AttemptTick(200, 50, True)),
        )
    )
    clock.now += 30
    board.report(ProgressBatch("assessor-1", finished=(FinishedClaim("C-1", "APPROVE", 900),)))
    board.report(ProgressBatch("assessor-2", finished=(FinishedClaim("C-3", "FAILED", 10),)))
    board.set_ledger_height(2)
    return board, clock


def test_snapshot_counts_decisions_requests_and_active_claims():
    board, _ = board_with_work()
    snap = board.snapshot()
    assert snap.done == 2 and snap.remaining == 8
    assert dict(snap.by_decision) == {"APPROVE": 1, "FAILED": 1}
    assert snap.requests == 3 and snap.rate_limited == 1 and snap.retries == 1
    assert snap.tokens == 150
    active = {view.name: view.claims for view in snap.actors}
    assert active == {"assessor-1": (("C-2", "assessment"),), "assessor-2": ()}
    assert snap.ledger_height == 2
    # 2 successful requests within the first 30 s -> 4 per minute.
    assert snap.requests_per_min == 4.0
    assert snap.claims_per_s == 2 / 30 and snap.eta_s == 8 / (2 / 30)


def test_a_claim_finished_twice_after_an_actor_restart_counts_once():
    board, _ = board_with_work()
    board.report(ProgressBatch("assessor-2", finished=(FinishedClaim("C-1", "APPROVE", 700),)))
    assert board.snapshot().done == 2


def test_requests_per_minute_only_counts_the_last_minute():
    board, clock = board_with_work()
    clock.now += 120
    snap = board.snapshot()
    assert snap.requests_per_min == 0 and snap.requests == 3


def test_render_shows_every_part_of_the_live_view():
    board, _ = board_with_work()
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    console.print(render(board.snapshot()))
    text = console.file.getvalue()
    for expected in ("2/10 claims", "assessor-1", "C-2 (assessment)", "idle", "APPROVE", "FAILED",
                     "of 600", "ledger height", "429s / retries / errors"):
        assert expected in text, expected


def test_plain_line_for_terminals_that_cannot_redraw():
    board, _ = board_with_work()
    line = plain_line(board.snapshot())
    assert "2/10 claims" in line and "APPROVE=1" in line and "ledger 2" in line and "\n" not in line


def test_summary_table_lists_decisions_and_file_paths():
    summary = {"run_id": "r1", "decisions": {"APPROVE": 3, "DENY": 1}, "claims": 4,
               "totals": {"CHF": {"payout": "900.00", "claimed": "1200.00", "covered": "1000.00"}}, "wall_seconds": 2.5,
               "claims_per_minute": 96.0, "llm": {"requests": 9, "prompt_tokens": 100, "completion_tokens": 20}}
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    console.print(summary_table(summary, [("results", "/w/runs/r1/results.parquet")]))
    text = console.file.getvalue()
    assert "Run r1" in text and "APPROVE" in text and "payout 900.00" in text and "CHF" in text and "/w/runs/r1/results.parquet" in text
