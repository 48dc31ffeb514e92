"""What replay says of one decision, and how a recorded decision is compared with its replay.

The compared fields come from the record type, not from a list typed here: every field of a ``DecisionDraft``
(what an assessor decides and the ledger records) except the context replay takes from the record itself (the run
and the actor) and the versions (the rules version is checked before anything runs, a different rules version is
"rules changed", never a difference). A field the draft gains later is compared without a change here. After them
come the cited calls: the rules must use every attempt the decision cites, no more, no fewer. A decision/1 record
(an older ledger's) holds no covered_total and no items_digest: those two are not compared for it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from claim_assess.ledger.records import DecisionDraft, DecisionRecord

REPRODUCED, DIFFERS, EVIDENCE_MISSING, RULES_CHANGED = "reproduced", "differs", "evidence_missing", "rules_changed"
STATUSES = (REPRODUCED, DIFFERS, EVIDENCE_MISSING, RULES_CHANGED)
FAILING = frozenset({DIFFERS, EVIDENCE_MISSING})  # what makes replay exit 1; "rules changed" is not a failure

_CONTEXT = frozenset({"run_id", "actor", "versions"})
COMPARED_FIELDS = tuple(f.name for f in fields(DecisionDraft) if f.name not in _CONTEXT)
CALLS_FIELD = "llm_calls"
_RECORDED_MARK = ": recorded: "  # how the replay's advisor words the end of a call that gave no answer


@dataclass(frozen=True)
class Verdict:
    seq: int
    run_id: str | None
    claim_id: str | None
    status: str
    field: str | None = None  # the first differing field ("differs")
    recorded: Any = None
    replayed: Any = None
    message: str | None = None  # why the evidence is missing, or which rules versions

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "run_id": self.run_id, "claim_id": self.claim_id, "status": self.status,
                "field": self.field, "recorded": self.recorded, "replayed": self.replayed, "message": self.message}


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _same_error(recorded: Any, replayed: Any) -> bool:
    """Equal, or the same step failed on the same recorded attempt error.

    A call that ended without an answer fails its claim with the client's own wording around the attempt's error
    (attempts made, seconds elapsed), which no replay can re-derive; the step and the attempt's error can be."""
    if recorded == replayed:
        return True
    if not (isinstance(recorded, str) and isinstance(replayed, str) and _RECORDED_MARK in replayed):
        return False
    step, attempt_error = replayed.split(_RECORDED_MARK, 1)
    return recorded.startswith(step + ": ") and f"({attempt_error})" in recorded


def compare(record: DecisionRecord, replayed: DecisionDraft, asked: list[str]) -> Verdict:
    """REPRODUCED, or DIFFERS at the first field whose recorded and replayed values differ."""
    for name in COMPARED_FIELDS:
        if not record.holds(name):
            continue  # a decision/1 record: written before covered_total and items_digest were recorded
        old, new = getattr(record, name), getattr(replayed, name)
        same = _same_error(old, new) if name == "error" else old == new  # both sides hold tuples, never lists
        if not same:
            return Verdict(record.seq, record.run_id, record.claim_id, DIFFERS, name, _json_value(old),
                           _json_value(new))
    cited = sorted(ref.call_id for ref in record.llm_calls)
    if cited != sorted(asked):
        return Verdict(record.seq, record.run_id, record.claim_id, DIFFERS, CALLS_FIELD, cited, sorted(asked))
    return Verdict(record.seq, record.run_id, record.claim_id, REPRODUCED)
