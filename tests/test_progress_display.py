"""The progress board, the assessors' reporter and the display, driven directly: a fake clock, rendering into a
string."""

from __future__ import annotations

import io

from rich.console import Console

import asyncio
from decimal import Decimal

from claim_assess.llm.accounting import OK, LLMUsage
from claim_assess.llm.attempts import AttemptRecord
from claim_assess.llm.retry import ErrorKind
from claim_assess.run.display import plain_line, render, show_summary, summary_table
from claim_assess.run.progress import FinishedClaim, ProgressBatch, ProgressBoard, ProgressReporter
from claim_assess.run.settings import RunSettings
from claim_assess.run.summary import MoneyTotals, RunFiles, RunSummary


def attempt(kind: str, tokens: int, n: int = 1) -> LLMUsage:
    return LLMUsage.of(kind=kind, attempt=n, latency_ms=5, prompt_tokens=tokens, completion_tokens=0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def board_with_work() -> tuple[ProgressBoard, FakeClock]:
    clock = FakeClock()
    board = ProgressBoard(clock=clock)
    board.begin(10, actors=("assessor-1", "assessor-2"), rpm=600, tpm=None, endpoint="http://127.0.0.1:1/v1", model="m")
    board.report(
        ProgressBatch(
            "assessor-1",
            stages=(("C-1", "coverage"), ("C-2", "assessment")),
            usage=attempt(OK, 100) + attempt(ErrorKind.RATE_LIMIT_REQUESTS.value, 0) + attempt(OK, 50, n=2),
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
    assert snap.llm.requests == 3 and snap.llm.rate_limited == 1 and snap.llm.retries == 1
    assert snap.llm.tokens == 150
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
    assert snap.requests_per_min == 0 and snap.llm.requests == 3


def test_render_shows_every_part_of_the_live_view():
    board, _ = board_with_work()
    board.set_limiter(rpm=600, tpm=None, paused_s=0.0, pacing=("requests: paced evenly at 588/min (per second)",))
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    console.print(render(board.snapshot()))
    text = console.file.getvalue()
    for expected in ("2/10 claims", "assessor-1", "C-2 (assessment)", "idle", "APPROVE", "FAILED",
                     "of 600", "ledger height", "429s / retries / errors", "rate limiter",
                     "requests: paced evenly at 588/min (per second)"):
        assert expected in text, expected


def test_plain_line_for_terminals_that_cannot_redraw():
    board, _ = board_with_work()
    line = plain_line(board.snapshot())
    assert "2/10 claims" in line and "APPROVE=1" in line and "ledger 2" in line and "\n" not in line


def _summary(**over) -> RunSummary:
    files = RunFiles(*(f"/w/runs/r1/{name}" for name in ("results.parquet", "line_items.parquet", "summary.json",
                                                          "report.html", "timeline.jsonl")), ledger="/w/ledger")
    fields = dict(run_id="r1", complete=True, resumed=False, claims=4, undecided=0,
                  decisions={"APPROVE": 3, "PARTIAL": 0, "DENY": 1, "REFER": 0, "FAILED": 0},
                  totals={"CHF": MoneyTotals(Decimal("900.00"), Decimal("1200.00"), Decimal("1000.00"))},
                  wall_seconds=2.5, llm=LLMUsage(requests=9, succeeded=9, prompt_tokens=100, completion_tokens=20),
                  ledger_height=4, checkpoint=None, endpoint="http://127.0.0.1:1/v1",
                  settings=RunSettings(input="/d", workspace="/w", run_id="r1"), files=files)
    fields.update(over)
    return RunSummary(**fields)


def test_summary_table_lists_decisions_and_file_paths():
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    console.print(summary_table(_summary(), [("results", "/w/runs/r1/results.parquet")]))
    text = console.file.getvalue()
    assert "Run r1" in text and "APPROVE" in text and "payout 900.00" in text and "CHF" in text and "/w/runs/r1/results.parquet" in text
    assert "96.0 claims/min" in text and "9 requests · 120 tokens" in text


def test_an_incomplete_run_says_why_and_how_to_resume():
    summary = _summary(complete=False, undecided=2, stopped="insufficient_quota",
                       resume_command="claim-assess assess --resume --run r1 --workspace /w")
    console = Console(file=io.StringIO(), width=200, force_terminal=False, color_system=None)
    show_summary(console, summary)
    text = console.file.getvalue()
    assert "stopped before every claim was decided: insufficient_quota" in text
    assert "resume it with: claim-assess assess --resume --run r1 --workspace /w" in text
    assert "claim-assess verify --workspace /w" in text


def _record(outcome: str, attempt_no: int = 1) -> AttemptRecord:
    return AttemptRecord("call_0", "r", "C-1", "coverage", "L1", attempt_no, "m", "http://x/v1", {}, None, 200, None,
                         10, 2, 7, "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.007Z", outcome)


def test_the_reporter_sends_one_batch_per_flush_and_nothing_when_idle():
    sent: list[ProgressBatch] = []

    async def go():
        reporter = ProgressReporter("assessor-1", sent.append, every_s=3600)  # only explicit flushes send here
        reporter.stage("C-1", "coverage")
        reporter.attempt(_record(OK))
        reporter.attempt(_record(ErrorKind.TRANSIENT.value, 2))
        reporter.finished(FinishedClaim("C-1", "APPROVE", 12))
        assert sent == []  # buffered, not one message per event
        reporter.flush()
        reporter.flush()  # nothing new: nothing sent

    asyncio.run(go())
    (batch,) = sent
    assert batch.actor == "assessor-1" and batch.stages == (("C-1", "coverage"),)
    assert batch.usage == _record(OK).usage + _record(ErrorKind.TRANSIENT.value, 2).usage
    assert (batch.usage.requests, batch.usage.retries, batch.usage.transient_errors) == (2, 1, 1)
    assert batch.finished == (FinishedClaim("C-1", "APPROVE", 12),)


def test_a_batch_carries_each_claims_latest_stage_and_the_board_ends_in_the_same_state():
    sent: list[ProgressBatch] = []
    stages = [("C-1", "start"), ("C-2", "start"), ("C-1", "coverage"), ("C-3", "start"), ("C-2", "assessment"),
              ("C-3", ""), ("C-1", "ledger")]

    async def go():
        reporter = ProgressReporter("assessor-1", sent.append, every_s=3600)
        for claim_id, stage in stages:
            reporter.stage(claim_id, stage)
        reporter.flush()

    asyncio.run(go())
    (batch,) = sent
    assert batch.stages == (("C-1", "ledger"), ("C-2", "assessment"), ("C-3", ""))
    coalesced, stepwise = ProgressBoard(clock=lambda: 0.0), ProgressBoard(clock=lambda: 0.0)
    coalesced.report(batch)
    stepwise.report(ProgressBatch("assessor-1", tuple(stages)))
    assert coalesced.snapshot().actors == stepwise.snapshot().actors
