"""The what-if's result, frozen: what the terminal table, the JSON object and the HTML page are made from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from claim_assess.whatif.tally import Tally


@dataclass(frozen=True)
class WhatIfReport:
    run_id: str
    ledger: str
    input: str
    policies: str | None  # the new policies file, if one was given
    changed_policies: tuple[str, ...]  # policy ids whose terms differ from the dataset's
    claims: Mapping[str, int]  # per claim status (claim.CLAIM_STATUSES)
    questions: Mapping[str, int]  # per answer kind (exact, assumed, needs_new_call)
    unasked_calls: int
    transitions: tuple[tuple[str, str, int], ...]  # (from, to, claims), changed ones first, then by count
    totals: tuple[dict[str, Any], ...]  # per currency: currency, claims, before, after, delta
    policies_delta: tuple[dict[str, Any], ...]  # per policy, largest |delta| first
    lists: Mapping[str, dict[str, Any]]  # changed, into_refer, out_of_refer, assumed, needs_new_calls, ...
    notes: tuple[str, ...] = ()

    @property
    def checked(self) -> int:
        return sum(self.claims.values())

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "ledger": self.ledger, "input": self.input, "policies": self.policies,
                "changed_policies": list(self.changed_policies), "claims": {"total": self.checked, **self.claims},
                "questions": {**self.questions, "recorded_not_asked": self.unasked_calls},
                "transitions": [{"from": a, "to": b, "count": n} for a, b, n in self.transitions],
                "payout": {"per_currency": list(self.totals), "per_policy": list(self.policies_delta)},
                **{name: listing for name, listing in self.lists.items()}, "notes": list(self.notes)}


def build_report(tally: Tally, *, run_id: str, ledger: str, input: str, policies: str | None,
                 changed_policies: tuple[str, ...], notes: tuple[str, ...] = ()) -> WhatIfReport:
    transitions = sorted(((a, b, n) for (a, b), n in tally.transitions.items()), key=lambda t: (t[0] == t[1], -t[2], t))
    per_policy = sorted(((pid, m) for pid, m in tally.policies.items()),
                        key=lambda item: (-abs(item[1].after - item[1].before), item[0]))
    lists = {name: getattr(tally, name).to_json() for name in
             ("changed", "into_refer", "out_of_refer", "assumed", "needs_new_calls", "not_comparable", "changed_input")}
    return WhatIfReport(run_id, ledger, input, policies, changed_policies, dict(tally.claims), dict(tally.questions),
                        tally.unasked_calls, tuple(transitions),
                        tuple(m.to_json() for _, m in sorted(tally.totals.items())),
                        tuple({"policy_id": pid, **m.to_json()} for pid, m in per_policy), lists, notes)


def changed_transitions(report: WhatIfReport) -> tuple[list[tuple[str, str, int]], int]:
    """(the from -> to pairs whose decision changes, most claims first; how many compared claims keep theirs)."""
    changed = [t for t in report.transitions if t[0] != t[1]]
    return changed, sum(n for a, b, n in report.transitions if a == b)


def top_policies(report: WhatIfReport, shown: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the ``shown`` policies with the largest |delta|; the rest summed per currency: currency, policies,
    claims, delta)."""
    rest: dict[str, dict[str, Any]] = {}
    for entry in report.policies_delta[shown:]:
        summed = rest.setdefault(entry["currency"], {"currency": entry["currency"], "policies": 0, "claims": 0,
                                                     "delta": Decimal("0.00")})
        summed["policies"] += 1
        summed["claims"] += entry["claims"]
        summed["delta"] += Decimal(entry["delta"])
    return list(report.policies_delta[:shown]), [{**r, "delta": f"{r['delta']:.2f}"} for _, r in sorted(rest.items())]
