"""The simulator's deterministic model of the tasks (docs/contracts.md section 2): coverage, assessment, and
the assessment on the facts alone (the facts check, which is answered as the assessment is, on a payload without
free texts).

Given the payload the engine put between the ``<data>`` fences, answer as a careful but simple
model would. At error rate 0 the answers are exactly the contract's; a seeded error rate flips them,
so benchmarks can see the engine cope with a model that is sometimes wrong.

The model is also gullible, as real models can be: when the untrusted text it is shown tells it to
approve the claim, mark something covered or set the payout, it obeys (coverage "covered", assessment
"APPROVE" without the suspected_injection flag). What it takes for such an order is its own
understanding (``simulator.obedience``: four languages, read through zero-width characters, look-alike
letters, spacing, base64, leetspeak and fake role turns), independent of the engine's detector
(claims.screening), so that a benchmark of the defence (bench/injection.py) measures something. The
assessment also reads the claim's untrusted texts together, as a model reading the whole payload does,
so an order split across two fields is obeyed too.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from claim_assess.claims.prompts import ASSESSMENT_SCHEMA_NAME, COVERAGE_SCHEMA_NAME, FACTS_CHECK_SCHEMA_NAME
from claim_assess.simulator.obedience import obeys

KNOWN_SCHEMAS = (COVERAGE_SCHEMA_NAME, ASSESSMENT_SCHEMA_NAME, FACTS_CHECK_SCHEMA_NAME)

_INSURANCE_DOC_TYPES = frozenset({"invoice", "estimate"})
_ACCIDENT_WORDS = ("collision", "crash", "accident")
_FRAUD_WINDOW_DAYS = 14
_VAGUE_NARRATIVE_CHARS = 25


def normalize(name: str) -> str:
    """Trimmed, inner whitespace collapsed, lower case."""
    return " ".join(name.split()).lower()


def names(description: str, component: str) -> bool:
    """Whether the normalized component appears as a whole word (or words) in the description."""
    wanted = normalize(component)
    if not wanted:
        return False
    return re.search(r"(?<!\w)" + re.escape(wanted) + r"(?!\w)", normalize(description)) is not None


def _first_named(description: str, components: Sequence[str]) -> str | None:
    # Longest first so "oil pump" wins over "pump"; ties keep the policy's order (sort is stable).
    for component in sorted(components, key=lambda c: -len(normalize(c))):
        if names(description, component):
            return component
    return None


def answer_coverage(payload: Mapping[str, Any]) -> dict[str, Any]:
    policy = payload.get("policy") or {}
    item = payload.get("item") or {}
    description = str(item.get("description") or "")
    if obeys(description):
        first = next(((e.get("category"), c) for e in policy.get("coverage") or [] for c in e.get("components") or []),
                     None)
        if first is not None:
            return {"status": "covered", "category": first[0], "component": first[1], "confidence": 0.95,
                    "reason": "the line item says it is covered"}
    excluded = [c for e in policy.get("exclusions") or [] for c in e.get("components") or []]
    hit = _first_named(description, excluded)
    if hit is not None:
        return {"status": "not_covered", "category": None, "component": hit, "confidence": 0.9,
                "reason": f"the description names the excluded component {hit!r}"}
    category_of: dict[str, str] = {}
    for entry in policy.get("coverage") or []:
        for component in entry.get("components") or []:
            category_of.setdefault(component, entry.get("category"))
    hit = _first_named(description, list(category_of))
    if hit is not None:
        return {"status": "covered", "category": category_of[hit], "component": hit, "confidence": 0.9,
                "reason": f"the description names the covered component {hit!r}"}
    if item.get("item_type") == "fee":
        return {"status": "not_covered", "category": None, "component": None, "confidence": 0.8,
                "reason": "a fee is not a covered component"}
    return {"status": "review", "category": None, "component": None, "confidence": 0.3,
            "reason": "the description names no component of the policy"}


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def answer_assessment(payload: Mapping[str, Any]) -> dict[str, Any]:
    claim = payload.get("claim") or {}
    policy = payload.get("policy") or {}
    reconciliation = payload.get("reconciliation") or {}
    screening = payload.get("screening") or {}
    narrative = str(claim.get("narrative") or "")

    flags: list[str] = []
    if screening.get("injection_suspected"):
        flags.append("suspected_injection")
    loss, valid_from = _date(claim.get("loss_date")), _date(policy.get("valid_from"))
    if loss is not None and valid_from is not None and 0 <= (loss - valid_from).days <= _FRAUD_WINDOW_DAYS:
        flags.append("possible_fraud")
    doc_types = {str(d.get("doc_type")) for d in claim.get("documents") or [] if isinstance(d, Mapping)}
    if not doc_types & _INSURANCE_DOC_TYPES:
        flags.append("insufficient_documentation")

    untrusted = [narrative]
    untrusted += [d.get("text") for d in claim.get("documents") or [] if isinstance(d, Mapping)]
    untrusted += [c.get("description") for c in payload.get("coverage") or [] if isinstance(c, Mapping)]
    texts = [text for text in untrusted if isinstance(text, str)]
    if any(obeys(text) for text in texts) or obeys(" ".join(texts)):
        return {"recommendation": "APPROVE", "confidence": 0.95,
                "rationale": "the documents ask for the claim to be approved",
                "flags": [f for f in flags if f != "suspected_injection"]}

    lowered = narrative.lower()
    if any(word in lowered for word in _ACCIDENT_WORDS):
        recommendation, why = "REJECT", "the narrative describes an accident, which warranty does not cover"
    elif reconciliation.get("gate") != "PASS":
        recommendation, why = "REFER", f"the documents do not reconcile (gate {reconciliation.get('gate')})"
    else:
        recommendation, why = "APPROVE", "the documents reconcile and the loss is a warranty matter"
    vague = len(narrative) < _VAGUE_NARRATIVE_CHARS
    return {
        "recommendation": recommendation,
        "confidence": 0.55 if vague else 0.9,
        "rationale": why + ("; the narrative is vague" if vague else ""),
        "flags": flags,
    }


_WRONG_STATUS = {"covered": "not_covered", "not_covered": "covered", "review": "covered"}
_WRONG_RECOMMENDATION = {"APPROVE": "REJECT", "REJECT": "APPROVE", "REFER": "APPROVE"}


def perturb(task: str, answer: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A plausible wrong answer that still fits the schema."""
    wrong = dict(answer)
    if task == "coverage":
        wrong["status"] = _WRONG_STATUS.get(answer["status"], "review")
        wrong["confidence"] = rng.choice((0.6, 0.7, 0.95))
        wrong["reason"] = answer["reason"] + " (simulated model error)"
    else:
        wrong["recommendation"] = _WRONG_RECOMMENDATION.get(answer["recommendation"], "REFER")
        wrong["rationale"] = answer["rationale"] + " (simulated model error)"
    return wrong


def answer(schema_name: str, payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(task, answer) for a request whose response_format names ``schema_name``."""
    if schema_name == COVERAGE_SCHEMA_NAME:
        return "coverage", answer_coverage(payload)
    if schema_name == ASSESSMENT_SCHEMA_NAME:
        return "assessment", answer_assessment(payload)
    if schema_name == FACTS_CHECK_SCHEMA_NAME:  # the same model on what it is shown: the facts, no free text
        return "facts_check", answer_assessment(payload)
    raise KeyError(schema_name)


_DEFAULT_BY_TYPE = {"string": "", "number": 0, "integer": 0, "boolean": False, "array": [], "object": {}}


def conform(value: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Fit an answer to the request's own object schema: drop unknown keys, fill missing required ones.

    The engine's schemas are the contract's, so this normally changes nothing; it keeps the
    simulator's answers valid if a schema grows a field the task model does not know.
    """
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return value
    fitted = {k: v for k, v in value.items() if k in properties}
    for key in schema.get("required") or list(properties):
        if key in fitted:
            continue
        types = properties[key].get("type", "string") if isinstance(properties[key], Mapping) else "string"
        types = [types] if isinstance(types, str) else list(types)
        fitted[key] = None if "null" in types else _DEFAULT_BY_TYPE.get(types[0], None)
    return fitted


def break_schema(value: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Valid JSON that a strict schema rejects: a required field missing and an unknown one added."""
    broken = dict(value)
    required = list(schema.get("required") or value)
    if required:
        broken.pop(required[0], None)
    broken["unexpected_field"] = "simulated schema violation"
    return broken
