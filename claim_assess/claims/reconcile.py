"""Reconciliation (spec 2.1): do the claim's facts agree with each other? No LLM.

Reason codes (docs/contracts.md section 3) are module constants so every other module spells them the
same way. Conflicts are counted one per occurrence for the gate, and listed once each in a claim's reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from claim_assess.claims.models import Claim, LineItem, normalize_name

CONFLICT_LOSS_DATE = "CONFLICT_LOSS_DATE"
CONFLICT_ODOMETER = "CONFLICT_ODOMETER"
CONFLICT_REPORTED_BEFORE_LOSS = "CONFLICT_REPORTED_BEFORE_LOSS"
CONFLICT_LINE_TOTAL = "CONFLICT_LINE_TOTAL"
CONFLICT_UNKNOWN_DOCUMENT = "CONFLICT_UNKNOWN_DOCUMENT"
MISSING_INVOICE = "MISSING_INVOICE"
MISSING_LINE_ITEMS = "MISSING_LINE_ITEMS"
DUPLICATE_LINE_ITEM = "DUPLICATE_LINE_ITEM"

GATE_PASS, GATE_WARN, GATE_FAIL = "PASS", "WARN", "FAIL"

_LINE_TOLERANCE = Decimal("0.01")
_COSTING_DOC_TYPES = frozenset({"invoice", "estimate"})


@dataclass(frozen=True)
class Reconciliation:
    gate: str
    conflicts: tuple[str, ...]  # one code per occurrence, in the order found
    missing: tuple[str, ...]  # MISSING_INVOICE / MISSING_LINE_ITEMS
    unique_items: tuple[LineItem, ...]
    duplicates: tuple[str, ...]  # item_ids of the dropped copies
    claimed_total: Decimal

    def reason_codes(self) -> tuple[str, ...]:
        """Conflict kinds (once each), missing facts, then DUPLICATE_LINE_ITEM."""
        codes = list(dict.fromkeys(self.conflicts)) + list(self.missing)
        if self.duplicates:
            codes.append(DUPLICATE_LINE_ITEM)
        return tuple(codes)


def split_duplicates(items: tuple[LineItem, ...]) -> tuple[tuple[LineItem, ...], tuple[str, ...]]:
    """Keep the first of items sharing (doc_id, normalized description, total); return dropped ids."""
    seen: set[tuple[str, str, Decimal]] = set()
    unique: list[LineItem] = []
    dropped: list[str] = []
    for item in items:
        key = (item.doc_id, normalize_name(item.description), item.total)
        if key in seen:
            dropped.append(item.item_id)
        else:
            seen.add(key)
            unique.append(item)
    return tuple(unique), tuple(dropped)


def reconcile(claim: Claim) -> Reconciliation:
    unique, dropped = split_duplicates(claim.line_items)
    conflicts: list[str] = []
    for document in claim.documents:
        facts = document.facts
        if facts.loss_date is not None and facts.loss_date != claim.loss_date:
            conflicts.append(CONFLICT_LOSS_DATE)
        # "more than 1 % of the claim's reading", kept in integers: |d - c| * 100 > c
        if facts.odometer_km is not None and abs(facts.odometer_km - claim.odometer_km) * 100 > claim.odometer_km:
            conflicts.append(CONFLICT_ODOMETER)
    if claim.reported_date < claim.loss_date:
        conflicts.append(CONFLICT_REPORTED_BEFORE_LOSS)
    doc_ids = {document.doc_id for document in claim.documents}
    # Line checks run on the unique items: a dropped copy is the same item, not a second occurrence.
    for item in unique:
        if abs(item.quantity * item.unit_price - item.total) > _LINE_TOLERANCE:
            conflicts.append(CONFLICT_LINE_TOTAL)
        if item.doc_id not in doc_ids:
            conflicts.append(CONFLICT_UNKNOWN_DOCUMENT)

    missing: list[str] = []
    if not any(document.doc_type in _COSTING_DOC_TYPES for document in claim.documents):
        missing.append(MISSING_INVOICE)
    if not claim.line_items:
        missing.append(MISSING_LINE_ITEMS)

    if missing or len(conflicts) >= 2:
        gate = GATE_FAIL
    elif conflicts:
        gate = GATE_WARN
    else:
        gate = GATE_PASS
    claimed_total = sum((item.total for item in unique), Decimal("0.00"))
    return Reconciliation(gate, tuple(conflicts), tuple(missing), unique, dropped, claimed_total)
