"""The what-if's figures, summed a claim at a time (memory: counts, one entry per policy, the first few ids).

Money is summed per currency (CHF and EUR are never added together) and per policy (a policy has one currency).
The payout of a decision is its recorded ``payout`` field: 0.00 for DENY and FAILED, the amount for APPROVE and
PARTIAL, and for REFER the proposal a person reviews (spec 2.6); only compared claims (exact or approximate) count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from claim_assess.replay.answers import ASSUMED, EXACT as EXACT_ANSWER, NEEDS_NEW_CALL
from claim_assess.whatif.claim import APPROXIMATE, CLAIM_STATUSES, COMPARED, NEEDS_NEW_CALLS, NOT_COMPARABLE, ClaimChange

REFER = "REFER"
MAX_LISTED = 100  # ids and calls listed per kind; the counts are always complete
ZERO = Decimal("0.00")


@dataclass
class Money:
    before: Decimal = ZERO
    after: Decimal = ZERO
    claims: int = 0
    currency: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"currency": self.currency, "claims": self.claims, "before": f"{self.before:.2f}",
                "after": f"{self.after:.2f}", "delta": f"{self.after - self.before:.2f}"}


@dataclass
class Listing:
    """A count and the first MAX_LISTED entries of one kind."""

    count: int = 0
    first: list[Any] = field(default_factory=list)

    def add(self, entry: Any) -> None:
        self.count += 1
        if len(self.first) < MAX_LISTED:
            self.first.append(entry)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "listed": list(self.first)}


@dataclass
class Tally:
    claims: Counter = field(default_factory=lambda: Counter(dict.fromkeys(CLAIM_STATUSES, 0)))
    questions: Counter = field(default_factory=lambda: Counter(dict.fromkeys((EXACT_ANSWER, ASSUMED, NEEDS_NEW_CALL), 0)))
    transitions: Counter = field(default_factory=Counter)  # (before, after) -> compared claims
    totals: dict[str, Money] = field(default_factory=dict)  # per currency
    policies: dict[str, Money] = field(default_factory=dict)
    unasked_calls: int = 0
    changed: Listing = field(default_factory=Listing)  # compared claims whose decision or payout changes
    into_refer: Listing = field(default_factory=Listing)
    out_of_refer: Listing = field(default_factory=Listing)
    assumed: Listing = field(default_factory=Listing)  # the questions answered by assumption
    needs_new_calls: Listing = field(default_factory=Listing)
    not_comparable: Listing = field(default_factory=Listing)
    changed_input: Listing = field(default_factory=Listing)  # compared claims that differ from the decided ones

    def add(self, change: ClaimChange) -> None:
        self.claims[change.status] += 1
        for q in change.questions:
            self.questions[q.how] += 1
            if q.how == ASSUMED:
                self.assumed.add({"claim_id": change.claim_id, "purpose": q.purpose, "item_id": q.item_id,
                                  "call_id": q.call_id})
        if change.status == NOT_COMPARABLE:
            self.not_comparable.add({"claim_id": change.claim_id, "seq": change.seq, "reason": change.reason})
        elif change.status == NEEDS_NEW_CALLS:
            self.needs_new_calls.add({"claim_id": change.claim_id, "reason": change.reason})
        if change.status in COMPARED:
            self._compare(change)

    def _compare(self, change: ClaimChange) -> None:
        after_payout = change.after_payout if change.after_payout is not None else ZERO
        self.transitions[(change.before, change.after)] += 1
        self.unasked_calls += change.unasked_calls
        currency = change.currency or "?"
        for money in (self.totals.setdefault(currency, Money(currency=currency)),
                      self.policies.setdefault(change.policy_id or "?", Money(currency=currency))):
            money.before += change.before_payout
            money.after += after_payout
            money.claims += 1
        if change.changed_input:
            self.changed_input.add(change.claim_id)
        if (change.before, change.before_payout) != (change.after, after_payout):
            self.changed.add({"claim_id": change.claim_id, "policy_id": change.policy_id, "from": change.before,
                              "to": change.after, "payout_before": f"{change.before_payout:.2f}",
                              "payout_after": f"{after_payout:.2f}", "approximate": change.status == APPROXIMATE})
        if change.before != REFER and change.after == REFER:
            self.into_refer.add(change.claim_id)
        elif change.before == REFER and change.after != REFER:
            self.out_of_refer.add(change.claim_id)
