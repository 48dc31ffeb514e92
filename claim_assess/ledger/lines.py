"""Reading ledger lines one at a time: shared by recovery on start and by verify.

Failures come in two kinds, and the difference matters on the last line of a file:
- CanonicalFormError: the bytes do not parse, are not canonical, or do not match their own
  record_hash (or lack the final newline). On the last line this is what a torn write looks like.
- InvalidRecordError: the bytes are a well-formed, self-consistent record of the wrong shape.
  No crash produces that, so it is corruption wherever it appears.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from claim_assess.errors import CanonicalFormError, InvalidRecordError
from claim_assess.ledger.canonical import parse_sealed
from claim_assess.ledger.records import CALL_SCHEMA, DECISIONS, FIELDS_OF_SCHEMA, DecisionRecord


def iter_lines(f: IO[bytes]) -> Iterator[tuple[int, int, bytes, bool]]:
    """(line number from 1, byte offset, raw line with its newline if any, is_last) per line."""
    previous: tuple[int, int, bytes] | None = None
    offset = 0
    number = 0
    for raw in f:
        if previous is not None:
            yield (*previous, False)
        number += 1
        previous = (number, offset, raw)
        offset += len(raw)
    if previous is not None:
        yield (*previous, True)


def _parse_hashed(raw: bytes, next_key: str) -> dict[str, Any]:
    if not raw.endswith(b"\n"):
        raise CanonicalFormError("line has no terminating newline")
    value, computed = parse_sealed(raw, next_key)
    stored = value.get("record_hash")
    if not isinstance(stored, str):
        raise CanonicalFormError("record has no record_hash string to check")
    if computed != stored:
        raise CanonicalFormError("record_hash does not match the record's canonical bytes")
    return value


def read_decision(raw: bytes) -> DecisionRecord:
    """One decisions.jsonl line -> record, checking canonical form, record_hash and shape."""
    return DecisionRecord.from_json(_parse_hashed(raw, "run_id"))


def read_decision_unchecked(raw: bytes) -> DecisionRecord:
    """``read_decision`` without the canonical-form and record_hash checks, for readers that use the records and
    do not vouch for them (what-if: ``verify`` is what proves the ledger intact). The shape is still checked."""
    return DecisionRecord.from_json(_parse_plain(raw))


def _parse_plain(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise CanonicalFormError(f"not JSON: {exc}") from exc
    if type(value) is not dict:
        raise CanonicalFormError("not a JSON object")
    return value


def _bad(what: str) -> InvalidRecordError:
    return InvalidRecordError(what)


def read_decision_fields(raw: bytes) -> dict[str, Any]:
    """One decisions.jsonl line -> its parsed JSON, checking canonical form, record_hash, and the
    shape of the fields a chain walk relies on (recovery and verify stream millions of these, and
    building a full DecisionRecord would triple the cost; read_decision checks every field)."""
    value = _parse_hashed(raw, "run_id")
    expected = FIELDS_OF_SCHEMA.get(value.get("schema"))  # decision/2, or an older ledger's decision/1
    if expected is None:
        raise _bad(f"schema is {value.get('schema')!r}, not one of {sorted(FIELDS_OF_SCHEMA)}")
    if value.keys() != expected:
        keys = set(value)
        missing, unknown = sorted(expected - keys), sorted(keys - expected)
        raise _bad(f"decision record lacks {missing} / has unknown fields {unknown}")
    seq = value["seq"]
    if type(seq) is not int or seq < 0:
        raise _bad("seq must be a non-negative integer")
    run_id, claim_id = value["run_id"], value["claim_id"]
    if type(run_id) is not str or type(claim_id) is not str or value["idempotency_key"] != run_id + ":" + claim_id:
        raise _bad("idempotency_key is not run_id + ':' + claim_id")
    if value["decision"] not in DECISIONS:
        raise _bad(f"decision {value['decision']!r} is not one of {sorted(DECISIONS)}")
    if type(value["ledger_id"]) is not str or type(value["previous_hash"]) is not str:
        raise _bad("ledger_id and previous_hash must be strings")
    calls = value["llm_calls"]
    if type(calls) is not list or not all(
        type(ref) is dict
        and ref.keys() == _REF_KEYS
        and type(ref["call_id"]) is str
        and type(ref["record_hash"]) is str
        for ref in calls
    ):
        raise _bad("llm_calls must be a list of {call_id, record_hash}")
    return value


_REF_KEYS = frozenset({"call_id", "record_hash"})


def read_call(raw: bytes, *, checked: bool = True) -> dict[str, Any]:
    """One llm_calls.jsonl line -> record, checking canonical form, record_hash (unless not ``checked``: see
    ``read_decision_unchecked``) and schema."""
    value = _parse_hashed(raw, "request") if checked else _parse_plain(raw)
    if value.get("schema") != CALL_SCHEMA:
        raise InvalidRecordError(f"schema is {value.get('schema')!r}, not {CALL_SCHEMA!r}")
    if not isinstance(value.get("call_id"), str):
        raise InvalidRecordError("call record has no call_id string")
    return value
