"""What the engine itself recorded of a run's requests: the attempts in the ledger's llm_calls.jsonl.

Rate-limit tests assert on these, not on the simulator's own counts: the simulator says what it admitted, the ledger
says what the engine sent and what it was told, which is what the README promises about the engine.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from claim_assess.claims.dataset import open_dataset
from claim_assess.ledger.canonical import parse_canonical
from claim_assess.replay.replay import replay_ledger


def records(path: Path, run_id: str) -> list[dict]:
    """The run's records of one ledger file, in the order it holds them ([] while the file does not exist)."""
    if not path.exists():
        return []
    return [r for r in map(parse_canonical, path.read_bytes().splitlines()) if r["run_id"] == run_id]


def attempts(workspace: Path, run_id: str) -> list[dict]:
    """The run's attempt records, in the order the ledger holds them (the preflight included)."""
    return records(workspace / "ledger" / "llm_calls.jsonl", run_id)


def moment(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def most_sent_in(records: list[dict], window_s: float) -> int:
    """The most attempts the engine started within any ``window_s`` seconds (a sliding window over start times)."""
    starts = sorted(moment(r["started_at"]) for r in records)
    most, first = 0, 0
    for last, t in enumerate(starts):
        while t - starts[first] >= window_s:
            first += 1
        most = max(most, last - first + 1)
    return most


def rate_limited(records: list[dict]) -> list[dict]:
    """The attempts the provider answered 429."""
    return [r for r in records if r["status"] == 429]


def assert_every_run_replays(workspace: Path) -> int:
    """Every decision in ``workspace``'s ledger re-derives from its evidence (issue 14: "replay of every run in the
    test suite"): each run is replayed against the dataset its settings.json names. Returns the decisions checked."""
    checked = 0
    for settings in sorted((workspace / "runs").glob("*/settings.json")):
        run_id, source = settings.parent.name, json.loads(settings.read_text())["input"]
        report = replay_ledger(workspace / "ledger", open_dataset(source), run_id=run_id)
        assert report.ok or report.checked == 0, f"run {run_id} does not replay: {report.to_json()}"
        checked += report.checked
    return checked
