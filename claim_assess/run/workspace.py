"""Where a run's files live: every path of a workspace, a run and its ledger comes from here.

    <workspace>/
      ledger/                    the audit trail (claim_assess.ledger owns the files inside)
      runs/<run_id>/
        settings.json            what the run was asked to do (what --resume reads back)
        outcomes.jsonl           the journal: every claim outcome as it arrived (claim_assess.run.journal)
        timeline.jsonl           the run second by second (claim_assess.run.timeline)
        results.parquet          one row per claim          } claim_assess.claims.results
        line_items.parquet       one row per unique item    }
        summary.json             counts, totals, LLM use, settings (claim_assess.run.summary)
        report.html              the self-contained run report (claim_assess.report)

A run id names a folder, so it is checked here too: 1-64 letters, digits, '.', '_' or '-', not "." or "..".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from claim_assess.claims.result_files import LINE_ITEMS_FILE, RESULTS_FILE
from claim_assess.errors import ConfigError

RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LEDGER_DIR, RUNS_DIR = "ledger", "runs"


def is_run_id(value: str) -> bool:
    return bool(RUN_ID.fullmatch(value)) and value not in {".", ".."}


def check_run_id(value: str, flag: str = "--run") -> str:
    """``value`` if it can name a run, else ConfigError naming the flag it came from."""
    if not is_run_id(value):
        raise ConfigError(f"{flag} {value!r} is not a run id: 1-64 letters, digits, '.', '_' or '-'")
    return value


@dataclass(frozen=True)
class RunPaths:
    run_id: str
    dir: Path

    @property
    def settings(self) -> Path:
        return self.dir / "settings.json"

    @property
    def journal(self) -> Path:
        return self.dir / "outcomes.jsonl"

    @property
    def timeline(self) -> Path:
        return self.dir / "timeline.jsonl"

    @property
    def results(self) -> Path:
        return self.dir / RESULTS_FILE

    @property
    def line_items(self) -> Path:
        return self.dir / LINE_ITEMS_FILE

    @property
    def summary(self) -> Path:
        return self.dir / "summary.json"

    @property
    def report(self) -> Path:
        return self.dir / "report.html"


@dataclass(frozen=True)
class Workspace:
    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def ledger_dir(self) -> Path:
        return self.root / LEDGER_DIR

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS_DIR

    def run(self, run_id: str) -> RunPaths:
        return RunPaths(check_run_id(run_id), self.runs_dir / run_id)

    def run_ids(self) -> list[str]:
        """The runs this workspace holds, oldest name first (names sort by time when generated)."""
        if not self.runs_dir.is_dir():
            return []
        return sorted(p.name for p in self.runs_dir.iterdir() if p.is_dir() and is_run_id(p.name))

    def unknown_run(self, run_id: str) -> str:
        """A message for a run id this workspace does not hold, naming the newest it does."""
        known = self.run_ids()[-5:]
        hint = f" (its newest runs: {', '.join(known)})" if known else " (it holds no runs)"
        return f"no run {run_id!r} in {self.root}{hint}"
