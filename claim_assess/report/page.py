"""The whole report page, and writing it to ``runs/<run_id>/report.html``.

Inline CSS and inline SVG charts, no script and no fetch of any kind, so the file opens in any browser,
attaches to a ticket and prints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

from claim_assess.errors import InputError
from claim_assess.files import write_text
from claim_assess.report.data import ReportData, evaluated_rows, load_report_data
from claim_assess.report.evaluation import RunEvaluation, evaluate_run
from claim_assess.report.evaluation_section import evaluation_section
from claim_assess.report.header import header_section
from claim_assess.report.markup import e, html_page
from claim_assess.report.outcomes import decisions_section, failures_section, reasons_section, referred_section
from claim_assess.report.provenance import checkpoint_section, settings_section
from claim_assess.report.throughput import throughput_section
from claim_assess.report.timing import latency_section, stages_section
from claim_assess.run.workspace import Workspace

# The charts every report has (a run with a timeline adds "chart-inflight").
CHART_IDS = ("chart-throughput", "chart-tokens", "chart-latency", "chart-stages", "chart-decisions", "chart-reasons")
NAV = (("throughput", "Throughput"), ("latency", "Latency"), ("stages", "Stages"), ("decisions", "Decisions"),
       ("reasons", "Reasons"), ("evaluation", "Evaluation"), ("referred", "Referred"), ("failures", "Failures"),
       ("settings", "Settings"), ("checkpoint", "Checkpoint"))


def render_report(data: ReportData, evaluation: RunEvaluation | None = None, *,
                  generated: dt.datetime | None = None) -> str:
    """The whole page. Pure: the same data gives the same bytes."""
    generated = generated or dt.datetime.now(dt.UTC)
    nav = "".join(f'<a href="#{k}">{e(v)}</a>' for k, v in NAV if k != "evaluation" or evaluation is not None)
    notes = "".join(f'<p class="alert">{e(n)}</p>' for n in data.notes)
    body = "".join((
        header_section(data, generated), f"<nav>{nav}</nav>", notes, throughput_section(data),
        latency_section(data), stages_section(data), decisions_section(data), reasons_section(data),
        evaluation_section(evaluation), referred_section(data), failures_section(data), settings_section(data),
        checkpoint_section(data),
    ))
    return html_page(f"Run {data.run_id}: claim-assess report", body)


def _dataset_dir(data: ReportData, input_dir: Path | None) -> Path | None:
    """The dataset to evaluate against: the one given, else the run's own input if it is still there."""
    if input_dir is not None:
        return input_dir
    if data.summary is None:
        return None
    own = Path(data.summary.settings.input)
    return own if own.is_dir() else None


def write_report(workspace: Workspace | str | os.PathLike[str], run_id: str, *,
                 input_dir: Path | None = None) -> Path:
    """Write ``runs/<run_id>/report.html`` and return its path. Raises InputError when the run has no
    results; the evaluation is included when the dataset (``input_dir`` or the run's own input) holds
    expected.jsonl or scenarios.jsonl."""
    data = load_report_data(workspace, run_id)
    evaluation = None
    dataset = _dataset_dir(data, input_dir)
    if dataset is not None:
        try:
            evaluation = evaluate_run(lambda: evaluated_rows(data.workspace, run_id), dataset, run_id)
        except (InputError, OSError) as exc:
            data = dataclasses.replace(data, notes=(*data.notes, f"evaluation skipped: {exc}"))
    return write_text(data.paths.report, render_report(data, evaluation))
