"""A run's evaluation for the terminal (``claim-assess evaluate``): rich renderables, pure of any I/O."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from claim_assess.claims.evaluation import Evaluation
from claim_assess.report.evaluation import RunEvaluation

MAX_MISMATCHES_SHOWN = 20  # the terminal is for a glance; the report and --json list them all


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _scores(ev: Evaluation) -> Table:
    head = Table.grid(padding=(0, 2))
    head.add_row("decision accuracy", f"{_percent(ev.decision_accuracy)}  ({ev.decision_correct} of {ev.compared})")
    head.add_row("deciding reason", f"{_percent(ev.reason_accuracy)}  ({ev.reason_correct} of {ev.reason_compared})")
    payout = "n/a" if ev.payout_mean_abs_error is None else (
        f"{ev.payout_exact} of {ev.payout_compared} exact · mean abs error {ev.payout_mean_abs_error:.2f}"
        f" · max {ev.payout_max_abs_error:.2f}")
    head.add_row("payout", payout)
    missing = f"  ({', '.join(ev.missing[:5])}{' …' if len(ev.missing) > 5 else ''})" if ev.missing else ""
    head.add_row("missing from the run", f"{len(ev.missing)}{missing}")
    return head


def _confusion(ev: Evaluation) -> Table:
    labels = ev.decisions()
    confusion = Table(title="expected (rows) × decided (columns)", title_justify="left")
    confusion.add_column("expected")
    for label in labels:
        confusion.add_column(label, justify="right")
    for exp in labels:
        confusion.add_row(exp, *(str(ev.confusion.get((exp, act), "")) or "·" for act in labels))
    return confusion


def _per_reason(ev: Evaluation) -> Table:
    reasons = Table(title="per expected reason code", title_justify="left")
    for name, justify in (("reason", "left"), ("claims", "right"), ("decision right", "right"),
                          ("reason right", "right")):
        reasons.add_column(name, justify=justify)  # type: ignore[arg-type]
    for score in ev.per_reason:
        reasons.add_row(score.reason, str(score.expected), f"{score.decision_correct} ({score.decision_accuracy:.0%})",
                        str(score.reason_correct))
    return reasons


def _mismatches(ev: Evaluation) -> Table:
    wrong = Table(title=f"mismatches ({len(ev.mismatches)})", title_justify="left")
    for name in ("claim", "scenario", "expected", "decided", "payout expected / decided"):
        wrong.add_column(name)
    for m in ev.mismatches[:MAX_MISMATCHES_SHOWN]:
        wrong.add_row(m.claim_id, m.scenario or "", f"{m.expected_decision} {m.expected_reason or ''}",
                      f"{m.actual_decision} {m.actual_reason or ''}",
                      f"{m.expected_payout if m.expected_payout is not None else '—'} / "
                      f"{m.actual_payout if m.actual_payout is not None else '—'}")
    return wrong


def render_evaluation(title: str, ev: Evaluation) -> RenderableType:
    parts: list[RenderableType] = [Text(title, style="bold"), _scores(ev), _confusion(ev), _per_reason(ev)]
    if ev.mismatches:
        parts.append(_mismatches(ev))
    return Group(*parts)


def render_run_evaluation(result: RunEvaluation) -> RenderableType:
    parts: list[RenderableType] = [Text(f"Run {result.run_id} vs {result.dataset}", style="bold underline")]
    if result.rules is not None:
        parts.append(render_evaluation("vs expected.jsonl (outcomes the rules decide)", result.rules))
    if result.model is not None:
        parts.append(render_evaluation("vs the simulator's model (scenarios.jsonl llm_expected)", result.model))
    return Group(*parts)
