"""A whole run: prepare, execute, finalize, and the exit code that says what happened.

Exit codes: 0 every claim got a decision (a claim with bad input is decided FAILED with an error naming the
field); 1 the run stopped before every claim was decided (the summary says why and how to resume);
130 / 143 stopped by Ctrl-C / SIGTERM. Bad flags, configuration or a dataset that cannot be read raise
ConfigError / InputError before anything starts (the driver exits 2).
"""

from __future__ import annotations

import logging

from rich.console import Console

from claim_assess.run.execute import execute
from claim_assess.run.finalize import finalize
from claim_assess.run.prepare import PreparedRun, prepare
from claim_assess.run.settings import RunSettings
from claim_assess.run.summary import RunSummary

log = logging.getLogger(__name__)
EXIT_COMPLETE, EXIT_INCOMPLETE = 0, 1
COUNT_WAIT_S = 0.2  # long enough to count a sample-sized dataset, short beside a start of seconds


def run_assessment(settings: RunSettings, console: Console, *, resuming: bool = False, quiet: bool = False,
                   log_level: str = "WARNING") -> tuple[RunSummary, int]:
    prepared = prepare(settings, resuming=resuming)
    console.print(f"run {settings.run_id}: claims from {settings.input} ({_how_many(prepared)})", soft_wrap=True)
    console.print(f"if it is interrupted, resume it with: {settings.resume_command()}", soft_wrap=True,
                  highlight=False)
    log.info("run %s: %s, %d assessors, model %s", settings.run_id, _how_many(prepared), settings.actors,
             settings.model)
    executed = execute(prepared, console, quiet=quiet, log_level=log_level)
    summary = finalize(prepared, executed, console)
    if executed.signal_exit_code is not None:
        return summary, executed.signal_exit_code
    return summary, EXIT_COMPLETE if summary.complete else EXIT_INCOMPLETE


def _how_many(prepared: PreparedRun) -> str:
    """'50 claims' when the dataset is counted already (a small one is, at once); else it streams as it counts."""
    expected = prepared.selection.expected(prepared.count.result(wait_s=COUNT_WAIT_S))
    return f"{expected:,} claims" if expected is not None else "streamed; counting"
