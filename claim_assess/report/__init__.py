"""The run report: one self-contained ``runs/<run_id>/report.html`` a claims lead can open offline.

It shows throughput against the rate limits, claim latency, time per stage, decisions with payouts, reason
codes, the claims referred to a human, failures, the evaluation against the dataset's ground truth when it has
one, the run's settings and the ledger's newest checkpoint. Everything taken from the run is escaped: claim
text is untrusted.

    data.py                reading a workspace into ReportData (tolerant: what is missing becomes a note)
    rates.py               per-minute rates for the throughput charts
    charts.py              inline SVG charts (line, histogram, bars), pure functions of numbers
    markup.py              escaping, number formats, tables and tiles
    header.py, throughput.py, timing.py, outcomes.py, evaluation_section.py, provenance.py   the sections
    style.py               the inline stylesheet
    page.py                render_report (pure) and write_report
    evaluation.py          the run judged against expected.jsonl / scenarios.jsonl (also ``claim-assess evaluate``)
    evaluation_console.py  that evaluation for the terminal
"""

from claim_assess.report.page import write_report

__all__ = ["write_report"]
