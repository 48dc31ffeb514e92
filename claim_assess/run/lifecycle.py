"""A whole run: prepare, execute, finalize, and the exit code that says what happened.

Exit codes: 0 every claim got a decision and none FAILED for a reason other than its input (a claim with bad
input is decided FAILED with an error naming the field); 1 the run stopped before every claim was decided (the
summary says why and how to resume); 3 every claim got a decision, but some FAILED for the model's answers, a
refusal of their request or the engine (a resume assesses them again); 130 / 143 stopped by Ctrl-C / SIGTERM.
Bad flags, configuration, a dataset that cannot be read, or an endpoint that fails the preflight raise
ConfigError / InputError before any actor starts (the driver exits 2).
"""

from __future__ import annotations

import logging

from rich.console import Console

from claim_assess.run import phases
from claim_assess.run.execute import execute
from claim_assess.run.finalize import finalize
from claim_assess.run.prepare import PreparedRun, prepare
from claim_assess.run.settings import RunSettings
from claim_assess.run.summary import RunSummary

log = logging.getLogger(__name__)
EXIT_COMPLETE, EXIT_INCOMPLETE, EXIT_FAILED_CLAIMS = 0, 1, 3
COUNT_WAIT_S = 0.2  # long enough to count a sample-sized dataset, short beside a start of seconds


def run_assessment(settings: RunSettings, console: Console, *, resuming: bool = False, quiet: bool = False,
                   log_level: str = "WARNING", preflight: bool = True) -> tuple[RunSummary, int]:
    prepared = prepare(settings, resuming=resuming)
    phases.enter("resume-start" if resuming else "start")  # test/operations aid (run.phases); no-op unset
    console.print(f"run {settings.run_id}: claims from {settings.input} ({_how_many(prepared)})", soft_wrap=True)
    console.print(f"if it is interrupted, resume it with: {settings.resume_command()}", soft_wrap=True,
                  highlight=False)
    log.info("run %s: %s, %d assessors, model %s", settings.run_id, _how_many(prepared), settings.actors,
             settings.model)
    executed = execute(prepared, console, quiet=quiet, log_level=log_level, check_endpoint=preflight)
    summary = finalize(prepared, executed, console)
    phases.enter("done")
    if executed.signal_exit_code is not None:
        return summary, executed.signal_exit_code
    return summary, exit_code(summary)


def exit_code(summary: RunSummary) -> int:
    if not summary.complete:
        return EXIT_INCOMPLETE
    return EXIT_FAILED_CLAIMS if summary.failed_not_input else EXIT_COMPLETE


def _how_many(prepared: PreparedRun) -> str:
    """'50 claims' when the dataset is counted already (a small one is, at once); else it streams as it counts."""
    expected = prepared.selection.expected(prepared.count.result(wait_s=COUNT_WAIT_S))
    return f"{expected:,} claims" if expected is not None else "streamed; counting"
