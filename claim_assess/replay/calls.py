"""The LLM calls a decision cites, found in llm_calls.jsonl by reading forward in step with the decisions.

Why a forward walk and no index: the writer logs a decision's calls in the same batch as the decision, before it,
in call order, and only appends; so the calls cited by decisions.jsonl appear in llm_calls.jsonl in the order of
the citations (``claim_assess.ledger.verify`` relies on the same fact). Each cited call is found by reading on from
the previous hit, skipping the uncited lines (other runs, calls of claims cut short) with a byte search before
any parse: memory stays flat whatever the ledger's size. A citation not found before the end rewinds the reader
to where it was, so one absent call costs one read of the rest of the file and hides none of the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from claim_assess.errors import CanonicalFormError, EvidenceMissing, InvalidRecordError, LedgerError
from claim_assess.ledger.filestore import CALLS_FILE
from claim_assess.ledger.lines import read_call
from claim_assess.ledger.records import CallRef


class CallLog:
    """Reads ``llm_calls.jsonl`` forward; ``cited(refs)`` returns the records a decision cites, checked."""

    def __init__(self, directory: Path, *, checked: bool = True) -> None:
        # checked=False: records are read without re-deriving their canonical form and hash (what-if, which uses
        # the answers and vouches for nothing; the cited record_hash must still be the record's own field).
        self._checked = checked
        path = directory / CALLS_FILE
        try:
            self._f: IO[bytes] | None = open(path, "rb")
        except FileNotFoundError:
            self._f = None  # every cited call is then missing evidence, reported per decision
        except OSError as exc:
            raise LedgerError(f"cannot read {path}: {exc}") from exc

    def close(self) -> None:
        if self._f is not None:
            self._f.close()

    def cited(self, refs: tuple[CallRef, ...]) -> list[dict[str, Any]]:
        """The call records of ``refs``, in citation order; EvidenceMissing names the first that is not there."""
        return [self._find(ref) for ref in refs]

    def _find(self, ref: CallRef) -> dict[str, Any]:
        f = self._f
        if f is None:
            raise EvidenceMissing(f"cited call {ref.call_id}: {CALLS_FILE} is missing")
        start, needle = f.tell(), ref.call_id.encode("ascii", "replace")
        for raw in f:
            if needle not in raw:
                continue
            try:
                value = read_call(raw, checked=self._checked)
            except (CanonicalFormError, InvalidRecordError) as exc:
                if b'"call_id":"' + needle + b'"' in raw:
                    raise EvidenceMissing(f"cited call {ref.call_id}: its record is damaged ({exc})") from exc
                continue  # another call whose text mentions this id
            if value["call_id"] != ref.call_id:
                continue
            if value["record_hash"] != ref.record_hash:
                raise EvidenceMissing(f"cited call {ref.call_id}: its record_hash differs from the one the decision "
                                      "cites (the call record was changed)")
            return value
        f.seek(start)
        raise EvidenceMissing(f"cited call {ref.call_id} has no record in {CALLS_FILE}")
