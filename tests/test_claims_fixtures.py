"""Builders for policy and claim dicts in the spec's JSON shape, shared by the test_claims_* modules."""

from __future__ import annotations

import copy
from typing import Any

from claim_assess.claims.models import Claim, Policy

POLICY: dict[str, Any] = {
    "policy_id": "P-1",
    "holder_type": "individual",
    "currency": "CHF",
    "valid_from": "2026-01-01",
    "valid_to": "2026-12-31",
    "max_odometer_km": 150000,
    "coverage": [
        {"category": "engine", "components": ["Turbocharger", "oil pump"]},
        {"category": "transmission", "components": ["gearbox", "clutch  master cylinder"]},
    ],
    "exclusions": [{"clause": "E-4.2", "description": "wear parts", "components": ["brake pads", "Clutch disc"]}],
    "reimbursement_scale": [
        {"up_to_km": 50000, "percent": "100"},
        {"up_to_km": 100000, "percent": "70"},
        {"up_to_km": None, "percent": "40"},
    ],
    "deductible": {"percent": "10", "minimum": "100.00"},
    "vat_percent": "8.1",
    "max_payout": "5000.00",
    "auto_approve_limit": "3000.00",
}


def item(item_id: str = "L1", **over: Any) -> dict[str, Any]:
    base = {"item_id": item_id, "doc_id": "D1", "description": f"part {item_id}", "item_type": "part",
            "component": "Turbocharger", "quantity": "1", "unit_price": "1000.00", "total": "1000.00"}
    base.update(over)
    return base


def doc(doc_id: str = "D1", doc_type: str = "invoice", facts: dict | None = None, text: str = "Invoice") -> dict:
    return {"doc_id": doc_id, "doc_type": doc_type, "facts": facts if facts is not None else {}, "text": text}


CLAIM: dict[str, Any] = {
    "claim_id": "C-1",
    "policy_id": "P-1",
    "loss_date": "2026-03-01",
    "reported_date": "2026-03-02",
    "odometer_km": 20000,
    "narrative": "The engine lost power on the motorway and the turbo whistled.",
    "documents": [doc("D1", "invoice", {"odometer_km": 20000, "loss_date": "2026-03-01"})],
    "line_items": [item("L1")],
}


def policy_dict(**over: Any) -> dict[str, Any]:
    data = copy.deepcopy(POLICY)
    data.update(over)
    return data


def claim_dict(**over: Any) -> dict[str, Any]:
    data = copy.deepcopy(CLAIM)
    data.update(over)
    return data


def make_policy(**over: Any) -> Policy:
    return Policy.model_validate(policy_dict(**over))


def make_claim(**over: Any) -> Claim:
    return Claim.model_validate(claim_dict(**over))
