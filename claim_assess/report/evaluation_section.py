"""The report's "Evaluation against ground truth" section: scores, confusion matrix, per-reason table and
the mismatches, for each yardstick the dataset has (see claim_assess.report.evaluation)."""

from __future__ import annotations

from claim_assess.claims.evaluation import Evaluation
from claim_assess.report.evaluation import RunEvaluation
from claim_assess.report.markup import MAX_TABLE_ROWS, e, money, table, tiles


def _confusion(ev: Evaluation) -> str:
    labels = ev.decisions()
    head = "".join(f"<th class=num>{e(a)}</th>" for a in labels)
    body = []
    for exp in labels:
        cells = []
        for act in labels:
            n = ev.confusion.get((exp, act), 0)
            css = "hit" if exp == act and n else ("miss" if n else "zero")
            cells.append(f'<td class="num {css}">{n if n else "·"}</td>')
        body.append(f"<tr><th>{e(exp)}</th>{''.join(cells)}</tr>")
    return (f'<table class="confusion"><thead><tr><th>expected ↓ / decided →</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _mismatches(ev: Evaluation) -> str:
    if not ev.mismatches:
        return ""
    return "<h4>Mismatches</h4>" + table(
        ["claim", "scenario", "expected", "decided", "payout expected", "payout decided"],
        [[m.claim_id, m.scenario or "—", f"{m.expected_decision} {m.expected_reason or ''}",
          f"{m.actual_decision} {m.actual_reason or ''}", money(m.expected_payout), money(m.actual_payout)]
         for m in ev.mismatches[:MAX_TABLE_ROWS]], numeric=(4, 5), nowrap=(0,), css="wide")


def _evaluation_block(title: str, explain: str, ev: Evaluation) -> str:
    scores = [("decision accuracy", _pct(ev.decision_accuracy), f"{ev.decision_correct} of {ev.compared}"),
              ("deciding reason", _pct(ev.reason_accuracy), f"{ev.reason_correct} of {ev.reason_compared}"),
              ("payouts exact", f"{ev.payout_exact} of {ev.payout_compared}",
               f"mean abs error {money(ev.payout_mean_abs_error)} · max {money(ev.payout_max_abs_error)}"),
              ("missing from run", f"{len(ev.missing)}", "expected claims not decided")]
    per_reason = table(["expected reason", "claims", "decision right", "reason right"],
                       [[s.reason, f"{s.expected}", f"{s.decision_correct} ({s.decision_accuracy:.0%})",
                         f"{s.reason_correct}"] for s in ev.per_reason], numeric=(1, 2, 3))
    return (f'<div class="eval"><h3>{e(title)}</h3><p class="caption">{e(explain)}</p>{tiles(scores)}'
            f'<div class="two">{_confusion(ev)}{per_reason}</div>{_mismatches(ev)}</div>')


def evaluation_section(result: RunEvaluation | None) -> str:
    if result is None:
        return ""
    blocks = []
    if result.rules is not None:
        blocks.append(_evaluation_block("vs expected.jsonl", "The claims whose outcome the rules decide alone: "
                                        "any difference here is a defect.", result.rules))
    if result.model is not None:
        blocks.append(_evaluation_block("vs the simulator's model", "Every claim's outcome when each LLM answer "
                                        "follows the simulator's deterministic model (scenarios.jsonl): meaningful "
                                        "for simulator runs; against a real model it shows where it differs.",
                                        result.model))
    return (f'<section id="evaluation"><h2>Evaluation against ground truth</h2><p class="caption">Dataset '
            f'{e(result.dataset)}.</p>{"".join(blocks)}</section>')
