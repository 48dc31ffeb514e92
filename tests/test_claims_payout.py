from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claim_assess.claims.payout import compute_payout, reimbursement_rate
from test_claims_fixtures import make_policy


def _reference(covered: str, odometer: int, p: dict) -> Fraction:
    """Spec 2.4 written again with exact fractions and a hand-made half-up rounding to cents."""
    rate = next(Fraction(r["percent"]) for r in p["reimbursement_scale"]
                if r["up_to_km"] is None or odometer <= r["up_to_km"])
    amount = min(Fraction(covered) * rate / 100, Fraction(p["max_payout"]))
    if p["holder_type"] == "individual":
        amount += amount * Fraction(p["vat_percent"]) / 100
    deductible = max(amount * Fraction(p["deductible"]["percent"]) / 100, Fraction(p["deductible"]["minimum"]))
    net = max(Fraction(0), amount - deductible)
    cents = net * 100
    return Fraction(math.floor(cents + Fraction(1, 2)), 100)  # half-up: net is never negative


def _policy_dict(holder, vat, ded_pct, ded_min, cap, pcts):
    return {
        "holder_type": holder, "vat_percent": vat, "max_payout": cap,
        "deductible": {"percent": ded_pct, "minimum": ded_min},
        "reimbursement_scale": [{"up_to_km": 50000, "percent": pcts[0]}, {"up_to_km": 100000, "percent": pcts[1]},
                                {"up_to_km": None, "percent": pcts[2]}],
    }


def _money(max_cents: int):
    return st.integers(0, max_cents).map(lambda c: f"{c // 100}.{c % 100:02d}")


def _percent():
    return st.tuples(st.integers(0, 100), st.integers(0, 999_999)).map(lambda t: f"{t[0]}.{t[1]:06d}")


@pytest.mark.slow  # 300 examples
@settings(max_examples=300, deadline=None)
@given(
    covered=_money(10**11),
    odometer=st.integers(0, 300_000),
    holder=st.sampled_from(["individual", "company"]),
    vat=_percent(), ded_pct=_percent(), ded_min=_money(10**6), cap=_money(10**9),
    pcts=st.tuples(_percent(), _percent(), _percent()),
)
def test_payout_matches_independent_fraction_computation(covered, odometer, holder, vat, ded_pct, ded_min, cap, pcts):
    over = _policy_dict(holder, vat, ded_pct, ded_min, cap, pcts)
    policy = make_policy(**over)
    result = compute_payout(Decimal(covered), odometer, policy)
    assert Fraction(result.payout) == _reference(covered, odometer, over)
    assert result.payout.as_tuple().exponent == -2 and result.payout >= 0


def test_individual_worked_example():
    # 2000 * 70 % = 1400, VAT 8.1 % -> 1513.40, deductible max(151.34, 100) -> 1362.06
    r = compute_payout(Decimal("2000.00"), 60000, make_policy())
    assert (r.rate_percent, r.reimbursable, r.capped) == (Decimal("70"), Decimal("1400"), Decimal("1400"))
    assert r.gross == Decimal("1513.4") and r.deductible == Decimal("151.34") and r.payout == Decimal("1362.06")


def test_company_excludes_vat():
    r = compute_payout(Decimal("2000.00"), 60000, make_policy(holder_type="company"))
    assert r.gross == Decimal("1400") and r.payout == Decimal("1260.00")


def test_cap_applies_before_vat():
    r = compute_payout(Decimal("20000.00"), 1000, make_policy())
    assert r.capped == Decimal("5000.00") and r.gross == Decimal("5405.0000")
    assert r.payout == Decimal("4864.50")


def test_deductible_minimum_and_zero():
    assert compute_payout(Decimal("100.00"), 1000, make_policy()).payout == Decimal("8.10")  # 108.10 - 100.00
    assert compute_payout(Decimal("50.00"), 1000, make_policy()).payout == Decimal("0.00")
    assert compute_payout(Decimal("0.00"), 1000, make_policy()).payout == Decimal("0.00")


def test_rounding_half_up_only_at_the_end():
    # company, 100 %, no deductible: 0.005 must round up to 0.01, not to even
    policy = make_policy(holder_type="company", deductible={"percent": "0", "minimum": "0.00"},
                         reimbursement_scale=[{"up_to_km": None, "percent": "0.5"}])
    assert compute_payout(Decimal("1.00"), 0, policy).payout == Decimal("0.01")
    assert compute_payout(Decimal("3.00"), 0, policy).payout == Decimal("0.02")  # 0.015 -> 0.02


@pytest.mark.parametrize("km, pct", [(0, "100"), (50000, "100"), (50001, "70"), (100000, "70"), (100001, "40"),
                                     (10**9, "40")])
def test_scale_row_lookup(km, pct):
    assert reimbursement_rate(km, make_policy()) == Decimal(pct)
