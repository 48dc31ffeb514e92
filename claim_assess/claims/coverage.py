"""Coverage per unique line item (spec 2.3): policy rules first, the LLM only for what they cannot place.

Interpretation of "an answer whose category or component is not in the policy becomes review":
- a non-null category must be one of the policy's coverage categories;
- a non-null component must be named somewhere in the policy (a coverage category or an exclusion);
- a ``covered`` answer needs both, and the component must belong to that category; a covered answer
  naming an excluded component contradicts rule 1 and goes to review rather than being silently overruled;
- a ``not_covered`` answer may leave both null; if it names an excluded component, the clause is that
  exclusion's clause.
Names compare with normalize_name; results carry the policy's own spelling of a category.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from claim_assess.claims.memo import PerRecord
from claim_assess.claims.models import LineItem, Policy, normalize_name

if TYPE_CHECKING:  # prompts imports this module for ItemCoverage
    from claim_assess.claims.prompts import CoverageAnswer

COVERED, NOT_COVERED, REVIEW, NOT_ASSESSED = "covered", "not_covered", "review", "not_assessed"
METHOD_RULE, METHOD_LLM, METHOD_SKIPPED = "rule", "llm", "skipped"

MIN_LLM_CONFIDENCE = 0.5

# reason codes for items the LLM step could not settle
LLM_INVALID_OUTPUT = "LLM_INVALID_OUTPUT"
LLM_LOW_CONFIDENCE = "LLM_LOW_CONFIDENCE"
LLM_REVIEW = "LLM_REVIEW"
LLM_UNKNOWN_CATEGORY = "LLM_UNKNOWN_CATEGORY"
LLM_UNKNOWN_COMPONENT = "LLM_UNKNOWN_COMPONENT"
LLM_INCONSISTENT_ANSWER = "LLM_INCONSISTENT_ANSWER"
HARD_CHECK_FAILED = "HARD_CHECK_FAILED"

_MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class ItemCoverage:
    item_id: str
    status: str  # covered | not_covered | review | not_assessed
    method: str  # rule | llm | skipped
    category: str | None
    clause: str | None
    component: str | None
    total: Decimal
    llm_confidence: float | None
    reason: str | None


@dataclass(frozen=True)
class _PolicyNames:
    """A policy's component names, normalized once: each lookup below was a scan of every name of the policy,
    normalized again, for every line item."""

    clause_of: Mapping[str, str]  # component key -> clause of the first exclusion that names it
    category_of: Mapping[str, str]  # component key -> the first coverage category that names it
    in_category: frozenset[tuple[str, str]]  # (category, component key) for every component of every category
    category_named: Mapping[str, str]  # category key -> the policy's spelling (the last, if two share a key)

    @classmethod
    def of(cls, policy: Policy) -> _PolicyNames:
        clause_of: dict[str, str] = {}
        for exclusion in policy.exclusions:
            for component in exclusion.components:
                clause_of.setdefault(normalize_name(component), exclusion.clause)
        category_of: dict[str, str] = {}
        in_category: set[tuple[str, str]] = set()
        for category in policy.coverage:
            for component in category.components:
                key = normalize_name(component)
                category_of.setdefault(key, category.category)
                in_category.add((category.category, key))
        category_named = {normalize_name(c.category): c.category for c in policy.coverage}
        return cls(clause_of, category_of, frozenset(in_category), category_named)


_policy_names = PerRecord(_PolicyNames.of)


def _exclusion_clause(component: str, policy: Policy) -> str | None:
    return _policy_names(policy).clause_of.get(normalize_name(component))


def _category_of(component: str, policy: Policy) -> str | None:
    return _policy_names(policy).category_of.get(normalize_name(component))


def match_by_rule(item: LineItem, policy: Policy) -> ItemCoverage | None:
    """Rules 1 and 2 of spec 2.3; None when the item needs the LLM (rule 3)."""
    if item.component is None:
        return None
    clause = _exclusion_clause(item.component, policy)
    if clause is not None:
        return ItemCoverage(item.item_id, NOT_COVERED, METHOD_RULE, None, clause, item.component, item.total, None, None)
    category = _category_of(item.component, policy)
    if category is not None:
        return ItemCoverage(item.item_id, COVERED, METHOD_RULE, category, None, item.component, item.total, None, None)
    return None


def not_assessed(item: LineItem) -> ItemCoverage:
    """An item the LLM would have classified, left alone because a hard check already decides DENY."""
    return ItemCoverage(item.item_id, NOT_ASSESSED, METHOD_SKIPPED, None, None, item.component, item.total, None,
                        HARD_CHECK_FAILED)


def from_llm_answer(item: LineItem, policy: Policy, answer: CoverageAnswer | None) -> ItemCoverage:
    """Rule 3 of spec 2.3: turn the coverage answer (None = invalid after retries) into an item result."""
    if answer is None:
        return ItemCoverage(item.item_id, REVIEW, METHOD_LLM, None, None, item.component, item.total, None,
                            LLM_INVALID_OUTPUT)

    categories = _policy_names(policy).category_named
    category = categories.get(normalize_name(answer.category)) if answer.category is not None else None
    component_known = answer.component is not None and (
        _category_of(answer.component, policy) is not None or _exclusion_clause(answer.component, policy) is not None
    )

    def review(code: str) -> ItemCoverage:
        return ItemCoverage(item.item_id, REVIEW, METHOD_LLM, category,
                            None, answer.component if component_known else item.component,
                            item.total, answer.confidence, code)

    if answer.confidence < MIN_LLM_CONFIDENCE:
        return review(LLM_LOW_CONFIDENCE)
    if answer.category is not None and category is None:
        return review(LLM_UNKNOWN_CATEGORY)
    if answer.component is not None and not component_known:
        return review(LLM_UNKNOWN_COMPONENT)
    if answer.status == REVIEW:
        return review(LLM_REVIEW)

    reason = answer.reason[:_MAX_REASON_CHARS]
    if answer.status == COVERED:
        if (answer.component is None or category is None
                or _category_of_in(answer.component, category, policy) is False
                or _exclusion_clause(answer.component, policy) is not None):
            return review(LLM_INCONSISTENT_ANSWER)
        return ItemCoverage(item.item_id, COVERED, METHOD_LLM, category, None, answer.component, item.total,
                            answer.confidence, reason)
    # not_covered
    clause = _exclusion_clause(answer.component, policy) if answer.component is not None else None
    return ItemCoverage(item.item_id, NOT_COVERED, METHOD_LLM, category, clause, answer.component, item.total,
                        answer.confidence, reason)


def _category_of_in(component: str, category: str, policy: Policy) -> bool:
    return (category, normalize_name(component)) in _policy_names(policy).in_category
