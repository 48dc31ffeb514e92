"""The ``ReuseIndex`` of a run started with ``--reuse-answers RUN_ID...``: built from the ledger before the run.

One streaming pass over llm_calls.jsonl: a line is parsed only when its bytes name one of the runs (a byte search
first, as replay does), and kept only when it holds a valid answer, which is what the client accepted: a 2xx with
no error and a response (an attempt whose answer broke the schema carries an "invalid output" error, so it is never
reused; the client parses the answer again under the prompt's schema before using it). Records that are themselves
reuses are indexed under their original, so a pointer always names the call that was really sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from claim_assess.errors import CanonicalFormError, ConfigError, InvalidRecordError, LedgerError
from claim_assess.ledger.filestore import CALLS_FILE
from claim_assess.ledger.lines import read_call
from claim_assess.ledger.records import REUSED_FROM
from claim_assess.claims.prompts import ASSESSMENT_PURPOSE, COVERAGE_PURPOSE, FACTS_CHECK_PURPOSE
from claim_assess.llm.attempts import answered
from claim_assess.llm.reuse import ReusedAnswer, ReuseIndex, request_digest
from claim_assess.plan.pricing import resolve_prices
from claim_assess.run.settings import RunSettings
from claim_assess.run.workspace import Workspace

# a claim's questions; a preflight answers none
REUSABLE_PURPOSES = (COVERAGE_PURPOSE, ASSESSMENT_PURPOSE, FACTS_CHECK_PURPOSE)
log = logging.getLogger(__name__)


def check_reuse_runs(workspace: str | Path, run_ids: tuple[str, ...]) -> None:
    """ConfigError (a usage error, exit 2) naming the first run id the workspace does not hold."""
    ws = Workspace(workspace)
    for run_id in run_ids:
        if not ws.run(run_id).settings.is_file():
            raise ConfigError(f"--reuse-answers: {ws.unknown_run(run_id)}")


def build_reuse_index(workspace: str | Path, run_ids: tuple[str, ...]) -> ReuseIndex:
    """The answers the named runs recorded, by request digest; LedgerError when llm_calls.jsonl cannot be read."""
    check_reuse_runs(workspace, run_ids)
    path = Workspace(workspace).ledger_dir / CALLS_FILE
    index = ReuseIndex(_reusable(path, run_ids))
    log.info("--reuse-answers: %d recorded answers of %s", len(index), ", ".join(run_ids))
    return index


def _reusable(path: Path, run_ids: tuple[str, ...]) -> Iterator[tuple[bytes, ReusedAnswer]]:
    needles = tuple(b'"run_id":"' + run_id.encode("utf-8") + b'"' for run_id in run_ids)
    wanted = set(run_ids)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return  # a run that made no call: nothing to reuse
    except OSError as exc:
        raise LedgerError(f"cannot read {path}: {exc}") from exc
    with f:
        for raw in f:
            if not any(needle in raw for needle in needles):
                continue
            try:
                call = read_call(raw)
            except (CanonicalFormError, InvalidRecordError):
                continue  # a damaged line answers nothing (verify reports it)
            if call.get("run_id") in wanted and is_valid_answer(call):
                yield request_digest(call["model"], call["request"]), _answer(call)


def is_valid_answer(call: Mapping[str, Any]) -> bool:
    """An answer (``llm.attempts.answered``) to a claim's question: what the client accepted as an answer."""
    return (call.get("purpose") in REUSABLE_PURPOSES and answered(call)
            and isinstance(call.get("model"), str) and isinstance(call.get("request"), Mapping))


def _answer(call: Mapping[str, Any]) -> ReusedAnswer:
    source = call.get(REUSED_FROM) or {"call_id": call["call_id"], "record_hash": call["record_hash"]}
    return ReusedAnswer(call_id=source["call_id"], record_hash=source["record_hash"], response=call["response"],
                        status=call["status"], prompt_tokens=call.get("prompt_tokens"),
                        completion_tokens=call.get("completion_tokens"))


def with_prices(settings: RunSettings, *, price_input: float | None, price_output: float | None,
                pricing_file: str | Path | None) -> RunSettings:
    """``settings`` with the prices the flags give (for the cost a reuse saved); unchanged without any."""
    if price_input is None and price_output is None and pricing_file is None:
        return settings
    prices = resolve_prices(settings.model, price_input=price_input, price_output=price_output,
                            pricing_file=pricing_file)
    return replace(settings, price_input_per_m=None if prices[0] is None else str(prices[0]),
                   price_output_per_m=None if prices[1] is None else str(prices[1]))
