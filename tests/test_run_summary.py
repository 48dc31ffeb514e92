"""summary.json: the tally of a run's result rows and LLM use, as one typed record that reads back unchanged."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from claim_assess.claims.coverage import ItemCoverage
from claim_assess.claims.pipeline import Assessment, failed
from claim_assess.claims.results import result_row
from claim_assess.ledger.checkpoints import CheckpointInfo
from claim_assess.llm.accounting import LLMUsage
from claim_assess.run.settings import RunSettings
from claim_assess.run.summary import MoneyTotals, RunFiles, RunSummary, SummaryTally, read_summary, write_summary

T0 = dt.datetime(2026, 11, 29, 12, 0, 0, 123000, tzinfo=dt.timezone.utc)


def _row(assessment, calls: int, prompt: int, completion: int):
    return result_row(assessment, run_id="R1", started_at=T0, finished_at=T0 + dt.timedelta(seconds=1),
                      actor="assessor-1", decision_id="dec_0000000000000001", llm_calls=calls, prompt_tokens=prompt,
                      completion_tokens=completion)


def _partial() -> Assessment:
    items = (ItemCoverage("L1", "covered", "rule", "engine", None, "oil pump", Decimal("1000.00"), None, None),)
    return Assessment("C-1", "P-1", "PARTIAL", ("PARTIALLY_COVERED",), Decimal("1234567890.05"), "CHF",
                      Decimal("1000.10"), Decimal("1000.00"), 0.9, "PASS", items, None, None)


def _tally() -> SummaryTally:
    tally = SummaryTally()
    tally.add(_row(_partial(), 2, 300, 40), LLMUsage(requests=2, succeeded=2, prompt_tokens=300, completion_tokens=40))
    tally.add(_row(failed("C-2", "P-1", "x", "CHF"), 3, 10, 0),
              LLMUsage(requests=3, succeeded=0, rate_limited_requests=1, transient_errors=2, retries=2,
                       prompt_tokens=10, failed_calls=1))
    tally.add(_row(failed("C-3", None, "y"), 0, 0, 0), LLMUsage())
    return tally


def test_the_tally_counts_decisions_money_per_currency_and_llm_use():
    tally = _tally()
    assert tally.decisions() == {"APPROVE": 0, "PARTIAL": 1, "DENY": 0, "REFER": 0, "FAILED": 2}
    assert tally.totals == {"CHF": MoneyTotals(Decimal("1234567890.05"), Decimal("1000.10"), Decimal("1000.00"))}
    assert tally.claims == 3
    assert (tally.llm.requests, tally.llm.rate_limited, tally.llm.retries, tally.llm.tokens) == (5, 1, 2, 350)


def _summary(tmp_path, tally: SummaryTally) -> RunSummary:
    learned = ({"budget": "requests", "limit": 120, "paced": True, "hidden_limit": 60, "headers_trusted": False},)
    settings = RunSettings(input="/data", workspace=str(tmp_path), run_id="R1", actors=4, learned_limits=learned)
    paths = settings.paths
    checkpoint = CheckpointInfo(path="/w/ledger/checkpoints.jsonl", tree_size=3, root="ab" * 32, head_hash="cd" * 32,
                                key_id="0123abcd", created_at="2026-11-29T12:00:01.000Z", public_key_path="/w/k.pub")
    return RunSummary(
        run_id="R1", complete=False, resumed=True, claims=tally.claims, undecided=1, decisions=tally.decisions(),
        totals=dict(tally.totals), wall_seconds=30.0, llm=tally.llm, ledger_height=3, checkpoint=checkpoint,
        endpoint="http://127.0.0.1:9/v1", settings=settings,
        files=RunFiles(str(paths.results), str(paths.line_items), str(paths.summary), str(paths.report),
                       str(paths.timeline), str(settings.ledger_dir)),
        stopped="interrupted", resume_command=settings.resume_command(),
        limiter=("requests: paced evenly at 58/min, hidden limit 60/min (a gateway's own limit)",),
    )


def test_summary_json_has_one_name_per_figure_and_reads_back_unchanged(tmp_path):
    summary = _summary(tmp_path, _tally())
    path = write_summary(summary)
    data = json.loads(path.read_text())
    assert data["claims"] == 3 and data["claims_per_minute"] == 6.0 and data["undecided"] == 1
    assert data["totals"] == {"CHF": {"payout": "1234567890.05", "claimed": "1000.10", "covered": "1000.00"}}
    assert data["llm"]["requests"] == 5 and data["llm"]["rate_limited"] == 1 and "calls" not in data["llm"]
    assert data["settings"]["actors"] == 4 and data["ledger"]["height"] == 3
    assert data["resume_command"] == f"claim-assess assess --resume --run R1 --workspace {tmp_path}"
    assert read_summary(path) == summary
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # written atomically, no temp left


def test_the_exit_code_tells_a_clean_run_from_one_with_failures_not_of_the_input(tmp_path):
    from dataclasses import replace

    from claim_assess.run.lifecycle import EXIT_COMPLETE, EXIT_FAILED_CLAIMS, EXIT_INCOMPLETE, exit_code

    tally = SummaryTally()
    for claim_id, cause in (("C-1", "input"), ("C-2", "llm"), ("C-3", "engine"), ("C-4", "llm")):
        tally.add(_row(failed(claim_id, "P-1", "x", "CHF", cause), 0, 0, 0), LLMUsage(), cause)
    complete = replace(_summary(tmp_path, tally), complete=True, undecided=0, stopped=None,
                       failed_by_cause=dict(tally.failures))
    assert complete.failed_not_input == 3 and exit_code(complete) == EXIT_FAILED_CLAIMS
    assert exit_code(replace(complete, failed_by_cause={"input": 4})) == EXIT_COMPLETE  # bad input alone is clean
    assert exit_code(replace(complete, complete=False)) == EXIT_INCOMPLETE
    written = read_summary(write_summary(complete))
    assert written.failed_by_cause == {"input": 1, "llm": 2, "engine": 1}
