"""Canonical JSON (RFC 8785) and the record formats of the ledger."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from datetime import datetime, timedelta, timezone

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from claim_assess.errors import CanonicalFormError, InvalidRecordError, LedgerCorruptError, LedgerError
from claim_assess.ledger.canonical import (
    canonical_bytes,
    digest,
    hash_and_line,
    parse_canonical,
    parse_canonical_hashed,
    parse_sealed,
    sha256_hex,
)
from claim_assess.ledger.records import (
    DecisionDraft,
    DecisionRecord,
    decision_id,
    format_confidence,
    items_digest,
    format_timestamp,
    genesis_hash,
    hashed_call,
    _copy_checked,
    make_decision,
    validate_call,
)

# --- RFC 8785 test vectors -------------------------------------------------------------------

RFC_SORTING_INPUT = (
    '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",'
    ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",'
    ' "\\u00f6": "Latin Small Letter O With Diaeresis"}'
)
RFC_SORTING_OUTPUT = (
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",'
    '"\u20ac":"Euro Sign","\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
).encode("utf-8")


def test_keys_sort_by_utf16_code_units_including_non_bmp():
    # U+1F600 is the surrogate pair D83D DE00 in UTF-16, so it sorts BEFORE U+FB33 (code-point order
    # would put it after): the case a plain sort_keys=True gets wrong.
    assert canonical_bytes(json.loads(RFC_SORTING_INPUT)) == RFC_SORTING_OUTPUT


def test_rfc8785_section_3_2_4_example():
    text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode("utf-8")
    assert canonical_bytes(json.loads(text)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, b"0"),
        (-0.0, b"0"),
        (1.0, b"1"),
        (-1.5, b"-1.5"),
        (1e21, b"1e+21"),
        (1e20, b"100000000000000000000"),
        (1e-7, b"1e-7"),
        (0.000001, b"0.000001"),
        (2**53 - 1, b"9007199254740991"),
        (-(2**53 - 1), b"-9007199254740991"),
    ],
)
def test_number_forms(value, expected):
    assert canonical_bytes([value]) == b"[" + expected + b"]"


def test_unicode_escapes_only_for_controls_quote_backslash():
    value = {"s": "\x00\x1f\x7f\u2028 \"\\/\b\f\n\r\té😀"}
    assert canonical_bytes(value) == '{"s":"\\u0000\\u001f\x7f\u2028 \\"\\\\/\\b\\f\\n\\r\\té😀"}'.encode()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 2**53, -(2**53), "\ud800", {1: "x"}, object()])
def test_values_without_canonical_form_raise(bad):
    with pytest.raises(CanonicalFormError):
        canonical_bytes({"k": bad})


def test_digest_accepts_floats_and_is_sha256_of_canonical_bytes():
    value = {"odometer_km": 12.5, "b": [1, "x"]}
    assert digest(value) == hashlib.sha256(b'{"b":[1,"x"],"odometer_km":12.5}').hexdigest()
    assert sha256_hex(b"") == hashlib.sha256(b"").hexdigest()


# --- the fast path agrees with the reference -------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | st.text()
ascii_keys = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=8)
float_free = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ascii_keys, children, max_size=5),
    max_leaves=25,
)
any_keys = st.text(max_size=6)
records_any_keys = st.dictionaries(
    any_keys,
    st.recursive(json_scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(any_keys, c, max_size=3), max_leaves=10),
    max_size=6,
)


@pytest.mark.slow  # 300 examples against the reference encoder
@settings(max_examples=300, deadline=None)
@given(st.dictionaries(ascii_keys, float_free, max_size=8))
def test_stdlib_fast_form_equals_rfc8785_on_float_free_records(record):
    fast = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert fast == rfc8785.dumps(record)
    assert canonical_bytes(record) == fast
    assert parse_canonical(fast + b"\n") == record


@pytest.mark.slow  # 200 records of any keys against the reference
@settings(max_examples=200, deadline=None)
@given(records_any_keys)
def test_canonical_bytes_equals_rfc8785_for_any_keys(record):
    # non-ASCII keys must take the reference path (code-point and UTF-16 order differ)
    assert canonical_bytes(record) == rfc8785.dumps(record)


# --- the strict reader -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"a":1,"a":1}', "duplicate key"),
        (b'{"a":NaN}', "NaN"),
        (b'{"a":Infinity}', "Infinity"),
        (b'{"a":-Infinity}', "Infinity"),
        (b'{"a":1.5}', "floating-point"),
        (b'{"a":1e2}', "floating-point"),
        (b"[1]", "not an object"),
        (b'"x"', "not an object"),
        (b'{"a": 1}', "canonical"),
        (b'{"b":1,"a":2}', "canonical"),
        (b'{"a":"\\u00e9"}', "canonical"),
        (b'{"a":-0}', "canonical"),
        (b'{"a":9007199254740992}', "outside"),
        (b'{"a":-9007199254740992}', "outside"),
        (b'{"\xef\xac\xb3":2,"\xf0\x9f\x98\x80":1}', "canonical"),  # code-point order, not UTF-16
        (b'{"\xf0\x9f\x98\x80":1,"\xf0\x9f\x98\x80":1}', "duplicate key"),
        (b'{"a":"\\ud83d\\ude00"}', "canonical"),  # escaped non-BMP is not canonical
        (b'{"a":"\\ud800"}', "canonical"),
        (b'{"a":"\xff"}', "UTF-8"),
        (b'{"a":1', "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_parse_canonical_rejects(line, reason):
    with pytest.raises(CanonicalFormError, match=re.escape(reason) if reason != "canonical" else "canonical|RFC 8785"):
        parse_canonical(line)


def test_parse_canonical_accepts_its_own_output_with_or_without_newline():
    value = {"z": [1, None, True], "a": "é😀", "m": {"k": "v"}, "\ufb33": 1, "\U0001f600": 2}
    raw = canonical_bytes(value)
    assert parse_canonical(raw) == value
    assert parse_canonical(raw + b"\n") == value
    assert parse_canonical('{"\U0001f600":1,"\ufb33":2}'.encode()) == {"\U0001f600": 1, "\ufb33": 2}


# --- records ---------------------------------------------------------------------------------


def draft(**over):
    fields = dict(
        run_id="run1", claim_id="C-1", policy_id="P-1", decision="APPROVE", reasons=("OK",),
        payout="100.00", currency="EUR", confidence="0.870", input_digest="a" * 64,
        policy_digest=None, versions={"engine": "0.1.0", "rules": "claims-rules/1", "model": None, "prompts": "b" * 64},
        actor="assessor-0", error=None,
    )  # fmt: skip
    fields.update(over)
    return DecisionDraft(**fields)


def call(**over):
    record = {
        "schema": "llm_call/1", "call_id": "call_0123456789abcdef", "run_id": "run1", "claim_id": "C-1",
        "purpose": "coverage", "item_id": "I-1", "attempt": 1, "model": "gpt-x",
        "endpoint": "http://127.0.0.1:8000/v1",
        "request": {"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_schema"}},
        "response": '{"status":"covered"}', "status": 200, "error": None, "prompt_tokens": 10,
        "completion_tokens": 5, "latency_ms": 120, "started_at": "2026-11-29T10:00:00.000Z",
        "finished_at": "2026-11-29T10:00:00.120Z",
    }  # fmt: skip
    record.update(over)
    return record


def test_helpers():
    assert genesis_hash("0" * 32) == hashlib.sha256(("genesis:" + "0" * 32).encode()).hexdigest()
    assert re.fullmatch(r"dec_[0-9a-f]{16}", decision_id())
    assert decision_id() != decision_id()
    moment = datetime(2026, 11, 29, 13, 5, 7, 123999, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2026-11-29T11:05:07.123Z"
    with pytest.raises(InvalidRecordError):
        format_timestamp(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.87, "0.870"), (0.8695, "0.870"), (0.0005, "0.001"), (0.0004999, "0.000"), (1, "1.000"), (None, None)],
)
def test_format_confidence_rounds_half_up(value, expected):
    assert format_confidence(value) == expected


def test_draft_validation_and_key():
    d = draft(reasons=["A", "B"])
    assert d.reasons == ("A", "B")
    assert d.idempotency_key == "run1:C-1"
    with pytest.raises(InvalidRecordError, match="decision must be"):
        draft(decision="MAYBE")
    with pytest.raises(InvalidRecordError, match="confidence"):
        draft(confidence="0.87")
    with pytest.raises(InvalidRecordError, match="input_digest"):
        draft(input_digest="xyz")


def test_decision_record_round_trips_and_pickles():
    record, line = make_decision(
        draft(), ledger_id="f" * 32, seq=0, previous_hash=genesis_hash("f" * 32),
        created_at="2026-11-29T10:00:00.000Z", calls=(),
    )  # fmt: skip
    assert line == record.line() and line.endswith(b"\n")
    assert DecisionRecord.from_json(json.loads(line)) == record
    assert record.record_hash == sha256_hex(rfc8785.dumps(record.body_json()))
    assert pickle.loads(pickle.dumps(record)) == record
    assert parse_canonical(record.line()) == record.to_json()
    with pytest.raises(InvalidRecordError, match="unknown fields"):
        DecisionRecord.from_json({**record.to_json(), "extra": 1})
    with pytest.raises(InvalidRecordError, match="lacks"):
        DecisionRecord.from_json({k: v for k, v in record.to_json().items() if k != "actor"})


ITEM = {"item_id": "I-1", "status": "covered", "method": "rule", "category": "engine", "clause": None,
        "total": "1200.00", "llm_confidence": None}


def test_a_decision_2_record_binds_its_items_by_digest_and_round_trips():
    items = [ITEM, {**ITEM, "item_id": "I-2", "status": "not_covered", "clause": "§4.2 Kühlergrill"}]
    record, line = make_decision(
        draft(covered_total="1200.00", items_digest=items_digest(items)), ledger_id="f" * 32, seq=0,
        previous_hash=genesis_hash("f" * 32), created_at="2026-11-29T10:00:00.000Z", calls=(),
    )  # fmt: skip
    assert record.schema == "decision/2" and record.holds("items_digest")
    assert record.items_digest == sha256_hex(rfc8785.dumps(items))  # the canonical list, non-ASCII text included
    assert line == canonical_bytes(record.to_json()) + b"\n"
    assert record.record_hash == sha256_hex(rfc8785.dumps(record.body_json()))
    assert DecisionRecord.from_json(json.loads(line)) == record
    assert draft().items_digest == items_digest([]) == sha256_hex(b"[]")  # a claim with no line item


@pytest.mark.parametrize("item", [{**ITEM, "total": 1200}, {**ITEM, "extra": "x"},
                                  {k: v for k, v in ITEM.items() if k != "clause"}, "I-1"])
def test_a_bad_line_item_is_refused_by_name(item):
    with pytest.raises(InvalidRecordError, match="items must be"):
        items_digest([item])
    with pytest.raises(InvalidRecordError, match="items_digest"):
        draft(items_digest="not a digest")


def test_a_decision_1_record_is_read_without_items_and_a_schema_mismatch_is_refused():
    record, _ = make_decision(draft(), ledger_id="f" * 32, seq=0, previous_hash=genesis_hash("f" * 32),
                              created_at="2026-11-29T10:00:00.000Z", calls=())
    old = {k: v for k, v in record.to_json().items() if k not in ("covered_total", "items_digest")}
    read = DecisionRecord.from_json({**old, "schema": "decision/1"})
    assert read.items_digest is None and not read.holds("covered_total") and "items_digest" not in read.to_json()
    with pytest.raises(InvalidRecordError, match="lacks"):
        DecisionRecord.from_json(old)  # decision/2 without its two fields
    with pytest.raises(InvalidRecordError, match="unknown fields"):
        DecisionRecord.from_json({**record.to_json(), "schema": "decision/1"})  # decision/1 with them
    with pytest.raises(InvalidRecordError, match="schema"):
        DecisionRecord.from_json({**old, "schema": "decision/9"})
    with pytest.raises(InvalidRecordError, match="items_digest"):
        DecisionRecord.from_json({**record.to_json(), "items_digest": None})


def test_exceptions_pickle_for_ray():
    for exc in (LedgerCorruptError("x seq 3"), InvalidRecordError("y"), LedgerError("z")):
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is type(exc) and str(again) == str(exc)


def test_call_validation_accepts_spec_shape_and_adds_hash():
    original = call()
    record, line = hashed_call(original)
    body = {k: v for k, v in record.items() if k != "record_hash"}
    assert record["record_hash"] == sha256_hex(rfc8785.dumps(body))
    assert line == rfc8785.dumps(record) + b"\n"
    original["request"]["messages"].append({"role": "user", "content": "later"})
    assert body["request"] == call()["request"]  # the logged record is a copy


@pytest.mark.slow  # 200 records of any keys against the reference
@settings(max_examples=200, deadline=None)
@given(records_any_keys)
def test_hash_and_line_agree_with_the_reference(record):
    body = {k: v for k, v in record.items() if k != "record_hash"}
    hashed, line = hash_and_line(body)
    assert hashed == sha256_hex(rfc8785.dumps(body))
    assert line == rfc8785.dumps({**body, "record_hash": hashed})
    assert parse_canonical_hashed(line) == ({**body, "record_hash": hashed}, hashed)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda c: c.pop("latency_ms"), "lacks"),
        (lambda c: c.update(latency_ms=1.5), "float"),
        (lambda c: c["request"].update(temperature=0.2), "float"),
        (lambda c: c["request"].update(headers={"Authorization": "Bearer sk-x"}), "credentials"),
        (lambda c: c.update(api_key="sk-x"), "credentials|unknown"),
        (lambda c: c["request"].update(OPENAI_API_KEY="sk"), "credentials"),
        (lambda c: c.update(record_hash="0" * 64), "record_hash"),
        (lambda c: c.update(endpoint="https://user:pw@api.example/v1"), "credentials"),
        (lambda c: c.update(status="teapot"), "status"),
        (lambda c: c.update(schema="llm_call/2"), "schema"),
        (lambda c: c.update(call_id="call_1"), "call_id"),
        (lambda c: c.update(extra=1), "unknown"),
    ],
)
def test_call_validation_rejects(change, reason):
    record = call()
    change(record)
    with pytest.raises(InvalidRecordError, match=reason):
        validate_call(record)
    assert issubclass(InvalidRecordError, LedgerError)


# --- the writer's and reader's sealing fast paths agree with the reference (issue 4) ------------

text_any = st.text(max_size=12)  # includes non-BMP characters and lone surrogates


@settings(max_examples=60, deadline=None)
@given(
    content=st.dictionaries(any_keys.filter(lambda k: not re.search(r"(?i)authorization|api[_-]?key", k)),
                            st.recursive(json_scalars, lambda c: st.lists(c, max_size=3), max_leaves=6),
                            max_size=4),  # fmt: skip
    response=st.none() | text_any,
    item_id=st.none() | text_any,
    error=st.none() | text_any,
)
def test_call_sealing_fast_path_equals_rfc8785(content, response, item_id, error):
    record = call(request={"messages": [{"role": "user", "content": "x"}], **content}, response=response,
                  item_id=item_id, error=error)  # fmt: skip
    try:
        logged, line = hashed_call(record)
    except (CanonicalFormError, InvalidRecordError):
        with pytest.raises((rfc8785.CanonicalizationError, UnicodeEncodeError, ValueError)):
            rfc8785.dumps(record)  # only values without a canonical form are refused
        return
    body = {k: v for k, v in logged.items() if k != "record_hash"}
    assert logged["record_hash"] == sha256_hex(rfc8785.dumps(body))
    assert line == rfc8785.dumps(logged) + b"\n"
    assert parse_sealed(line, "request") == (logged, logged["record_hash"])
    assert parse_canonical_hashed(line) == (logged, logged["record_hash"])


@settings(max_examples=60, deadline=None)
@given(
    claim_id=text_any.filter(bool),
    reasons=st.lists(text_any, max_size=3),
    versions=st.dictionaries(any_keys, st.none() | text_any, max_size=3),
    actor=text_any,
)
def test_decision_sealing_fast_path_equals_rfc8785(claim_id, reasons, versions, actor):
    try:
        d = draft(claim_id=claim_id, reasons=tuple(reasons), versions=versions, actor=actor)
        record, line = make_decision(
            d, ledger_id="f" * 32, seq=7, previous_hash=genesis_hash("f" * 32),
            created_at="2026-11-29T10:00:00.000Z", calls=(),
        )  # fmt: skip
    except CanonicalFormError:
        return  # a lone surrogate has no canonical form; the reference refuses it too
    assert line == rfc8785.dumps(record.to_json()) + b"\n"
    assert record.record_hash == sha256_hex(rfc8785.dumps(record.body_json()))
    assert parse_sealed(line, "run_id") == (record.to_json(), record.record_hash)
    assert DecisionRecord.from_json(parse_canonical(line)) == record


def test_parse_sealed_defers_to_the_strict_reader_on_anything_odd():
    record, line = make_decision(
        draft(), ledger_id="f" * 32, seq=0, previous_hash=genesis_hash("f" * 32),
        created_at="2026-11-29T10:00:00.000Z", calls=(),
    )  # fmt: skip
    spaced = line.replace(b'","', b'", "', 1)
    with pytest.raises(CanonicalFormError, match="canonical"):
        parse_sealed(spaced, "run_id")
    duplicated = line.replace(b'{"actor"', b'{"actor":"x","actor"', 1)
    with pytest.raises(CanonicalFormError, match="duplicate key"):
        parse_sealed(duplicated, "run_id")
    value, computed = parse_sealed(line.replace(b'"payout":"100.00"', b'"payout":"100.01"'), "run_id")
    assert computed != value["record_hash"]  # parsed fine, and the hash mismatch is visible


nested_any = st.recursive(
    json_scalars | st.floats(allow_nan=True) | st.integers(),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(any_keys | st.sampled_from(["api_key", "x-Api-Key", "Authorization"]), c, max_size=3),
    max_leaves=8,
)


@settings(max_examples=120, deadline=None)
@given(content=nested_any, response=st.none() | text_any)
def test_call_copy_fast_paths_agree_with_the_checked_copy(content, response):
    """Both decodes behind hashed_call (with and without hooks) give what the checked walk gives."""
    record = call(request={"messages": [], "extra": content}, response=response)
    try:
        reference = _copy_checked(record, "call")
        canonical = rfc8785.dumps(reference)
    except (InvalidRecordError, CanonicalFormError, rfc8785.CanonicalizationError, UnicodeEncodeError):
        with pytest.raises((InvalidRecordError, CanonicalFormError)):
            hashed_call(record)
        return
    body, line = hashed_call(record)
    assert {k: v for k, v in body.items() if k != "record_hash"} == reference
    assert line == rfc8785.dumps(body) + b"\n" and body["record_hash"] == sha256_hex(canonical)


def test_credential_words_in_values_are_fine_but_not_in_keys():
    record = call(request={"messages": [{"role": "user", "content": 'my api_key": is 1.5, "Authorization":x'}]})
    assert hashed_call(record)[0]["request"] == record["request"]
    with pytest.raises(InvalidRecordError, match="credentials"):
        hashed_call(call(request={"headers": {"X-Api-Key": "k"}}))
    with pytest.raises(InvalidRecordError, match="float"):
        hashed_call(call(request={"temperature": 0.2}))
    with pytest.raises(InvalidRecordError, match="not a string"):
        hashed_call(call(request={1: "x"}))
