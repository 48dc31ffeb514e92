"""The replay report as text (the JSON form is ``ReplayReport.to_json``)."""

from __future__ import annotations

import json
from pathlib import Path

from claim_assess.replay.replay import ReplayReport
from claim_assess.replay.verdict import DIFFERS, Verdict

_WORDS = {"reproduced": "reproduced", "differs": "differs", "evidence_missing": "evidence missing",
          "rules_changed": "rules changed"}


def _line(v: Verdict) -> str:
    where = f"seq {v.seq}" + (f" claim {v.claim_id} (run {v.run_id})" if v.claim_id else "")
    if v.status == DIFFERS:
        return (f"  {where}: DIFFERS at {v.field}: recorded {json.dumps(v.recorded)}, "
                f"replayed {json.dumps(v.replayed)}")
    return f"  {where}: {_WORDS[v.status].upper()}: {v.message}"


def render(directory: Path, report: ReplayReport) -> str:
    head = "REPRODUCED" if report.ok else "NOT REPRODUCED"
    counts = ", ".join(f"{_WORDS[s]} {n}" for s, n in report.counts.items())
    lines = [f"replay of ledger {directory} under rules {report.rules_version}: {head}",
             f"  decisions checked: {report.checked} ({counts})"]
    lines.extend(_line(v) for v in report.problems)
    lines.extend(f"  note: {note}" for note in report.notes)
    return "\n".join(lines)
