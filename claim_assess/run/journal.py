"""runs/<run_id>/outcomes.jsonl: every claim outcome the driver received, as it arrived.

Why: the result files are written at the end of a run, and a driver killed with ``kill -9`` never gets
there. The journal lets ``--resume`` rebuild the result rows of the claims already decided instead of
paying for them again. The ledger stays the truth about decisions: a claim is skipped on resume only
if the ledger holds a non-FAILED decision for it AND the journal holds its row; a claim the ledger has
but the journal lost (the driver died between the two) is assessed again, and the ledger's
idempotency key hands back the existing decision.

Each line is flushed as it is written (a killed process loses nothing the OS already has); a torn
last line from a crash is ignored on reading, and cut off before the next driver appends to the file
(``cut_torn_tail``). The last line for a claim wins (a FAILED claim re-run on resume appears twice).
A line: {"row": ResultRow, "items": [ItemRow], "usage": LLMUsage, "failure": cause}
(``failure``: what a FAILED claim was about, claims.pipeline.FAILURE_CAUSES; absent in journals of older versions).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from claim_assess.claims.decision import FAILED
from claim_assess.claims.results import ItemRow, ResultRow
from claim_assess.files import cut_torn_tail
from claim_assess.llm.accounting import LLMUsage

_MONEY = {"payout", "claimed_total", "covered_total", "total"}
_TIMES = {"started_at", "finished_at"}


@dataclass(frozen=True)
class JournaledClaim:
    row: ResultRow
    items: tuple[ItemRow, ...]
    usage: LLMUsage
    failure: str | None = None


def _encode(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot journal {type(value).__name__}")


def _decode(record: dict) -> dict:
    out = dict(record)
    for key in _MONEY & out.keys():
        out[key] = Decimal(out[key]) if out[key] is not None else None
    for key in _TIMES & out.keys():
        out[key] = dt.datetime.fromisoformat(out[key])
    if "reasons" in out:
        out["reasons"] = tuple(out["reasons"])
    return out


class OutcomeJournal:
    def __init__(self, path: Path):
        self.path = Path(path)
        cut_torn_tail(self.path)
        self._file = self.path.open("a", encoding="utf-8")

    def append(self, row: ResultRow, items: tuple[ItemRow, ...], usage: LLMUsage, failure: str | None = None) -> None:
        line = {"row": asdict(row), "items": [asdict(item) for item in items], "usage": usage.to_json()}
        if failure is not None:
            line["failure"] = failure
        self._file.write(json.dumps(line, default=_encode, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def journaled_outcomes(path: Path) -> dict[str, bool]:
    """Every journaled claim, and whether its last outcome is a decision other than FAILED (what a resume may
    keep, if the ledger agrees): ids and a flag, not the outcomes, so a resume of a million claims holds ids only."""
    outcomes: dict[str, bool] = {}
    for record in _lines(Path(path)):
        # the last line wins: a claim decided, then re-run and FAILED, is FAILED
        outcomes[record["row"]["claim_id"]] = record["row"]["decision"] != FAILED
    return outcomes


def journaled_claims(path: Path) -> Iterator[JournaledClaim]:
    """The last outcome of every journaled claim, in journal order; the result files are written from this.

    Two passes over the file so memory holds one claim at a time, not the run: the first finds each claim's
    last line, the second decodes only those.
    """
    path = Path(path)
    last = {record["row"]["claim_id"]: number for number, record in enumerate(_lines(path))}
    for number, record in enumerate(_lines(path)):
        if last.get(record["row"]["claim_id"]) == number:
            yield JournaledClaim(ResultRow(**_decode(record["row"])),
                                 tuple(ItemRow(**_decode(item)) for item in record["items"]),
                                 LLMUsage.from_json(record.get("usage")), _failure(record))


def _failure(record: dict) -> str | None:
    if record["row"]["decision"] != FAILED:
        return None
    return record.get("failure") or "unknown"  # an older journal did not say: not counted as the input's fault


def _lines(path: Path) -> Iterator[dict]:
    if not path.exists():
        return
    with path.open("rb") as file:
        for raw in file:
            if not raw.endswith(b"\n"):
                return  # torn by a crash mid-write: that outcome is simply re-assessed
            yield json.loads(raw)
