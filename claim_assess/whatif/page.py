"""The what-if as one self-contained HTML page in the run report's style (``report.markup``: its stylesheet, its
escaping, tables and tiles; no script, no fetch). Everything taken from the ledger or the dataset is escaped."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from claim_assess.report.markup import e, empty, html_page, money, table, tiles
from claim_assess.whatif.report import WhatIfReport, changed_transitions, top_policies

POLICIES_SHOWN = 50


def _signed(amount: str) -> str:
    value = Decimal(amount)
    return f"{value:+,.2f}" if value else "0.00"


def _header(report: WhatIfReport, generated: dt.datetime) -> str:
    c, q = report.claims, report.questions
    changed, unchanged = changed_transitions(report)
    terms = (f"{len(report.changed_policies)} changed policies from {report.policies}" if report.policies
             else f"the dataset {report.input}")
    figures = [
        ("claims", f"{report.checked:,}", f"{c['exact']:,} exact · {c['approximate']:,} approximate · "
                                         f"{c['needs_new_calls']:,} need new calls · {c['not_comparable']:,} not comparable"),
        ("decisions that change", f"{sum(n for _, _, n in changed):,}", f"{unchanged:,} keep theirs"),
        *((f"payout delta {t['currency']}", _signed(t["delta"]), f"{money(t['before'])} → {money(t['after'])}")
          for t in report.totals),
        ("into / out of REFER", f"{report.lists['into_refer']['count']} / {report.lists['out_of_refer']['count']}",
         "claims"),
        ("questions", f"{q['exact']:,} exact", f"{q['assumed']:,} assumed · {q['needs_new_call']:,} need a new call"),
    ]
    return (f'<header><div class="title"><h1>What-if of run <span class="runid">{e(report.run_id)}</span></h1></div>'
            f'<p class="meta">Under {e(terms)} · ledger {e(report.ledger)} · generated '
            f'{e(generated.strftime("%Y-%m-%d %H:%M:%S UTC"))} · no LLM call was made, no ledger record written</p>'
            f'{tiles(figures)}</header>')


def _transitions(report: WhatIfReport) -> str:
    changed, unchanged = changed_transitions(report)
    rows = [(a, b, f"{n:,}") for a, b, n in changed]
    body = table(("from", "to", "claims"), rows, numeric=(2,)) if rows else empty("No decision changes.")
    return (f'<section id="transitions"><h2>Decisions that change</h2><p class="caption">Compared claims only '
            f'(exact and approximate); {unchanged:,} keep their decision.</p>{body}</section>')


def _payout(report: WhatIfReport) -> str:
    rows = [("total", t["currency"], f"{t['claims']:,}", money(t["before"]), money(t["after"]), _signed(t["delta"]))
            for t in report.totals]
    shown, rest = top_policies(report, POLICIES_SHOWN)
    rows += [(p["policy_id"], p["currency"], f"{p['claims']:,}", money(p["before"]), money(p["after"]),
              _signed(p["delta"])) for p in shown]
    rows += [(f"{r['policies']} other policies", r["currency"], f"{r['claims']:,}", "", "", _signed(r["delta"]))
             for r in rest]
    headers = ("scope", "currency", "claims", "before", "after", "delta")
    return ('<section id="payout"><h2>Payout</h2><p class="caption">The decisions\' payout field (REFER: the '
            'proposal a person reviews), per currency, then per policy by the size of the change.</p>'
            f'{table(headers, rows, numeric=(2, 3, 4, 5), nowrap=(0,))}</section>')


def _claims(report: WhatIfReport) -> str:
    listing = report.lists["changed"]
    rows = [(x["claim_id"], x["policy_id"], x["from"], x["to"], money(x["payout_before"]), money(x["payout_after"]),
             "approximate" if x["approximate"] else "exact") for x in listing["listed"]]
    headers = ("claim", "policy", "from", "to", "payout before", "after", "answers")
    body = table(headers, rows, numeric=(4, 5), nowrap=(0,)) if rows else empty("No claim changes.")
    refer = "".join(f'<p><b>{e(word)} REFER ({report.lists[name]["count"]:,}):</b> '
                    f'{e(", ".join(report.lists[name]["listed"]) or "none")}</p>'
                    for name, word in (("into_refer", "Into"), ("out_of_refer", "Out of")))
    return (f'<section id="claims"><h2>Claims that change ({listing["count"]:,})</h2><p class="caption">Decision or '
            f'payout; the first {len(rows)} listed. Answers: exact (every answer the new terms need was recorded) or '
            f'approximate (a question whose prompt changed got its recorded answer).</p>{body}{refer}</section>')


def _questions(report: WhatIfReport) -> str:
    assumed = [(x["claim_id"], x["purpose"], x["item_id"] or "", x["call_id"]) for x in report.lists["assumed"]["listed"]]
    problems = [(x["claim_id"] or "", word, x["reason"]) for name, word in
                (("needs_new_calls", "needs new calls"), ("not_comparable", "not comparable"))
                for x in report.lists[name]["listed"]]
    return ('<section id="questions"><h2>Answers assumed, and claims left out</h2><p class="caption">A question '
            'whose prompt changed got the recorded answer of its purpose and line item (the model\'s judgement held '
            'constant); a question with no recorded answer was never sent, and its claim is left out.</p>'
            + (table(("claim", "purpose", "line item", "recorded call"), assumed, nowrap=(0, 3)) if assumed
               else empty("No answer was assumed."))
            + (table(("claim", "status", "why"), problems, nowrap=(0,)) if problems else empty("No claim was left out."))
            + "</section>")


def render_page(report: WhatIfReport, *, generated: dt.datetime | None = None) -> str:
    """The whole page. Pure: the same report gives the same bytes."""
    generated = generated or dt.datetime.now(dt.UTC)
    notes = "".join(f'<p class="alert">{e(n)}</p>' for n in report.notes)
    body = "".join((_header(report, generated), notes, _transitions(report), _payout(report), _claims(report),
                    _questions(report)))
    return html_page(f"What-if of run {report.run_id}: claim-assess", body)
