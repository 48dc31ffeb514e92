"""summary.json: one typed, frozen record of a finished (or stopped) run.

``SummaryTally`` adds up the result rows and their LLM use in the same pass that writes the result files;
``RunSummary`` is what the driver prints, ``--json`` emits, the report and the benchmark read back
(``RunSummary.from_json``), so every reader sees the same names.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from claim_assess.claims.results import DECISIONS, ResultRow
from claim_assess.files import write_text
from claim_assess.ledger.checkpoints import CheckpointInfo
from claim_assess.llm.accounting import LLMUsage
from claim_assess.run.settings import RunSettings

SCHEMA = "run-summary/2"


@dataclass(frozen=True)
class MoneyTotals:
    payout: Decimal = Decimal("0.00")
    claimed: Decimal = Decimal("0.00")
    covered: Decimal = Decimal("0.00")

    def __add__(self, other: MoneyTotals) -> MoneyTotals:
        return MoneyTotals(self.payout + other.payout, self.claimed + other.claimed, self.covered + other.covered)

    def to_json(self) -> dict[str, str]:
        return {name: f"{value:.2f}" for name, value in asdict(self).items()}


@dataclass(frozen=True)
class RunFiles:
    results: str
    line_items: str
    summary: str
    report: str
    timeline: str
    ledger: str


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    complete: bool  # every selected claim has a decision and the run was not stopped
    resumed: bool
    claims: int  # claims with a result row (decided, FAILED included)
    undecided: int  # selected claims left without a decision (a resume assesses them)
    decisions: dict[str, int]  # by decision, every decision named
    totals: dict[str, MoneyTotals]  # by currency
    wall_seconds: float  # the claim loop of this invocation, without Ray's start-up
    llm: LLMUsage  # the attempts behind the decisions in the result files
    ledger_height: int
    checkpoint: CheckpointInfo | None
    endpoint: str  # the LLM base URL, without credentials
    settings: RunSettings
    files: RunFiles
    stopped: str | None = None  # why the run ended before every claim was decided
    resume_command: str | None = None
    limiter: tuple[str, ...] = ()  # how the rate limiter paced each budget at the end, and why
    failed_by_cause: dict[str, int] = field(default_factory=dict)  # FAILED claims by what they were about
    schema: str = field(default=SCHEMA)

    def __post_init__(self) -> None:
        # summary.json keeps milliseconds; rounding here makes to_json / from_json an exact round trip.
        object.__setattr__(self, "wall_seconds", round(self.wall_seconds, 3))

    @property
    def failed_not_input(self) -> int:
        """FAILED claims whose cause was not their input (the model, a refused request, the engine): a clean run
        has none; ``--resume`` assesses them again."""
        return sum(n for cause, n in self.failed_by_cause.items() if cause != "input")

    @property
    def cost_saved(self) -> Decimal | None:
        """What the tokens answered from the ledger would have cost at the run's prices (None: no prices given)."""
        return saved_cost(self.llm, prices_of(self.settings))

    def reuse_json(self) -> dict[str, Any]:
        """summary.json's "reuse": reused vs new calls, the tokens and cost saved, and the runs reused from."""
        llm, cost = self.llm, self.cost_saved
        return {"from_runs": list(self.settings.reuse_answers), "reused_calls": llm.reused, "new_calls": llm.new_calls,
                "reused_percent": llm.reused_percent, "tokens_saved": llm.tokens_saved,
                "prompt_tokens_saved": llm.reused_prompt_tokens,
                "completion_tokens_saved": llm.reused_completion_tokens,
                "cost_saved": None if cost is None else f"{cost:.4f}"}

    @property
    def claims_per_minute(self) -> float | None:
        return round(self.claims / (self.wall_seconds / 60), 2) if self.wall_seconds > 0 else None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "run_id": self.run_id,
            "complete": self.complete,
            "resumed": self.resumed,
            "stopped": self.stopped,
            "resume_command": self.resume_command,
            "claims": self.claims,
            "undecided": self.undecided,
            "decisions": dict(self.decisions),
            "failed_by_cause": dict(sorted(self.failed_by_cause.items())),
            "totals": {currency: sums.to_json() for currency, sums in sorted(self.totals.items())},
            "wall_seconds": self.wall_seconds,
            "claims_per_minute": self.claims_per_minute,
            "llm": self.llm.to_json(),
            "reuse": self.reuse_json(),
            "ledger": {"height": self.ledger_height,
                       "checkpoint": asdict(self.checkpoint) if self.checkpoint is not None else None},
            "endpoint": self.endpoint,
            "limiter": list(self.limiter),
            "settings": self.settings.to_json(),
            "files": asdict(self.files),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary:
        """Read summary.json back (KeyError / TypeError / ValueError when it is not one)."""
        ledger = data["ledger"]
        checkpoint = ledger.get("checkpoint")
        return cls(
            run_id=data["run_id"],
            complete=bool(data["complete"]),
            resumed=bool(data["resumed"]),
            claims=int(data["claims"]),
            undecided=int(data["undecided"]),
            decisions={str(k): int(v) for k, v in data["decisions"].items()},
            failed_by_cause={str(k): int(v) for k, v in data.get("failed_by_cause", {}).items()},
            totals={c: MoneyTotals(*(Decimal(s[k]) for k in ("payout", "claimed", "covered")))
                    for c, s in data["totals"].items()},
            wall_seconds=float(data["wall_seconds"]),
            llm=LLMUsage.from_json(data["llm"]),
            ledger_height=int(ledger["height"]),
            checkpoint=CheckpointInfo(**checkpoint) if checkpoint else None,
            endpoint=data["endpoint"],
            settings=RunSettings.from_json(data["settings"]),
            files=RunFiles(**{f.name: data["files"][f.name] for f in fields(RunFiles)}),
            stopped=data.get("stopped"),
            resume_command=data.get("resume_command"),
            limiter=tuple(str(line) for line in data.get("limiter", ())),
            schema=data.get("schema", SCHEMA),
        )


Prices = tuple[str | None, str | None]  # (input, output) per million tokens, decimal strings; None: not known


def prices_of(settings: RunSettings) -> Prices:
    return settings.price_input_per_m, settings.price_output_per_m


def saved_cost(llm: LLMUsage, prices: Prices) -> Decimal | None:
    """Prices per million tokens times the reused tokens; None unless both prices are known."""
    price_input, price_output = prices
    if price_input is None or price_output is None:
        return None
    return (Decimal(llm.reused_prompt_tokens) * Decimal(price_input)
            + Decimal(llm.reused_completion_tokens) * Decimal(price_output)) / Decimal(1_000_000)


class SummaryTally:
    """Counts, money and LLM use accumulated row by row, riding along the pass that writes the result files."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.totals: dict[str, MoneyTotals] = {}
        self.llm = LLMUsage()
        self.failures: Counter[str] = Counter()

    def add(self, row: ResultRow, usage: LLMUsage | None = None, failure: str | None = None) -> None:
        self.counts[row.decision] += 1
        if failure is not None:
            self.failures[failure] += 1
        if usage is not None:
            self.llm += usage
        if row.currency is not None:
            money = MoneyTotals(row.payout, row.claimed_total or Decimal("0.00"), row.covered_total or Decimal("0.00"))
            self.totals[row.currency] = self.totals.get(row.currency, MoneyTotals()) + money

    @property
    def claims(self) -> int:
        return sum(self.counts.values())

    def decisions(self) -> dict[str, int]:
        return {decision: self.counts.get(decision, 0) for decision in DECISIONS}


def read_summary(path: str | os.PathLike[str]) -> RunSummary:
    return RunSummary.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def write_summary(summary: RunSummary) -> Path:
    """Write summary.json atomically: a crash leaves the old one or the new one."""
    return write_text(summary.files.summary, json.dumps(summary.to_json(), indent=2, sort_keys=True) + "\n")
