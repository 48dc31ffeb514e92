"""The page's header: the run id, whether it completed, and the key figures as tiles."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from claim_assess.claims.decision import FAILED, REFER
from claim_assess.claims.results import DECISIONS
from claim_assess.report.data import ReportData
from claim_assess.report.markup import count, e, seconds, tiles
from claim_assess.run.summary import RunSummary


def _run_tiles(summary: RunSummary | None) -> list[tuple[str, str, str]]:
    """Wall time and LLM use: figures only summary.json has ("—" without it)."""
    if summary is None:
        return [("wall time", "—", ""), ("LLM requests", "—", "— tokens"), ("429s · retries", "— · —",
                                                                           "rate limited · retried")]
    per_min = summary.claims_per_minute
    llm = summary.llm
    return [
        ("wall time", seconds(summary.wall_seconds), f"{per_min:,.1f} claims/min" if per_min is not None else ""),
        ("LLM requests", count(llm.requests), f"{count(llm.tokens)} tokens"),
        ("429s · retries", f"{count(llm.rate_limited)} · {count(llm.retries)}", "rate limited · retried"),
        *_reuse_tiles(summary),
    ]


def _reuse_tiles(summary: RunSummary) -> list[tuple[str, str, str]]:
    """--reuse-answers: reused vs new calls, and the tokens and cost that saved (nothing for a run without it)."""
    llm = summary.llm
    if not (llm.reused or summary.settings.reuse_answers):
        return []
    percent = "—" if llm.reused_percent is None else f"{llm.reused_percent:.1f} %"
    cost = summary.cost_saved
    return [
        ("answers reused", f"{count(llm.reused)} · {count(llm.new_calls)}", f"reused · new calls ({percent} reused)"),
        ("saved by reuse", f"{count(llm.tokens_saved)} tokens",
         "cost unknown (no prices given)" if cost is None else f"{cost:,.4f} at the run's prices"),
    ]


def _meta(summary: RunSummary | None) -> str:
    if summary is None:
        return "settings unknown"
    s = summary.settings
    return " · ".join(x for x in (f"model {s.model}" if s.model else None,
                                  f"{s.actors} actors × {s.claims_per_actor} claims",
                                  f"dataset {s.input}" if s.input else None) if x)


def header_section(data: ReportData, generated: dt.datetime) -> str:
    summary = data.summary
    counts = Counter(data.claims.decisions)
    claims = data.claims.claims
    status = "status unknown" if summary is None else ("complete" if summary.complete else "incomplete")
    figures = [
        ("claims", f"{claims:,}", " · ".join(f"{d} {counts[d]}" for d in DECISIONS if counts.get(d))),
        ("referred to a human", f"{counts[REFER]:,}", f"{counts[REFER] / max(1, claims):.0%} of claims"),
        ("failed", f"{counts[FAILED]:,}", "see Failures"),
        *_run_tiles(summary),
    ]
    started = data.origin.strftime("%Y-%m-%d %H:%M:%S UTC") if data.origin else "start unknown"
    complete = summary is not None and summary.complete
    return (f'<header><div class="title"><h1>Run <span class="runid">{e(data.run_id)}</span></h1>'
            f'<span class="badge {"ok" if complete else "warn"}">{e(status)}</span></div>'
            f'<p class="meta">Started {e(started)} · {e(_meta(summary))} · report generated '
            f'{e(generated.strftime("%Y-%m-%d %H:%M:%S UTC"))}</p>{_limiter(summary)}{tiles(figures)}</header>')


def _limiter(summary: RunSummary | None) -> str:
    """How the rate limiter ended up pacing each budget, and why: what it learned of the provider."""
    if summary is None or not summary.limiter:
        return ""
    return f'<p class="meta">Rate limiter: {e("; ".join(summary.limiter))}</p>'
