"""Step 3 of a run: the result files, summary.json and report.html, from the journal, in one pass.

It runs after a complete run and after a stopped one alike (partial result files are what a resume builds on),
so every claim the journal holds (this invocation's and earlier ones') is in the result files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from rich.console import Console

from claim_assess.claims.results import ItemRow, ResultRow, write_results_in_batches
from claim_assess.errors import ClaimAssessError
from claim_assess.report import write_report
from claim_assess.run import phases
from claim_assess.run.execute import ExecutedRun
from claim_assess.run.journal import journaled_claims
from claim_assess.run.prepare import PreparedRun
from claim_assess.run.summary import RunFiles, RunSummary, SummaryTally, write_summary

log = logging.getLogger(__name__)
BATCH_ROWS = 1000
COUNT_WAIT_S = 600.0


def finalize(prepared: PreparedRun, executed: ExecutedRun, console: Console | None = None) -> RunSummary:
    settings, paths = prepared.settings, prepared.settings.paths
    tally = SummaryTally()
    phases.enter("results")  # test/operations aid (run.phases): marks each file's phase; no-op unset
    write_results_in_batches(paths.results, paths.line_items, _batches(paths.journal, tally))
    # A run stopped part-way has not read the rest of the dataset: those claims count as undecided, so the count
    # of the dataset's entries is needed (waited for; it runs beside the run and is long done in practice).
    if not prepared.selection.exhausted:
        prepared.count.start()  # a run stopped before its first tick never started it
    count = None if prepared.selection.exhausted else prepared.count.result(wait_s=COUNT_WAIT_S)
    undecided = prepared.selection.undecided(count)  # the selection knows which claims it handed out came back
    complete = executed.stopped is None and undecided == 0
    # FAILED claims whose cause was not their input are assessed again by a resume (the ledger lets a FAILED
    # decision be followed by another), so such a run, complete or not, names the command.
    retry_failed = any(cause != "input" for cause in tally.failures)
    summary = RunSummary(
        run_id=settings.run_id,
        complete=complete,
        resumed=prepared.resuming,
        claims=tally.claims,
        undecided=undecided,
        decisions=tally.decisions(),
        failed_by_cause=dict(tally.failures),
        totals=dict(tally.totals),
        wall_seconds=executed.wall_seconds,
        llm=tally.llm,
        ledger_height=executed.ledger_height,
        checkpoint=executed.checkpoint,
        endpoint=executed.endpoint,
        settings=executed.settings,
        limiter=executed.limiter_pacing,
        files=RunFiles(results=str(paths.results), line_items=str(paths.line_items), summary=str(paths.summary),
                       report=str(paths.report), timeline=str(paths.timeline), ledger=str(settings.ledger_dir)),
        stopped=None if complete else executed.stopped or f"{undecided} claims were not decided",
        resume_command=None if complete and not retry_failed else settings.resume_command(),
    )
    phases.enter("summary")
    write_summary(summary)
    phases.enter("report")
    try:
        write_report(settings.workspace, settings.run_id)
    except (ClaimAssessError, OSError) as exc:  # the report is a view: the run's files stand without it
        log.warning("report not written: %s", exc)
        if console is not None:
            console.print(f"[yellow]report not written:[/] {exc}", soft_wrap=True)
    return summary


def _batches(journal, tally: SummaryTally) -> Iterator[tuple[list[ResultRow], list[ItemRow]]]:
    rows: list[ResultRow] = []
    items: list[ItemRow] = []
    for claim in journaled_claims(journal):
        tally.add(claim.row, claim.usage, claim.failure)
        rows.append(claim.row)
        items.extend(claim.items)
        if len(rows) >= BATCH_ROWS:
            yield rows, items
            rows, items = [], []
    yield rows, items
