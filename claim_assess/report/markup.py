"""The report's small HTML pieces: escaping, number formats, tables and tiles.

Everything taken from a run goes through ``e``: claim text, reason codes and error messages are untrusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from claim_assess.claims.result_files import RESULTS_FILE
from claim_assess.report.style import CSS

# The page is data: nothing in it may run or call out, whatever a claim's text smuggles in.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
MAX_TABLE_ROWS = 500  # a page with a row per claim of a 100k-claim run would not open


def e(value: object) -> str:
    return escape(str(value), quote=True)


def money(value: object) -> str:
    if value is None:
        return "—"
    return f"{Decimal(str(value)):,.2f}"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, css: str = "", numeric: Sequence[int] = (),
          nowrap: Sequence[int] = (), raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then the caller escaped them)."""

    def cls(i: int) -> str:
        names = " ".join(n for n, cols in (("num", numeric), ("id", nowrap)) if i in cols)
        return f' class="{names}"' if names else ""

    head = "".join(f"<th{cls(i)}>{e(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = "".join(f"<td{cls(i)}>{cell if raw else e(cell)}</td>" for i, cell in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f'<table class="{e(css)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def more(total: int, shown: int, what: str) -> str:
    """The note under a table cut at ``shown`` rows."""
    if total <= shown:
        return ""
    return f'<p class="more">Showing {shown:,} of {total:,} {e(what)}; all are in {RESULTS_FILE}.</p>'


def tiles(entries: Sequence[tuple[str, str, str]]) -> str:
    """Key figures as (label, value, small print) tiles."""
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><div class="k">{e(k)}</div><div class="v">{e(v)}</div><div class="s">{e(s)}</div></div>'
        for k, v, s in entries) + "</div>"


def empty(text: str) -> str:
    return f'<p class="empty">{e(text)}</p>'


def html_page(title: str, body: str) -> str:
    """A self-contained page in the report's style around ``body`` (already markup); ``title`` is escaped."""
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(title)}</title><style>{CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")
