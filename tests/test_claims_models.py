from __future__ import annotations

import datetime as dt
import random
import re
import string
from decimal import Decimal

import pydantic
import pytest
from pydantic_core import SchemaValidator

from claim_assess.errors import ClaimInputError
from claim_assess.claims import models
from claim_assess.claims.models import Claim, DocumentFacts, Policy, claim_input_error, is_identifier, normalize_name
from test_claims_fixtures import claim_dict, doc, item, policy_dict


def _error(data: dict, model=Claim) -> str:
    with pytest.raises(pydantic.ValidationError) as info:
        model.model_validate(data)
    err = claim_input_error(info.value, "claim C-1")
    assert isinstance(err, ClaimInputError)
    return str(err)


def test_round_trip_to_spec_json_shape():
    data = claim_dict(documents=[doc("D1", "invoice", {"odometer_km": 5, "vin": "WVW1"}), doc("D2", "fnol")])
    claim = Claim.model_validate(data)
    assert claim.model_dump(mode="json") == data
    assert claim.line_items[0].total == Decimal("1000.00")
    assert claim.loss_date == dt.date(2026, 3, 1)
    policy = Policy.model_validate(policy_dict())
    assert policy.model_dump(mode="json") == policy_dict()
    assert policy.model_dump(mode="json")["max_payout"] == "5000.00"


def test_records_are_frozen():
    claim = Claim.model_validate(claim_dict())
    with pytest.raises(pydantic.ValidationError):
        claim.odometer_km = 3  # type: ignore[misc]


def test_absent_facts_stay_absent():
    assert DocumentFacts.model_validate({}).model_dump(mode="json") == {}
    assert DocumentFacts.model_validate({"loss_date": "2026-01-02"}).loss_date == dt.date(2026, 1, 2)


def test_money_message_names_path_and_value():
    message = _error(claim_dict(line_items=[item("L1"), item("L2"), item("L3", unit_price="12.5")]))
    assert message == ('claim C-1: line_items[2].unit_price: expected a money string with two decimals '
                       'like "420.00", got \'12.5\'')
    assert "pydantic" not in message and "http" not in message


@pytest.mark.parametrize("value", [12.5, 1000, "-1.00", "12345678901.00", "1e3", "1,000.00", None, True])
def test_bad_money_rejected(value):
    assert "line_items[0].total: expected a money string" in _error(claim_dict(line_items=[item(total=value)]))


def test_money_largest_allowed():
    claim = Claim.model_validate(claim_dict(line_items=[item(total="9999999999.99")]))
    assert claim.line_items[0].total == Decimal("9999999999.99")


@pytest.mark.parametrize("value", [True, 1.0, -1, "100"])
def test_odometer_must_be_a_strict_non_negative_int(value):
    assert "odometer_km: expected a non-negative integer" in _error(claim_dict(odometer_km=value))


@pytest.mark.parametrize("value", ["2026-3-1", "01.03.2026", "2026-02-30", 20260301, "2026-03-01T00:00:00"])
def test_dates_only_from_iso_strings(value):
    assert 'loss_date: expected a date string "YYYY-MM-DD"' in _error(claim_dict(loss_date=value))


@pytest.mark.parametrize("value", ["../x", ".", "..", "", "a/b", "x" * 65, "C 1", 7])
def test_invalid_identifiers(value):
    assert "claim_id: expected an identifier" in _error(claim_dict(claim_id=value))


def test_huge_text_is_a_clear_error_with_cut_input():
    message = _error(claim_dict(narrative="x" * 10_000_000))
    assert "narrative: text longer than 100000 characters (10000000)" in message
    assert len(message) < 400


def test_missing_wrong_type_and_extra_fields():
    data = claim_dict(documents="nope", extra=1)
    del data["narrative"]
    message = _error(data)
    assert "narrative: missing required field" in message
    assert "documents: expected a list" in message
    assert "extra: unexpected field" in message


def test_enum_and_quantity():
    message = _error(claim_dict(line_items=[item(item_type="gift", quantity="-1")]))
    assert "line_items[0].item_type: expected one of 'part', 'labor' or 'fee', got 'gift'" in message
    assert 'line_items[0].quantity: expected a decimal string like "8.1", got \'-1\'' in message


def test_duplicate_item_ids_rejected():
    assert "duplicate item_id 'L1'" in _error(claim_dict(line_items=[item("L1"), item("L1")]))


def test_error_list_is_capped():
    message = _error(claim_dict(line_items=[item(f"L{i}", total="x") for i in range(9)]))
    assert message.endswith("and 4 more errors")


@pytest.mark.parametrize("scale, expected", [
    ([], "expected at least one row"),
    ([{"up_to_km": 100, "percent": "50"}], "last row must have up_to_km null"),
    ([{"up_to_km": None, "percent": "50"}, {"up_to_km": None, "percent": "50"}], "only the last row"),
    ([{"up_to_km": 100, "percent": "50"}, {"up_to_km": 100, "percent": "50"}, {"up_to_km": None, "percent": "1"}],
     "strictly ascending"),
])
def test_reimbursement_scale_validated(scale, expected):
    message = _error(policy_dict(reimbursement_scale=scale), Policy)
    assert message.startswith("claim C-1: reimbursement_scale: ") and expected in message
    assert "got" not in message


def test_policy_period_and_currency():
    message = _error(policy_dict(valid_to="2025-01-01", currency="chf"), Policy)
    assert "valid_to: valid_to is before valid_from" in message
    assert "currency: expected a currency code" in message


def test_normalize_name():
    assert normalize_name("  Clutch \t MASTER\n cylinder ") == "clutch master cylinder"
    assert normalize_name("Straße") == normalize_name("STRASSE")


# --- the scalar rules, as the formats document states them, against the core patterns that enforce them ----------
# Python's re with fullmatch + ASCII is the reference: an independent spelling of each rule, so a pattern that
# drifts (an unanchored end, a Unicode digit class, a lost length bound) shows here.

_REFERENCE_RULES = {
    "identifier": lambda v: re.fullmatch(r"[A-Za-z0-9._-]{1,64}", v, re.ASCII) is not None and v not in (".", ".."),
    "money": lambda v: re.fullmatch(r"\d{1,10}\.\d{2}", v, re.ASCII) is not None,
    "decimal": lambda v: re.fullmatch(r"\d{1,6}(\.\d{1,6})?", v, re.ASCII) is not None,
    "currency": lambda v: re.fullmatch(r"[A-Z]{3}", v, re.ASCII) is not None,
    "date": lambda v: re.fullmatch(r"\d{4}-\d{2}-\d{2}", v, re.ASCII) is not None and _is_calendar_date(v),
}
_SCALAR_OF = {"identifier": models._IDENTIFIER, "money": models._MONEY, "decimal": models._DECIMAL,
              "currency": models._CURRENCY, "date": models._DATE}


def _is_calendar_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _candidates() -> list[str]:
    rng = random.Random(5)
    pieces = ["", ".", "..", "...", ".a", "..a", "a.", "-", "_", "0", "9", "A", "Z", "a", "z", "1.5", "420.00",
              "420.0", "0.00", "9999999999.99", "99999999999.99", "123456.123456", "1234567", "1.1234567", "CHF",
              "chf", "CHFX", "2024-02-29", "2023-02-29", "2024-13-01", "0000-01-01", "2024-1-01", "x" * 64, "x" * 65,
              ".." + "x" * 62, ".." + "x" * 63, "." + "x" * 63, "\n", " ", "\t"]
    odd = ["\uff11", "\u0661", "\u00e9", "\u212a", "\u0130", "\n", "\r", " ", "\x00", "/", "\\", "$", "^", "+", "e"]
    out = set(pieces)
    out.update(p + tail for p in pieces for tail in ("\n", " ", "\uff11", "x"))
    out.update(chr(c) for c in range(0x80))
    alphabet = string.ascii_letters + string.digits + "._-" + "".join(odd)
    for _ in range(4000):
        out.add("".join(rng.choice(alphabet) for _ in range(rng.choice([1, 2, 3, 10, 12, 63, 64, 65]))))
    for _ in range(2000):  # near-valid money, decimals and dates
        digits = "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 12)))
        out.update({f"{digits}.{rng.randint(0, 999):0{rng.randint(1, 3)}d}", digits,
                    f"{digits[:4]:0>4}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"})
    for value in list(out):  # each with one ASCII digit made a Unicode digit (full-width, Arabic-Indic)
        for i, ch in enumerate(value):
            if ch.isdigit() and ch.isascii():
                out.update({value[:i] + "\uff11" + value[i + 1:], value[:i] + "\u0661" + value[i + 1:]})
                break
    return sorted(out)


@pytest.mark.parametrize("kind", sorted(_REFERENCE_RULES))
def test_each_core_pattern_accepts_exactly_what_the_rule_does(kind):
    accepts = SchemaValidator(_SCALAR_OF[kind].schema).isinstance_python
    rule = _REFERENCE_RULES[kind]
    candidates = _candidates()
    disagree = [v for v in candidates if accepts(v) != rule(v)]
    assert not disagree, f"{kind}: {disagree[:10]!r}"
    assert any(rule(v) for v in candidates) and not all(rule(v) for v in candidates)


def test_is_identifier_is_the_identifier_rule():
    for value in _candidates():
        assert is_identifier(value) == _REFERENCE_RULES["identifier"](value), value
    assert not is_identifier(7) and not is_identifier(None)


@pytest.mark.parametrize("value", [Decimal("420.00"), 420, 420.0, True, None])
def test_money_is_a_string_and_nothing_else(value):
    assert 'line_items[0].total: expected a money string with two decimals like "420.00"' in _error(
        claim_dict(line_items=[item(total=value)]))


def test_text_messages_say_why_in_the_order_the_rules_apply():
    assert "narrative: expected a string, got 5" in _error(claim_dict(narrative=5))
    assert "narrative: text is not valid Unicode (lone surrogate U+D800 at index 2)" in _error(
        claim_dict(narrative="ab\ud800"))
    # longer than the bound and not Unicode: the length is named, as before (it is checked first)
    assert "narrative: text longer than 100000 characters (100003)" in _error(
        claim_dict(narrative="ab\ud800" + "x" * 100_000))


def test_a_models_own_rule_keeps_its_message_at_a_scalar_field():
    # valid_to is a valid date, refused by the policy's own rule: not "expected a date string"
    message = _error(policy_dict(valid_to="2020-01-01"), Policy)
    assert "valid_to: valid_to is before valid_from" in message and "expected a date" not in message
