"""Payout (spec 2.4): Decimal arithmetic, every step exact, one rounding at the end.

Inputs have at most 2 (money) or 6 (percent) decimals and every step multiplies or divides by 100, so
with a generous local precision each intermediate value is exact; only ``payout`` is quantized.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from claim_assess.claims.models import Policy

CENT = Decimal("0.01")
_ZERO = Decimal("0")
_HUNDRED = Decimal("100")
_PRECISION = 60  # far above the ~30 significant digits the largest inputs can produce


@dataclass(frozen=True)
class PayoutBreakdown:
    covered_total: Decimal
    rate_percent: Decimal
    reimbursable: Decimal
    capped: Decimal
    gross: Decimal
    deductible: Decimal
    payout: Decimal  # quantized to 0.01, ROUND_HALF_UP


def reimbursement_rate(odometer_km: int, policy: Policy) -> Decimal:
    """Percent of the first scale row with odometer_km <= up_to_km (null = no bound)."""
    for row in policy.reimbursement_scale:
        if row.up_to_km is None or odometer_km <= row.up_to_km:
            return row.percent
    raise ValueError(f"policy {policy.policy_id}: reimbursement_scale has no row for {odometer_km} km")


def compute_payout(covered_total: Decimal, odometer_km: int, policy: Policy) -> PayoutBreakdown:
    return payout_at_rate(covered_total, reimbursement_rate(odometer_km, policy), policy)


def payout_at_rate(covered_total: Decimal, rate: Decimal, policy: Policy) -> PayoutBreakdown:
    """The payout of ``covered_total`` at the reimbursement ``rate`` (percent) already looked up: the decision
    table prices the rule-covered items alone at the rate of the claim's own payout (decision.py)."""
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        ctx.traps[decimal.Inexact] = True  # an inexact step would be a bug, not a rounding choice
        reimbursable = covered_total * rate / _HUNDRED
        capped = min(reimbursable, policy.max_payout)
        if policy.holder_type == "individual":
            gross = capped * (1 + policy.vat_percent / _HUNDRED)
        else:  # companies reclaim VAT
            gross = capped
        deductible = max(gross * policy.deductible.percent / _HUNDRED, policy.deductible.minimum)
        unrounded = max(_ZERO, gross - deductible)
    with decimal.localcontext() as ctx:
        ctx.prec = _PRECISION
        payout = unrounded.quantize(CENT, rounding=ROUND_HALF_UP)
    return PayoutBreakdown(covered_total, rate, reimbursable, capped, gross, deductible, payout)
