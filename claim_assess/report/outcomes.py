"""What the run decided: decisions with payouts, reason codes, the claims referred to a human, failures."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
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


def _payouts(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Decimal]]:
    """decision -> currency -> summed payout."""
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        if row.get("currency") and row.get("payout") is not None:
            out[str(row["decision"])][str(row["currency"])] += Decimal(str(row["payout"]))
    return out


def decisions_section(data: ReportData) -> str:
    counts = Counter(str(r.get("decision")) for r in data.rows)
    labels = list(DECISIONS) + sorted(set(counts) - set(DECISIONS))
    payouts = _payouts(data.rows)
    total = max(1, len(data.rows))

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
        f"{c} {money(sum((payouts[d].get(c, Decimal(0)) for d in (APPROVE, PARTIAL)), Decimal(0)))}"
        for c in currencies) or "none"
    listing = table(["decision", "meaning", "claims", "share", "payout (proposed, for REFER)"], rows,
                    numeric=(2, 3), raw=True)
    return (f'<section id="decisions"><h2>Decisions and payouts</h2><p class="caption">Paid automatically '
            f'(APPROVE + PARTIAL): <b>{e(totals)}</b>. A REFER\'s amount is the rule-computed proposal the '
            f'reviewer starts from.</p>{chart}{listing}</section>')


def reasons_section(data: ReportData) -> str:
    deciding: Counter[str] = Counter()
    applied: Counter[str] = Counter()
    for row in data.rows:
        reasons = list(row.get("reasons") or [])
        if reasons:
            deciding[str(reasons[0])] += 1
        for code in dict.fromkeys(map(str, reasons)):
            applied[code] += 1
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
    referred = [r for r in data.rows if r.get("decision") == REFER]
    referred.sort(key=lambda r: (-(Decimal(str(r["payout"])) if r.get("payout") is not None else Decimal(0)),
                                 str(r.get("claim_id"))))
    rows = [_referred_row(r) for r in referred[:MAX_TABLE_ROWS]]
    listing = table(["claim", "policy", "why referred", "other codes", "proposed payout", "claimed", "LLM confidence"],
                    rows, numeric=(4, 5, 6), nowrap=(0, 1, 4), raw=True, css="wide") if rows else \
        empty("No claim was referred to a human.")
    return (f'<section id="referred"><h2>Referred to a human ({len(referred):,})</h2><p class="caption">Largest '
            f'proposed payout first.</p>{listing}{more(len(referred), MAX_TABLE_ROWS, "referred claims")}</section>')


def _unanswered_attempts(data: ReportData) -> str:
    problems: dict[tuple[str, str], list] = {}  # (purpose, status) -> [attempts, an example error]
    for a in data.attempts:
        if a.status != "200":
            entry = problems.setdefault((a.purpose, a.status), [0, a.error])
            entry[0] += 1
    rows = [[purpose, status, f"{n:,}", error or "—"]
            for (purpose, status), (n, error) in sorted(problems.items(), key=lambda kv: -kv[1][0])]
    if not rows:
        return ""
    return ('<h3>LLM attempts that got no answer</h3><p class="caption">Retried by the engine; a claim fails only '
            'when its retries run out.</p>'
            + table(["purpose", "status", "attempts", "example error"], rows, numeric=(2,), css="wide"))


def failures_section(data: ReportData) -> str:
    failed = sorted((r for r in data.rows if r.get("decision") == FAILED), key=lambda r: str(r.get("claim_id")))
    rows = [[str(r.get("claim_id")), str(r.get("policy_id") or "—"), str(r.get("error") or "(no error recorded)")]
            for r in failed[:MAX_TABLE_ROWS]]
    listing = table(["claim", "policy", "error"], rows, nowrap=(0, 1), css="wide") if rows else \
        empty("No claim failed.")
    stopped = data.summary.stopped if data.summary is not None else None
    stop = f'<p class="alert">The run stopped early: {e(stopped)}</p>' if stopped else ""
    return (f'<section id="failures"><h2>Failures ({len(failed):,})</h2>{stop}{listing}'
            f'{more(len(failed), MAX_TABLE_ROWS, "failed claims")}{_unanswered_attempts(data)}</section>')
