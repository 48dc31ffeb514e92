"""What the run decided: decisions with payouts, reason codes, the claims referred to a human, failures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from claim_assess.claims.decision import APPROVE, DENY, FAILED, PARTIAL, REFER
from claim_assess.claims.results import DECISIONS
from claim_assess.report.charts import Bar, bar_chart
from claim_assess.report.data import ReportData
from claim_assess.report.markup import MAX_TABLE_ROWS, e, empty, money, more, plural, table

DECISION_MEANING = {APPROVE: "paid in full (after deductible and scale)", PARTIAL: "some items not covered",
                    DENY: "nothing paid", REFER: "a human decides", FAILED: "input or LLM error, not decided"}
TOP_REASONS = 12


def decisions_section(data: ReportData) -> str:
    counts = data.claims.decisions
    labels = list(DECISIONS) + sorted(set(counts) - set(DECISIONS))
    payouts = data.claims.payouts
    total = max(1, data.claims.claims)

    def paid(decision: str) -> str:
        by_currency = payouts.get(decision, {})
        return " · ".join(f"{c} {money(v)}" for c, v in sorted(by_currency.items()) if v) or "no payout"

    bars = [Bar(label, [(counts.get(label, 0), f"d-{label}", f"{label}: {counts.get(label, 0)} claims")],
                note=f"{counts.get(label, 0):,} ({counts.get(label, 0) / total:.0%})") for label in labels]
    chart = bar_chart("chart-decisions", "Decisions", bars, value_label="claims",
                      desc="Number of claims per decision")
    rows = [[f'<span class="pill d-{e(label)}">{e(label)}</span>', e(DECISION_MEANING.get(label, "")),
             e(f"{counts.get(label, 0):,}"), e(f"{counts.get(label, 0) / total:.1%}"), e(paid(label))]
            for label in labels]
    currencies = sorted({c for by in payouts.values() for c in by})
    totals = " · ".join(
        f"{c} {money(sum((payouts.get(d, {}).get(c, Decimal(0)) for d in (APPROVE, PARTIAL)), Decimal(0)))}"
        for c in currencies) or "none"
    listing = table(["decision", "meaning", "claims", "share", "payout (proposed, for REFER)"], rows,
                    numeric=(2, 3), raw=True)
    return (f'<section id="decisions"><h2>Decisions and payouts</h2><p class="caption">Paid automatically '
            f'(APPROVE + PARTIAL): <b>{e(totals)}</b>. A REFER\'s amount is the rule-computed proposal the '
            f'reviewer starts from.</p>{chart}{listing}</section>')


def reasons_section(data: ReportData) -> str:
    deciding, applied = data.claims.deciding, Counter(data.claims.applied)
    top = applied.most_common(TOP_REASONS)
    bars = [Bar(code, [(deciding.get(code, 0), "r-deciding", f"{code}: decided {deciding.get(code, 0)} claims"),
                       (n - deciding.get(code, 0), "r-also", f"{code}: also applied on "
                                                             f"{n - deciding.get(code, 0)} claims")],
                note=f"{plural(n, 'claim')} · deciding in {deciding.get(code, 0):,}") for code, n in top]
    chart = bar_chart("chart-reasons", "Most frequent reason codes", bars, value_label="claims",
                      legend=[("deciding reason", "r-deciding"), ("also applied", "r-also")],
                      desc="How many claims carry each reason code, split by whether it decided the claim")
    rest = len(applied) - len(top)
    rarer = f'<p class="more">{rest} rarer codes are not shown.</p>' if rest > 0 else ""
    none = empty("No reason codes (every claim FAILED).") if not top else ""
    return (f'<section id="reasons"><h2>Reason codes</h2><p class="caption">Each claim lists the code that decided '
            f'it first, then every other code that applied.</p>{none}{chart}{rarer}</section>')


def _referred_row(r: Mapping[str, Any]) -> list[str]:
    reasons = list(r.get("reasons") or [])
    first = f"<b>{e(reasons[0])}</b>" if reasons else "—"
    others = ", ".join(e(x) for x in reasons[1:])
    confidence = r.get("confidence")
    return [e(r.get("claim_id")), e(r.get("policy_id") or "—"), first, others or "—",
            e(f"{r.get('currency') or ''} {money(r.get('payout'))}".strip()), e(money(r.get("claimed_total"))),
            e(f"{confidence:.2f}" if isinstance(confidence, float) else "—")]


def referred_section(data: ReportData) -> str:
    referred = data.claims.referred
    rows = [_referred_row(r) for r in data.claims.referred_rows]
    listing = table(["claim", "policy", "why referred", "other codes", "proposed payout", "claimed", "LLM confidence"],
                    rows, numeric=(4, 5, 6), nowrap=(0, 1, 4), raw=True, css="wide") if rows else \
        empty("No claim was referred to a human.")
    return (f'<section id="referred"><h2>Referred to a human ({referred:,})</h2><p class="caption">Largest '
            f'proposed payout first.</p>{listing}{more(referred, MAX_TABLE_ROWS, "referred claims")}</section>')


def _unanswered_attempts(data: ReportData) -> str:
    problems = data.calls.problems  # (purpose, status) -> (attempts, an example error), as the log had them
    rows = [[purpose, status, f"{n:,}", error or "—"]
            for (purpose, status), (n, error) in sorted(problems.items(), key=lambda kv: -kv[1][0])]
    if not rows:
        return ""
    return ('<h3>LLM attempts that got no answer</h3><p class="caption">Retried by the engine; a claim fails only '
            'when its retries run out.</p>'
            + table(["purpose", "status", "attempts", "example error"], rows, numeric=(2,), css="wide"))


def failures_section(data: ReportData) -> str:
    failed = data.claims.failed
    rows = [[str(r.get("claim_id")), str(r.get("policy_id") or "—"), str(r.get("error") or "(no error recorded)")]
            for r in data.claims.failed_rows]
    listing = table(["claim", "policy", "error"], rows, nowrap=(0, 1), css="wide") if rows else \
        empty("No claim failed.")
    stopped = data.summary.stopped if data.summary is not None else None
    stop = f'<p class="alert">The run stopped early: {e(stopped)}</p>' if stopped else ""
    return (f'<section id="failures"><h2>Failures ({failed:,})</h2>{stop}{listing}'
            f'{more(failed, MAX_TABLE_ROWS, "failed claims")}{_unanswered_attempts(data)}</section>')
