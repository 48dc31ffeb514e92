"""The what-if for the terminal: rich renderables, pure of any I/O (the JSON form is ``WhatIfReport.to_json``)."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from claim_assess.whatif.report import WhatIfReport, changed_transitions, top_policies

POLICIES_SHOWN = 10  # the terminal is for a glance; --json and the page list more
IDS_SHOWN = 10


def _signed(amount: str) -> str:
    value = Decimal(amount)
    return f"{value:+,.2f}" if value else "0.00"


def _ids(listing: dict) -> str:
    shown = ", ".join(str(x) for x in listing["listed"][:IDS_SHOWN])
    return f"{listing['count']}" + (f"  ({shown}{' …' if listing['count'] > IDS_SHOWN else ''})" if shown else "")


def _counts(report: WhatIfReport) -> Table:
    c, q = report.claims, report.questions
    grid = Table.grid(padding=(0, 2))
    grid.add_row("claims", f"{report.checked}: {c['exact']} exact, {c['approximate']} approximate (an answer "
                 f"assumed), {c['needs_new_calls']} need new calls, {c['not_comparable']} not comparable")
    grid.add_row("questions", f"{q['exact']} answered exactly, {q['assumed']} prompt changed, answer assumed, "
                 f"{q['needs_new_call']} with no recorded answer (never sent); {report.unasked_calls} recorded "
                 "calls no longer asked")
    grid.add_row("changed", f"{report.lists['changed']['count']} compared claims change decision or payout")
    grid.add_row("into REFER", _ids(report.lists["into_refer"]))
    grid.add_row("out of REFER", _ids(report.lists["out_of_refer"]))
    if report.lists["changed_input"]["count"]:
        grid.add_row("changed claims", _ids(report.lists["changed_input"]))
    return grid


def _transitions(report: WhatIfReport) -> RenderableType:
    changed, unchanged = changed_transitions(report)
    if not changed:
        return Text(f"no decision changes ({unchanged} compared claims keep theirs)")
    table = Table()
    table.add_column("from")
    table.add_column("to")
    table.add_column("claims", justify="right")
    for before, after, n in changed:
        table.add_row(before, f"→ {after}", str(n))
    return Group(Text(f"decisions that change ({unchanged} compared claims keep theirs):"), table)


def _payout(report: WhatIfReport) -> Table:
    table = Table(title="payout of the compared claims", title_justify="left")
    for name, justify in (("scope", "left"), ("currency", "left"), ("claims", "right"), ("before", "right"),
                          ("after", "right"), ("delta", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for t in report.totals:
        table.add_row("total", t["currency"], str(t["claims"]), f"{Decimal(t['before']):,.2f}",
                      f"{Decimal(t['after']):,.2f}", _signed(t["delta"]))
    shown, rest = top_policies(report, POLICIES_SHOWN)
    for p in shown:
        table.add_row(p["policy_id"], p["currency"], str(p["claims"]), f"{Decimal(p['before']):,.2f}",
                      f"{Decimal(p['after']):,.2f}", _signed(p["delta"]))
    for r in rest:
        table.add_row(f"{r['policies']} other policies", r["currency"], str(r["claims"]), "", "", _signed(r["delta"]))
    return table


def _problems(report: WhatIfReport) -> list[RenderableType]:
    lines = []
    for name, word in (("needs_new_calls", "needs new calls"), ("not_comparable", "not comparable")):
        listing = report.lists[name]
        lines.extend(Text(f"  {word}: {x['claim_id'] or 'seq ' + str(x.get('seq'))}: {x['reason']}")
                     for x in listing["listed"][:IDS_SHOWN])
        if listing["count"] > IDS_SHOWN:
            lines.append(Text(f"  … {listing['count'] - IDS_SHOWN} more {word} (see --json)"))
    return lines


def render(report: WhatIfReport) -> RenderableType:
    terms = (f"{len(report.changed_policies)} changed policies from {report.policies}" if report.policies
             else f"the dataset {report.input}")
    head = Text(f"what-if of run {report.run_id} under {terms}", style="bold")
    notes = [Text(f"note: {n}") for n in report.notes]
    return Group(head, _counts(report), _transitions(report), _payout(report), *_problems(report), *notes)
