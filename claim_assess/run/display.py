"""What a person sees of a run: pure functions from snapshots to rich renderables or plain lines.

Nothing here talks to Ray; the driver pulls a ``ProgressSnapshot`` and hands it to ``render``
(``rich.live.Live(get_renderable=...)``-style), so tests render into a ``Console(file=StringIO())``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from claim_assess.llm.accounting import LLMUsage
from claim_assess.run.progress import ProgressSnapshot
from claim_assess.run.summary import Prices, RunSummary, saved_cost

DECISION_STYLES = {
    "APPROVE": "green",
    "PARTIAL": "cyan",
    "DENY": "red",
    "REFER": "yellow",
    "FAILED": "magenta",
}
MAX_CLAIMS_SHOWN_PER_ACTOR = 4


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _against(value: float, limit: int | None) -> str:
    if not limit:
        return f"{value:,.0f}/min"
    return f"{value:,.0f}/min of {limit:,} ({value / limit:.0%})"


def render(snapshot: ProgressSnapshot, prices: Prices = (None, None)) -> RenderableType:
    """The live view: progress, per-actor work, decisions, LLM traffic against the limits, ledger.

    ``prices`` (the run's, per million tokens) price what answers reused from the ledger saved."""
    s = snapshot
    header = Table.grid(padding=(0, 2))
    header.add_row(
        Text(f"{s.done}/{s.total} claims", style="bold"),
        ProgressBar(total=max(s.total, 1), completed=s.done, width=40),
        Text(f"{s.claims_per_s * 60:,.1f} claims/min"),
        Text(f"elapsed {_duration(s.elapsed_s)}  ETA {_duration(s.eta_s if s.remaining else 0)}"),
    )

    actors = Table(title="Assessors", title_justify="left", expand=False, show_edge=False)
    actors.add_column("actor")
    actors.add_column("claims in progress (stage)")
    for view in s.actors:
        shown = ", ".join(f"{cid} ({stage})" for cid, stage in view.claims[:MAX_CLAIMS_SHOWN_PER_ACTOR])
        extra = len(view.claims) - MAX_CLAIMS_SHOWN_PER_ACTOR
        if extra > 0:
            shown += f" +{extra} more"
        actors.add_row(view.name, shown or Text("idle", style="dim"))

    decisions = Table(title="Decisions", title_justify="left", show_edge=False)
    for name, _ in s.by_decision:
        decisions.add_column(name, style=DECISION_STYLES.get(name, ""), justify="right")
    if s.by_decision:
        decisions.add_row(*(str(count) for _, count in s.by_decision))
    else:
        decisions.add_column("none yet", style="dim")

    llm = Table.grid(padding=(0, 2))
    llm.add_row("LLM", f"{s.endpoint} · {s.model}")
    llm.add_row("requests", f"{s.llm.requests:,} total · {_against(s.requests_per_min, s.rpm_limit)}")
    llm.add_row("tokens", f"{s.llm.tokens:,} total · {_against(s.tokens_per_min, s.tpm_limit)}")
    if s.llm.reused:
        llm.add_row("reused answers", reuse_line(s.llm, saved_cost(s.llm, prices)))
    pause = f" · paused {s.limiter_paused_s:.1f}s" if s.limiter_paused_s > 0 else ""
    llm.add_row("429s / retries / errors", f"{s.llm.rate_limited:,} / {s.llm.retries:,} / {s.llm.errors:,}{pause}")
    for line in s.limiter_pacing:
        llm.add_row("rate limiter", line)
    llm.add_row("ledger height", f"{s.ledger_height:,}")
    return Group(header, actors, decisions, llm)


def reuse_line(llm: LLMUsage, cost: Decimal | None) -> str:
    """Reused vs new calls, the tokens saved and, at known prices, their cost (--reuse-answers)."""
    percent = "-" if llm.reused_percent is None else f"{llm.reused_percent:.1f} %"
    saved = "" if cost is None else f" · {cost:,.4f} saved at the run's prices"
    return (f"{llm.reused:,} reused · {llm.new_calls:,} new calls ({percent} reused) · "
            f"{llm.tokens_saved:,} tokens saved{saved}")


def plain_line(snapshot: ProgressSnapshot) -> str:
    """One line of progress for logs and terminals that cannot redraw."""
    s = snapshot
    decisions = " ".join(f"{name}={count}" for name, count in s.by_decision) or "-"
    return (
        f"[{_duration(s.elapsed_s)}] {s.done}/{s.total} claims ({s.claims_per_s * 60:.1f}/min, "
        f"ETA {_duration(s.eta_s if s.remaining else 0)}) | {decisions} | requests {s.llm.requests} "
        f"({s.requests_per_min:.0f}/min) tokens {s.llm.tokens} ({s.tokens_per_min:.0f}/min) | "
        f"429s {s.llm.rate_limited} retries {s.llm.retries}{f' reused {s.llm.reused}' if s.llm.reused else ''} | "
        f"ledger {s.ledger_height}"
    )


def summary_table(summary: RunSummary, paths: Sequence[tuple[str, str]]) -> RenderableType:
    """The end-of-run table: decisions with payouts, LLM use, time, and where the files are."""
    title = Text(f"Run {summary.run_id}", style="bold")
    table = Table()
    table.add_column("decision")
    table.add_column("claims", justify="right")
    for name, count in summary.decisions.items():
        table.add_row(Text(name, style=DECISION_STYLES.get(name, "")), str(count))
    table.add_row(Text("total", style="bold"), str(summary.claims))

    facts = Table.grid(padding=(0, 2))
    llm = summary.llm
    facts.add_row("wall time", f"{summary.wall_seconds:.1f} s")
    facts.add_row("throughput", f"{summary.claims_per_minute or 0:,.1f} claims/min")
    facts.add_row("LLM", f"{llm.requests:,} requests · {llm.tokens:,} tokens · {llm.rate_limited:,} 429s · "
                         f"{llm.retries:,} retries")
    if llm.reused or summary.settings.reuse_answers:
        facts.add_row("reused answers", reuse_line(llm, summary.cost_saved))
    for line in summary.limiter:
        facts.add_row("rate limiter", line)
    for currency, sums in sorted(summary.totals.items()):
        facts.add_row(f"money ({currency})",
                      f"payout {sums.payout:.2f} · claimed {sums.claimed:.2f} · covered {sums.covered:.2f}")
    for label, path in paths:
        facts.add_row(label, path)
    return Group(title, table, facts)


def summary_notes(summary: RunSummary) -> list[str]:
    """What to do next, after the table: resume an incomplete run, anchor the checkpoint, verify."""
    notes = []
    if not summary.complete:
        notes.append(f"[red]run {summary.run_id} stopped before every claim was decided:[/] {summary.stopped}")
        notes.append(f"resume it with: {summary.resume_command}")
    elif summary.failed_not_input:
        causes = ", ".join(f"{n} {cause}" for cause, n in sorted(summary.failed_by_cause.items()) if cause != "input")
        notes.append(f"[yellow]{summary.failed_not_input} claims FAILED for a reason other than their input[/] "
                     f"({causes}); the error column of the results says why. Assess them again with: "
                     f"{summary.resume_command}")
    checkpoint = summary.checkpoint
    if checkpoint is not None:
        notes.append(
            f"newest signed checkpoint: {checkpoint.path} (tree size {checkpoint.tree_size}, root "
            f"{checkpoint.root[:16]}…, key {checkpoint.key_id}). Copy it, or {checkpoint.public_key_path}, off this "
            "host: only an anchor the writer cannot change catches a rewritten ledger.")
    notes.append(f"verify the audit trail: claim-assess verify --workspace {summary.settings.workspace}")
    return notes


def show_summary(console: Console, summary: RunSummary) -> None:
    files = summary.files
    console.print(summary_table(summary, [("results", files.results), ("line items", files.line_items),
                                          ("summary", files.summary), ("report", files.report),
                                          ("ledger", files.ledger)]))
    for note in summary_notes(summary):
        console.print(note, soft_wrap=True, highlight=False)
