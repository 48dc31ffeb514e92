"""Record formats of the ledger (spec §2 decisions, §3 LLM calls) and their validation.

A DecisionDraft is what an assessor knows; the ledger turns it into a DecisionRecord by adding the
chain fields (seq, previous_hash, record_hash), an id and a timestamp. Call records arrive as plain
JSON mappings (they are logged verbatim, whatever the LLM client put in them) and are checked here
before anything is written.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

from claim_assess.credentials import CALL_CREDENTIAL_FIELD
from claim_assess.errors import InvalidRecordError
from claim_assess.ledger.canonical import canonical_bytes, hash_and_line, seal_sorted, sha256_hex, sorted_text

# decision/2 adds what the rules made of the claim's money: covered_total and items_digest, H(the canonical list of
# the line items' coverage, ITEM_FIELDS each), which binds the items (written whole in line_items.parquet) to the
# chain at 64 characters a record: the items themselves would more than double a record and halve the ledger's
# throughput. The contract's decision/1 has neither, so replay could not compare them; decision/1 records are still
# read, verified and replayed (on the fields they hold); the writer writes decision/2 only.
DECISION_SCHEMA = "decision/2"
DECISION_SCHEMA_V1 = "decision/1"
# The columns of line_items.parquet (less run and claim): an auditor recomputes a claim's digest from that file.
ITEM_FIELDS = ("item_id", "status", "method", "category", "clause", "total", "llm_confidence")
EMPTY_ITEMS_DIGEST = sha256_hex(b"[]")  # a claim with no line item (the canonical form of an empty list is "[]")
CALL_SCHEMA = "llm_call/1"
DECISIONS = frozenset({"APPROVE", "PARTIAL", "DENY", "REFER", "FAILED"})
FAILED = "FAILED"

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_HEX32 = re.compile(r"[0-9a-f]{32}\Z")
_DECISION_ID = re.compile(r"dec_[0-9a-f]{16}\Z")
_CALL_ID = re.compile(r"call_[0-9a-f]{16}\Z")
_CONFIDENCE = re.compile(r"-?[0-9]+\.[0-9]{3}\Z")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z")


# ---------------------------------------------------------------------------------------------
# small helpers


def genesis_hash(ledger_id: str) -> str:
    return sha256_hex(("genesis:" + ledger_id).encode("utf-8"))


def new_ledger_id() -> str:
    return secrets.token_hex(16)


def decision_id() -> str:
    return "dec_" + secrets.token_hex(8)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds and "Z"; naive datetimes are refused (their zone is a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidRecordError(f"timestamp {moment!r} has no time zone")
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def format_confidence(value: float | None) -> str | None:
    """0.87 -> "0.870": three decimals, half-up, via the float's shortest repr (not its binary value)."""
    if value is None:
        return None
    return str(Decimal(repr(float(value))).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def record_hash_of(body: Mapping[str, Any]) -> str:
    """H(canonical bytes of the record without its record_hash field)."""
    return sha256_hex(canonical_bytes({k: v for k, v in body.items() if k != "record_hash"}))


class FrozenMap(Mapping[str, Any]):
    """A read-only, hashable, picklable mapping (MappingProxyType cannot be pickled for Ray)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] = ()) -> None:
        object.__setattr__(self, "_data", dict(data))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __eq__(self, other: object) -> bool:
        if type(other) is FrozenMap:
            return self._data == other._data
        return isinstance(other, Mapping) and self._data == dict(other.items())

    # The dict's own views and lookups, not the Mapping ABC's generic ones (which go through __iter__ and
    # __getitem__ key by key): every draft and record checks its versions map, and replay and what-if build one of
    # each per claim.
    def keys(self):
        return self._data.keys()

    def items(self):
        return self._data.items()

    def values(self):
        return self._data.values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def __reduce__(self):
        return (FrozenMap, (self._data,))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FrozenMap is read-only")


# ---------------------------------------------------------------------------------------------
# decisions


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise InvalidRecordError(what)


def _opt_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _digest_ok(value: Any) -> bool:
    return value is None or (isinstance(value, str) and bool(_HEX64.match(value)))


@dataclass(frozen=True)
class DecisionDraft:
    """What the assessor decided; the ledger adds the chain fields."""

    run_id: str
    claim_id: str
    policy_id: str | None
    decision: str
    reasons: tuple[str, ...]
    payout: str
    currency: str | None
    confidence: str | None
    input_digest: str | None
    policy_digest: str | None
    versions: Mapping[str, str | None]
    actor: str
    error: str | None
    covered_total: str | None = None  # money string; null when the rules never got that far (FAILED, no policy)
    items_digest: str = EMPTY_ITEMS_DIGEST  # items_digest(the line items); by default the digest of no line item

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "versions", FrozenMap(self.versions))
        _check_decision_fields(self)

    @property
    def idempotency_key(self) -> str:
        return self.run_id + ":" + self.claim_id


def _check_decision_fields(d: Any) -> None:
    _need(isinstance(d.run_id, str) and d.run_id != "", "run_id must be a non-empty string")
    _need(isinstance(d.claim_id, str) and d.claim_id != "", "claim_id must be a non-empty string")
    _need(_opt_str(d.policy_id), "policy_id must be a string or null")
    _need(d.decision in DECISIONS, f"decision must be one of {sorted(DECISIONS)}, got {d.decision!r}")
    _need(all(isinstance(r, str) for r in d.reasons), "reasons must be strings")
    _need(isinstance(d.payout, str), "payout must be a money string")
    _need(_opt_str(d.currency), "currency must be a string or null")
    _need(
        d.confidence is None or (isinstance(d.confidence, str) and bool(_CONFIDENCE.match(d.confidence))),
        f"confidence must be a string with 3 decimals or null, got {d.confidence!r}",
    )
    _need(_digest_ok(d.input_digest), "input_digest must be 64 lowercase hex or null")
    _need(_digest_ok(d.policy_digest), "policy_digest must be 64 lowercase hex or null")
    _need(
        all(isinstance(k, str) and _opt_str(v) for k, v in d.versions.items()),
        "versions must map strings to strings or null",
    )
    _need(isinstance(d.actor, str), "actor must be a string")
    _need(_opt_str(d.error), "error must be a string or null")
    _need(_opt_str(d.covered_total), "covered_total must be a money string or null")
    _need(_digest_ok(d.items_digest), "items_digest must be 64 lowercase hex")  # null only in a decision/1 record


_ITEM_KEYS = frozenset(ITEM_FIELDS)


def items_digest(items: Any) -> str:
    """H(canonical JSON list of the line items), each an object of exactly ITEM_FIELDS, strings or null."""
    items = list(items)
    for item in items:
        _need(type(item) is dict and item.keys() == _ITEM_KEYS
              and all(v is None or type(v) is str for v in item.values()),
              f"items must be objects of exactly {list(ITEM_FIELDS)}, strings or null")
    return sha256_hex(canonical_bytes(items))


@dataclass(frozen=True)
class CallRef:
    """A decision's pointer to one llm_calls.jsonl record."""

    call_id: str
    record_hash: str

    def to_json(self) -> dict[str, str]:
        return {"call_id": self.call_id, "record_hash": self.record_hash}


DECISION_FIELDS_V1 = frozenset(
    {
        "schema", "ledger_id", "seq", "previous_hash", "record_hash", "decision_id",
        "idempotency_key", "run_id", "claim_id", "policy_id", "created_at", "decision", "reasons",
        "payout", "currency", "confidence", "input_digest", "policy_digest", "llm_calls",
        "versions", "actor", "error",
    }
)  # fmt: skip
DECISION_FIELDS = DECISION_FIELDS_V1 | {"covered_total", "items_digest"}
FIELDS_OF_SCHEMA = {DECISION_SCHEMA: DECISION_FIELDS, DECISION_SCHEMA_V1: DECISION_FIELDS_V1}


@dataclass(frozen=True)
class DecisionRecord:
    """One line of decisions.jsonl (spec §2)."""

    ledger_id: str
    seq: int
    previous_hash: str
    record_hash: str
    decision_id: str
    idempotency_key: str
    run_id: str
    claim_id: str
    policy_id: str | None
    created_at: str
    decision: str
    reasons: tuple[str, ...]
    payout: str
    currency: str | None
    confidence: str | None
    input_digest: str | None
    policy_digest: str | None
    llm_calls: tuple[CallRef, ...]
    versions: Mapping[str, str | None]
    actor: str
    error: str | None
    covered_total: str | None = None
    items_digest: str | None = None  # None: a decision/1 record (it holds neither field)
    schema: str = field(default=DECISION_SCHEMA)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "llm_calls", tuple(self.llm_calls))
        object.__setattr__(self, "versions", FrozenMap(self.versions))

    def holds(self, name: str) -> bool:
        """Whether this record's schema has the field ``name`` (decision/1 lacks covered_total and items_digest)."""
        return name in FIELDS_OF_SCHEMA[self.schema]

    def body_json(self) -> dict[str, Any]:
        """The record without record_hash: the bytes its record_hash is computed over."""
        return {
            "schema": self.schema,
            "ledger_id": self.ledger_id,
            "seq": self.seq,
            "previous_hash": self.previous_hash,
            "decision_id": self.decision_id,
            "idempotency_key": self.idempotency_key,
            "run_id": self.run_id,
            "claim_id": self.claim_id,
            "policy_id": self.policy_id,
            "created_at": self.created_at,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "payout": self.payout,
            "currency": self.currency,
            "confidence": self.confidence,
            "input_digest": self.input_digest,
            "policy_digest": self.policy_digest,
            "llm_calls": [ref.to_json() for ref in self.llm_calls],
            "versions": dict(self.versions),
            "actor": self.actor,
            "error": self.error,
            **_money_fields(self.covered_total, self.items_digest),
        }

    def to_json(self) -> dict[str, Any]:
        body = self.body_json()
        body["record_hash"] = self.record_hash
        return body

    def line(self) -> bytes:
        return canonical_bytes(self.to_json()) + b"\n"

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> DecisionRecord:
        """Strict: exactly the spec's fields with the spec's types (record_hash is NOT re-checked here)."""
        _need(isinstance(d, Mapping), "a decision record must be a JSON object")
        keys = set(d)
        expected = FIELDS_OF_SCHEMA.get(d.get("schema"))
        _need(expected is not None, f"schema is {d.get('schema')!r}, not one of {sorted(FIELDS_OF_SCHEMA)}")
        missing, extra = expected - keys, keys - expected
        _need(not missing, f"decision record lacks {sorted(missing)}")
        _need(not extra, f"decision record has unknown fields {sorted(extra)}")
        if d["schema"] == DECISION_SCHEMA:
            _need(isinstance(d["items_digest"], str), "items_digest must be 64 lowercase hex")
        _need(isinstance(d["ledger_id"], str) and bool(_HEX32.match(d["ledger_id"])), "bad ledger_id")
        _need(type(d["seq"]) is int and d["seq"] >= 0, "seq must be a non-negative integer")
        _need(isinstance(d["previous_hash"], str) and bool(_HEX64.match(d["previous_hash"])), "bad previous_hash")
        _need(isinstance(d["record_hash"], str) and bool(_HEX64.match(d["record_hash"])), "bad record_hash")
        _need(isinstance(d["decision_id"], str) and bool(_DECISION_ID.match(d["decision_id"])), "bad decision_id")
        _need(isinstance(d["created_at"], str) and bool(_TIMESTAMP.match(d["created_at"])), "bad created_at")
        _need(isinstance(d["reasons"], list), "reasons must be a list")
        _need(isinstance(d["versions"], Mapping), "versions must be an object")
        calls = d["llm_calls"]
        _need(isinstance(calls, list), "llm_calls must be a list")
        refs = []
        for ref in calls:
            _need(isinstance(ref, Mapping) and set(ref) == {"call_id", "record_hash"}, "bad llm_calls entry")
            _need(isinstance(ref["call_id"], str) and isinstance(ref["record_hash"], str), "bad llm_calls entry")
            refs.append(CallRef(ref["call_id"], ref["record_hash"]))
        record = cls(
            ledger_id=d["ledger_id"],
            seq=d["seq"],
            previous_hash=d["previous_hash"],
            record_hash=d["record_hash"],
            decision_id=d["decision_id"],
            idempotency_key=d["idempotency_key"],
            run_id=d["run_id"],
            claim_id=d["claim_id"],
            policy_id=d["policy_id"],
            created_at=d["created_at"],
            decision=d["decision"],
            reasons=tuple(d["reasons"]),
            payout=d["payout"],
            currency=d["currency"],
            confidence=d["confidence"],
            input_digest=d["input_digest"],
            policy_digest=d["policy_digest"],
            llm_calls=tuple(refs),
            versions=d["versions"],
            actor=d["actor"],
            error=d["error"],
            covered_total=d.get("covered_total"),
            items_digest=d.get("items_digest"),
            schema=d["schema"],
        )
        _check_decision_fields(record)
        _need(
            record.idempotency_key == record.run_id + ":" + record.claim_id,
            "idempotency_key is not run_id + ':' + claim_id",
        )
        return record


def _decision_body(draft: DecisionDraft, ledger_id: str, seq: int, previous_hash: str, created_at: str,
                   calls: tuple[CallRef, ...], did: str, versions: dict[str, Any]) -> dict[str, Any]:
    """The decision/2 object before its record_hash (ledger spec section 2, and covered_total and items_digest)."""
    return {
        "schema": DECISION_SCHEMA,
        "ledger_id": ledger_id,
        "seq": seq,
        "previous_hash": previous_hash,
        "decision_id": did,
        "idempotency_key": draft.idempotency_key,
        "run_id": draft.run_id,
        "claim_id": draft.claim_id,
        "policy_id": draft.policy_id,
        "created_at": created_at,
        "decision": draft.decision,
        "reasons": list(draft.reasons),
        "payout": draft.payout,
        "currency": draft.currency,
        "confidence": draft.confidence,
        "input_digest": draft.input_digest,
        "policy_digest": draft.policy_digest,
        "llm_calls": [{"call_id": ref.call_id, "record_hash": ref.record_hash} for ref in calls],
        "versions": versions,
        "actor": draft.actor,
        "error": draft.error,
        **_money_fields(draft.covered_total, draft.items_digest),
    }


def _money_fields(covered_total: str | None, digest_of_items: str | None) -> dict[str, Any]:
    """decision/2's two fields (none for a decision/1 record, whose ``items_digest`` is None)."""
    if digest_of_items is None:
        return {}
    return {"covered_total": covered_total, "items_digest": digest_of_items}


def make_decision(
    draft: DecisionDraft,
    *,
    ledger_id: str,
    seq: int,
    previous_hash: str,
    created_at: str,
    calls: tuple[CallRef, ...],
    new_id: str | None = None,
) -> tuple[DecisionRecord, bytes]:
    """Build the next chained record for ``draft``; returns it and its line (with "\\n").

    Hot path of every append: the body is encoded once by the C encoder and the record_hash member
    spliced in (canonical.seal_sorted). That is exact here because a DecisionDraft is validated to
    hold only strings, string tuples and a string map (no floats, no big ints), and the only
    members sorting before "run_id" that are containers (reasons, llm_calls) hold no "run_id" key.
    """
    versions = dict(draft.versions)
    did = new_id or decision_id()
    body = _decision_body(draft, ledger_id, seq, previous_hash, created_at, calls, did, versions)
    sealed = None
    if type(seq) is int and 0 <= seq <= 2**53 - 1 and "".join(versions).isascii():
        sealed = seal_sorted(sorted_text(body), "record_hash", "run_id")
    hashed, line = sealed if sealed is not None else hash_and_line(body)
    record = DecisionRecord(
        ledger_id=ledger_id,
        seq=seq,
        previous_hash=previous_hash,
        record_hash=hashed,
        decision_id=did,
        idempotency_key=draft.idempotency_key,
        run_id=draft.run_id,
        claim_id=draft.claim_id,
        policy_id=draft.policy_id,
        created_at=created_at,
        decision=draft.decision,
        reasons=draft.reasons,
        payout=draft.payout,
        currency=draft.currency,
        confidence=draft.confidence,
        input_digest=draft.input_digest,
        policy_digest=draft.policy_digest,
        llm_calls=calls,
        versions=versions,
        actor=draft.actor,
        error=draft.error,
        covered_total=draft.covered_total,
        items_digest=draft.items_digest,
    )
    return record, line + b"\n"


# ---------------------------------------------------------------------------------------------
# LLM calls

CALL_FIELDS = frozenset(
    {
        "schema", "call_id", "run_id", "claim_id", "purpose", "item_id", "attempt", "model",
        "endpoint", "request", "response", "status", "error", "prompt_tokens",
        "completion_tokens", "latency_ms", "started_at", "finished_at",
    }
)  # fmt: skip
# A call answered from an earlier run's record (--reuse-answers) adds one field, {call_id, record_hash} of that
# record; every other record keeps exactly CALL_FIELDS. An optional field, not a new schema: the records of sent
# calls are unchanged, and a reader that predates the field refuses such a record (an unknown field), never misreads.
REUSED_FROM = "reused_from"
REUSED_CALL_FIELDS = CALL_FIELDS | {REUSED_FROM}
# "preflight": the one request a run makes before any claim, to prove the endpoint, key, model and response format
# (claim_id null: it is about no claim). It is logged like every attempt, never referenced by a decision.
PREFLIGHT = "preflight"
_PURPOSES = frozenset({"coverage", "assessment", "facts_check", PREFLIGHT})
_STATUS_WORDS = frozenset({"timeout", "connection_error"})




def _copy_checked(value: Any, where: str) -> Any:
    """Deep-copy into plain dict/list, rejecting floats and keys that look like credentials.

    The copy means canonicalization sees exact JSON types, and later mutation by the caller
    cannot change what was hashed.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict or isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRecordError(f"call record key {where}.{key!r} is not a string")
            if CALL_CREDENTIAL_FIELD.search(key):
                raise InvalidRecordError(f"call record must not hold credentials: key {where}.{key}")
            out[key] = _copy_checked(item, f"{where}.{key}")
        return out
    if kind is list or kind is tuple:
        return [_copy_checked(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, float):
        raise InvalidRecordError(f"call record field {where} is a float ({value!r}); use a string or int")
    return value  # anything else is refused by canonicalization with a CanonicalFormError


class _SlowPath(Exception):
    """The fast copy cannot decide; _copy_checked gives the exact verdict and message."""


def _fast_hook(obj: dict[str, Any]) -> dict[str, Any]:
    keys = "\x00".join(obj)
    if not keys.isascii() or CALL_CREDENTIAL_FIELD.search(keys):
        raise _SlowPath
    return obj


def _no_float(text: str) -> Any:
    raise _SlowPath


def _small_int(text: str) -> int:
    value = int(text)
    if -(2**53 - 1) <= value <= 2**53 - 1:
        return value
    raise _SlowPath


_FAST_DECODER = json.JSONDecoder(
    object_hook=_fast_hook, parse_float=_no_float, parse_int=_small_int, parse_constant=_no_float
)  # built once: json.loads with hooks constructs a decoder per call


_PLAIN_DECODER = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_float, parse_int=_small_int)
_API_KEY_WORD = re.compile(r"api[_-]?key")  # CALL_CREDENTIAL_FIELD on lower-cased text, behind a cheap `in` test


def _plain_copy(call: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(deep plain copy, its sorted text if it is fast-path canonical, else None).

    A C encode + decode round trip copies far faster than walking in Python; any doubt (floats,
    big ints, non-ASCII or credential-like keys, non-JSON types) falls back to _copy_checked, which
    raises the precise error or returns the copy for the reference canonicalization.
    """
    try:
        source = call if type(call) is dict else dict(call)
        text = sorted_text(source)
        lower = text.lower()
        if text.isascii() and "authorization" not in lower and not ("api" in lower and _API_KEY_WORD.search(lower)):
            # no key anywhere in the text can be non-ASCII or look like a credential: decode
            # without the per-dict Python hook (floats and unsafe ints still stop it)
            plain, end = _PLAIN_DECODER.scan_once(text, 0)
        else:
            plain, end = _FAST_DECODER.scan_once(text, 0)  # the C scanner: no outer whitespace
        if end != len(text) or plain != source:
            # the encoder turns tuples into lists and non-string keys into strings (at any depth,
            # the top level included): such input takes the checked walk, which names them
            raise _SlowPath
    except (_SlowPath, TypeError, ValueError, RecursionError, StopIteration):
        return _copy_checked(call, "call"), None
    return plain, text


def _opt_int(value: Any) -> bool:
    return value is None or (type(value) is int and value >= 0)


def validate_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """Check a call record as handed in (spec §3, without record_hash); return a plain-dict copy."""
    return _validated_copy(call)[0]


def _check_call_fields(call: Mapping[str, Any]) -> None:
    # Plain ifs, not _need(cond, f"..."): this runs for every call record, and an f-string argument
    # is formatted even when the check passes.
    _need(type(call) is dict or isinstance(call, Mapping), "a call record must be a mapping")
    if call.keys() != CALL_FIELDS and call.keys() != REUSED_CALL_FIELDS:
        keys = set(call)
        _need("record_hash" not in keys, "call records are handed in without record_hash; the ledger adds it")
        missing, extra = CALL_FIELDS - keys, keys - CALL_FIELDS
        _need(not missing, f"call record lacks {sorted(missing)}")
        _need(not extra, f"call record has unknown fields {sorted(extra)}")


def _validated_copy(call: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    _check_call_fields(call)
    plain, text = _plain_copy(call)  # first: its errors (floats, credentials) are the precise ones
    _check_call_values(call)
    return plain, text


def _check_call_values(call: Mapping[str, Any]) -> None:
    if call["schema"] != CALL_SCHEMA:
        raise InvalidRecordError(f"call schema is {call['schema']!r}, not {CALL_SCHEMA!r}")
    call_id = call["call_id"]
    if not (type(call_id) is str and _CALL_ID.match(call_id)):
        raise InvalidRecordError("bad call_id")
    about_no_claim = call["purpose"] == PREFLIGHT and call["claim_id"] is None
    if not (isinstance(call["run_id"], str) and (isinstance(call["claim_id"], str) or about_no_claim)):
        raise InvalidRecordError("run_id/claim_id must be strings (claim_id null only for a preflight)")
    if call["purpose"] not in _PURPOSES:
        raise InvalidRecordError(f"purpose must be coverage, assessment or preflight, got {call['purpose']!r}")
    if not _opt_str(call["item_id"]):
        raise InvalidRecordError("item_id must be a string or null")
    attempt = call["attempt"]
    if not (type(attempt) is int and attempt >= 1):
        raise InvalidRecordError("attempt must be an integer >= 1")
    if not _opt_str(call["model"]):
        raise InvalidRecordError("model must be a string")
    endpoint = call["endpoint"]
    if not isinstance(endpoint, str):
        raise InvalidRecordError("endpoint must be a string")
    if "@" in endpoint:  # userinfo needs an "@"; only then is parsing worth its cost
        parts = urlsplit(endpoint)
        _need(parts.username is None and parts.password is None, "endpoint must not carry credentials")
    status = call["status"]
    if not ((type(status) is int and 100 <= status <= 599) or status in _STATUS_WORDS):
        raise InvalidRecordError(f"status must be an HTTP status or timeout/connection_error, got {status!r}")
    if not _opt_str(call["error"]):
        raise InvalidRecordError("error must be a string or null")
    if not (_opt_int(call["prompt_tokens"]) and _opt_int(call["completion_tokens"])):
        raise InvalidRecordError("token counts must be ints or null")
    latency = call["latency_ms"]
    if not (type(latency) is int and latency >= 0):
        raise InvalidRecordError("latency_ms must be a non-negative int")
    if not (isinstance(call["started_at"], str) and isinstance(call["finished_at"], str)):
        raise InvalidRecordError("timestamps must be strings")
    if REUSED_FROM in call and not is_call_pointer(call[REUSED_FROM]):
        raise InvalidRecordError("reused_from must be {call_id, record_hash} of a call record")


def is_call_pointer(value: Any) -> bool:
    """{call_id: "call_" + 16 hex, record_hash: 64 hex}: how a record names another one."""
    return (isinstance(value, Mapping) and value.keys() == {"call_id", "record_hash"}
            and isinstance(value["call_id"], str) and bool(_CALL_ID.match(value["call_id"]))
            and isinstance(value["record_hash"], str) and bool(_HEX64.match(value["record_hash"])))


def hashed_call(call: Mapping[str, Any]) -> tuple[dict[str, Any], bytes]:
    """A validated call record with its record_hash added, and its line for llm_calls.jsonl.

    Fast path: the members sorting before "request" are all validated scalars, so seal_sorted can
    splice record_hash into the text the copy was made from.
    """
    body, text = _validated_copy(call)
    sealed = seal_sorted(text, "record_hash", "request") if text is not None else None
    hashed, line = sealed if sealed is not None else hash_and_line(body)
    body["record_hash"] = hashed
    return body, line + b"\n"
