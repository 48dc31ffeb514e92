"""Issue 3's targets, checked against the measured runs (only for the scenarios present).

A run here is the record ``bench.measure`` makes (a dict, because it goes into results.json as it is); a target
that could not be measured is ``ok=None``, never a pass. Targets judge the engine's runs only: the baselines
(seed-style, cookbook) are there for comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Run = Mapping[str, Any]

MEMORY_FLAT_RATIO = 1.25  # the bench's own reading of "flat": late RSS at most 25 % over early RSS
# Issue 12: the whole engine (2 actors) against a bare asyncio openai client in one process, same simulator, same run.
ENGINE_OVER_BARE = 0.75


@dataclass(frozen=True)
class Check:
    scenario: str
    name: str
    target: str
    measured: str
    ok: bool | None  # None: could not be measured


def _at_least(scenario: str, name: str, value: float | None, bar: float, fmt: str = "{:.2f}") -> Check:
    if value is None:
        return Check(scenario, name, f">= {fmt.format(bar)}", "n/a", None)
    return Check(scenario, name, f">= {fmt.format(bar)}", fmt.format(value), value >= bar)


def _at_most(scenario: str, name: str, value: float | None, bar: float, fmt: str = "{:.2%}") -> Check:
    if value is None:
        return Check(scenario, name, f"<= {fmt.format(bar)}", "n/a", None)
    return Check(scenario, name, f"<= {fmt.format(bar)}", fmt.format(value), value <= bar)


def _is_engine(run: Run) -> bool:
    return run["kind"] == "engine"


class _Runs:
    """The runs by scenario, and the first that matches."""

    def __init__(self, runs: Sequence[Run]) -> None:
        self.by_scenario: dict[str, list[Run]] = {}
        for run in runs:
            self.by_scenario.setdefault(run["scenario"], []).append(run)

    def first(self, scenario: str, pred: Callable[[Run], bool] = _is_engine) -> Run | None:
        return next((r for r in self.by_scenario.get(scenario, []) if pred(r)), None)


def _limit_checks(runs: _Runs) -> list[Check]:
    checks: list[Check] = []
    if run := runs.first("rpm-bound"):
        checks.append(_at_least("rpm-bound", "RPM utilization", run.get("utilization"), 0.95))
        checks.append(_at_most("rpm-bound", "429 ratio", run.get("rate_limited_ratio"), 0.02))
    if run := runs.first("tpm-bound"):
        checks.append(_at_least("tpm-bound", "TPM utilization", run.get("utilization"), 0.90))
    if run := runs.first("storm"):
        checks.append(_at_most("storm", "failed claims", run.get("failed_claims"), 0, "{:.0f}"))
        checks.append(_at_most("storm", "429 ratio", run.get("rate_limited_ratio"), 0.05))
        checks.append(_at_least("storm", "utilization", run.get("utilization"), 0.85))
    return checks


def _limit_scenario_checks(runs: _Runs) -> list[Check]:
    """The limit scenarios: spend what the provider grants up front, pace per second, learn a gateway's limit."""
    checks: list[Check] = []
    if run := runs.first("full-bucket-rpm"):
        checks.append(_at_most("full-bucket-rpm", "span / ideal", run.get("wall_over_ideal"), 1.05, "{:.2f}"))
        checks.append(_at_most("full-bucket-rpm", "429s", run.get("rate_limited"), 0, "{:.0f}"))
    if run := runs.first("full-bucket-tpm"):
        checks.append(_at_least("full-bucket-tpm", "charged / admissible tokens",
                                run.get("charged_over_admissible"), 0.95))
    if run := runs.first("sliding"):
        checks.append(_at_least("sliding", "utilization", run.get("utilization"), 0.95))
        checks.append(_at_most("sliding", "429 ratio", run.get("rate_limited_ratio"), 0.02))
        checks.append(_at_most("sliding", "failed claims", run.get("failed_claims"), 0, "{:.0f}"))
    if run := runs.first("gateway"):
        checks.append(_at_least("gateway", "utilization of the gateway's RPM", run.get("utilization"), 0.90))
        checks.append(_at_most("gateway", "429 ratio (gateway's included)", run.get("rate_limited_ratio"), 0.05))
        checks.append(_at_most("gateway", "failed claims", run.get("failed_claims"), 0, "{:.0f}"))
    return checks


def _speedup_checks(runs: _Runs) -> list[Check]:
    if "latency-bound" not in runs.by_scenario:
        return []
    engine4 = runs.first("latency-bound", lambda r: r["kind"] == "engine" and r["workers"] == 4)
    base4 = runs.first("latency-bound", lambda r: r["kind"] == "baseline" and r["workers"] == 4)
    seq = runs.first("latency-bound", lambda r: r["kind"] == "baseline" and r["workers"] == 1)

    def speedup(other: Run | None) -> float | None:
        if not engine4 or not other or not other.get("claims_per_min") or not engine4.get("claims_per_min"):
            return None
        return engine4["claims_per_min"] / other["claims_per_min"]

    return [_at_least("latency-bound", "4 actors vs baseline N=4", speedup(base4), 3.0, "{:.1f}x"),
            _at_least("latency-bound", "4 actors vs sequential", speedup(seq), 10.0, "{:.1f}x")]


def _ceiling_checks(runs: _Runs) -> list[Check]:
    run = runs.first("ceiling")
    if not run:
        return []
    checks = [_at_least("ceiling", "successful req/s (2 actors)", run.get("successes_per_s"), 170.0, "{:.0f}")]
    if run.get("bare") is not None:
        checks.append(_at_least("ceiling", "engine / bare asyncio client (req/s)", run.get("engine_over_bare"),
                                ENGINE_OVER_BARE))
    memory = run.get("memory") or {}
    for role, info in sorted((memory.get("roles") or {}).items()):
        checks.append(_at_most("ceiling", f"memory flat: {role} late/early RSS", info.get("late_over_early"),
                               MEMORY_FLAT_RATIO, "{:.2f}"))
    return checks


def _integrity_checks(run: Run) -> list[Check]:
    checks = [Check(run["scenario"], f"{run['label']}: one decision per claim, none lost",
                    "all", f"{run.get('rows', 0)}/{run.get('claims', 0)}", run.get("one_decision_per_claim"))]
    if run["kind"] == "engine":
        ledger = run.get("ledger") or {}
        # A fresh workspace per run: its ledger must hold exactly one decision per claim.
        counted = ledger.get("decisions")
        whole = counted is None or counted == run.get("claims")
        measured = (f"intact, {counted} decisions" if whole else f"intact but {counted} decisions") \
            if ledger.get("ok") else ledger.get("error") or "FAILED"
        checks.append(Check(run["scenario"], f"{run['label']}: ledger verifies", "intact, one per claim",
                            measured, bool(ledger.get("ok")) and whole))
    return checks


def check_targets(runs: Sequence[Run]) -> list[Check]:
    """Issue 3's targets against the measured runs (only for the scenarios present)."""
    grouped = _Runs(runs)
    checks = _limit_checks(grouped) + _limit_scenario_checks(grouped) + _speedup_checks(grouped) \
        + _ceiling_checks(grouped)
    for run in runs:
        checks += _integrity_checks(run)
    return checks
