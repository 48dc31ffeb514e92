"""What the run was asked to do and what anchors its decisions: the settings, the LLM use, the ledger's
newest signed checkpoint."""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from claim_assess.credentials import shown_setting
from claim_assess.ledger.checkpoints import CHECKPOINTS_FILE
from claim_assess.report.data import ReportData
from claim_assess.report.markup import e, empty, table
from claim_assess.run.workspace import LEDGER_DIR

CHECKPOINT_FIELDS = ("created_at", "tree_size", "root", "head_hash", "ledger_id", "key_id", "signature", "schema")


def shown_settings(settings: Mapping[str, object]) -> list[tuple[str, str]]:
    """Settings as (name, text), sorted by name, with anything that could be a credential hidden."""
    return [(str(name), shown_setting(str(name), value)) for name, value in sorted(settings.items())]


def settings_section(data: ReportData) -> str:
    summary = data.summary
    if summary is None:
        body = empty("No settings: summary.json could not be read.")
        return f'<section id="settings"><h2>Run settings</h2>{body}</section>'
    rows = shown_settings({**summary.settings.to_json(), "endpoint": summary.endpoint})
    # reused_percent is None for a run that made no call at all (its claims decided by rules)
    llm_rows = [(name, "—" if value is None else f"{value:,}") for name, value in summary.llm.to_json().items()]
    return (f'<section id="settings"><h2>Run settings</h2><div class="two">{table(["setting", "value"], rows)}'
            f'{table(["LLM use", "count"], llm_rows, numeric=(1,))}</div></section>')


def _coverage(height: int | None, size: object) -> str:
    """Whether the checkpoint anchors every decision the ledger held when the run ended."""
    if height is None or not isinstance(size, int):
        return ""
    if size >= height:
        return (f'<p class="ok">It covers this run: the ledger held {height:,} decisions when the run ended and '
                f'the checkpoint anchors {size:,}.</p>')
    return (f'<p class="alert">The newest checkpoint anchors {size:,} decisions; {height - size:,} written '
            f'by the end of this run are not anchored yet.</p>')


def checkpoint_section(data: ReportData) -> str:
    cp = data.checkpoint
    if cp is None:
        return ('<section id="checkpoint"><h2>Ledger checkpoint</h2><p class="empty">No checkpoint yet: the ledger '
                'has no signed checkpoint to anchor this run.</p></section>')
    rows = [[name, "—" if cp.get(name) is None else str(cp.get(name))] for name in CHECKPOINT_FIELDS]
    height = data.summary.ledger_height if data.summary is not None else None
    verify = f"claim-assess verify --workspace {shlex.quote(str(data.workspace.root))}"
    return (f'<section id="checkpoint"><h2>Ledger checkpoint</h2><p class="caption">The newest signed checkpoint '
            f'in {LEDGER_DIR}/{CHECKPOINTS_FILE}. Copy it off this machine: an anchor the writer cannot change is '
            f'what proves the decisions were not rewritten. Check it with <code>{e(verify)}</code>.</p>'
            f'{_coverage(height, cp.get("tree_size"))}{table(["field", "value"], rows, css="mono")}</section>')
