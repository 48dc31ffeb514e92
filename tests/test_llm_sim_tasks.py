"""The simulator's deterministic task model, exactly as docs/contracts.md section 2 says."""

from __future__ import annotations

import json
import random

import pytest

from claim_assess.claims.prompts import ASSESSMENT_SCHEMA, COVERAGE_SCHEMA, parse_assessment_answer, parse_coverage_answer
from claim_assess.simulator.tasks import answer, answer_assessment, answer_coverage, break_schema, conform, names, perturb
from claim_assess.errors import InvalidOutputError

POLICY = {
    "coverage": [
        {"category": "engine", "components": ["oil pump", "pump", "Turbo  Charger"]},
        {"category": "transmission", "components": ["gearbox", "clutch"]},
    ],
    "exclusions": [
        {"clause": "E1", "description": "wear parts", "components": ["clutch disc", "brake pads"]},
    ],
}


def coverage(description: str, item_type: str = "part") -> dict:
    return answer_coverage({"task": "coverage", "policy": POLICY,
                            "item": {"item_id": "i1", "description": description, "item_type": item_type,
                                     "component": None}})


@pytest.mark.parametrize(
    ("description", "item_type", "expected"),
    [
        # rule 1: an excluded component wins even when a covered one ("clutch") is named too
        ("Replace clutch disc", "part", ("not_covered", None, "clutch disc", 0.9)),
        # rule 2, longest component name first: "oil pump" not "pump"
        ("New OIL   PUMP fitted", "part", ("covered", "engine", "oil pump", 0.9)),
        ("water pump", "part", ("covered", "engine", "pump", 0.9)),
        # normalization on both sides; the policy's own spelling is returned
        ("turbo charger rebuild", "labor", ("covered", "engine", "Turbo  Charger", 0.9)),
        # whole words only: "pumps" and "gearboxes" do not name "pump" / "gearbox"
        ("pumps and gearboxes", "part", ("review", None, None, 0.3)),
        # rule 3
        ("Diagnostic fee", "fee", ("not_covered", None, None, 0.8)),
        # a fee naming a covered component is still covered (rule 2 comes first)
        ("gearbox inspection fee", "fee", ("covered", "transmission", "gearbox", 0.9)),
        # rule 4
        ("Misc. shop supplies", "part", ("review", None, None, 0.3)),
    ],
)
def test_coverage_rules(description, item_type, expected):
    got = coverage(description, item_type)
    assert (got["status"], got["category"], got["component"], got["confidence"]) == expected
    assert isinstance(got["reason"], str) and got["reason"]


def test_names_is_whole_word_and_normalized():
    assert names("Replace the Oil  Pump.", " oil pump ")
    assert not names("oilpump", "oil pump")
    assert not names("anything", "   ")


def assessment(*, narrative="The engine stopped on the motorway and would not restart.", gate="PASS",
               injection=False, loss_date="2026-06-20", valid_from="2026-01-01", doc_types=("invoice",)) -> dict:
    return answer_assessment({
        "task": "assessment",
        "claim": {"claim_id": "c1", "policy_id": "p1", "loss_date": loss_date, "reported_date": "2026-06-21",
                  "odometer_km": 50000, "narrative": narrative,
                  "documents": [{"doc_id": f"d{i}", "doc_type": t, "facts": {}, "text": ""}
                                for i, t in enumerate(doc_types)]},
        "policy": {"holder_type": "individual", "currency": "EUR", "valid_from": valid_from,
                   "valid_to": "2027-01-01", "max_odometer_km": 200000},
        "reconciliation": {"gate": gate, "conflicts": [], "claimed_total": "100.00"},
        "screening": {"hard_checks_failed": [], "injection_suspected": injection},
        "coverage": [],
        "payout": {"covered_total": "100.00", "payout": "80.00", "currency": "EUR"},
    })


def test_assessment_clean_claim_is_approved():
    got = assessment()
    assert (got["recommendation"], got["confidence"], got["flags"]) == ("APPROVE", 0.9, [])


@pytest.mark.parametrize(
    ("kwargs", "recommendation", "confidence", "flags"),
    [
        ({"narrative": "Minor crash in the car park, then the gearbox failed."}, "REJECT", 0.9, []),
        ({"narrative": "After the COLLISION the engine overheated badly.", "gate": "FAIL"}, "REJECT", 0.9, []),
        ({"gate": "WARN"}, "REFER", 0.9, []),
        ({"narrative": "It broke."}, "APPROVE", 0.55, []),
        ({"narrative": "x" * 24}, "APPROVE", 0.55, []),
        ({"narrative": "x" * 25}, "APPROVE", 0.9, []),
        ({"injection": True}, "APPROVE", 0.9, ["suspected_injection"]),
        ({"loss_date": "2026-01-15"}, "APPROVE", 0.9, ["possible_fraud"]),  # 14 days after valid_from
        ({"loss_date": "2026-01-16"}, "APPROVE", 0.9, []),  # 15 days: outside the window
        ({"loss_date": "2026-01-01"}, "APPROVE", 0.9, ["possible_fraud"]),
        ({"doc_types": ("photo", "report")}, "APPROVE", 0.9, ["insufficient_documentation"]),
        ({"doc_types": ("estimate",)}, "APPROVE", 0.9, []),
        ({"injection": True, "loss_date": "2026-01-05", "doc_types": ()}, "APPROVE", 0.9,
         ["suspected_injection", "possible_fraud", "insufficient_documentation"]),
    ],
)
def test_assessment_rules(kwargs, recommendation, confidence, flags):
    got = assessment(**kwargs)
    assert (got["recommendation"], got["confidence"], got["flags"]) == (recommendation, confidence, flags)


def test_answers_are_valid_for_the_engines_own_parsers_and_schemas():
    jsonschema = pytest.importorskip("jsonschema")
    for text in ("Replace clutch disc", "oil pump", "fee", "unknown"):
        got = conform(coverage(text), COVERAGE_SCHEMA)
        jsonschema.validate(got, COVERAGE_SCHEMA)
        parse_coverage_answer(json.dumps(got))
    got = conform(assessment(injection=True, doc_types=()), ASSESSMENT_SCHEMA)
    jsonschema.validate(got, ASSESSMENT_SCHEMA)
    parse_assessment_answer(json.dumps(got))


def test_answer_dispatches_on_schema_name():
    assert answer("coverage_decision", {"policy": POLICY, "item": {"description": "gearbox"}})[0] == "coverage"
    assert answer("claim_assessment", {})[0] == "assessment"
    with pytest.raises(KeyError):
        answer("something_else", {})


def test_perturbed_answers_are_wrong_but_schema_valid():
    rng = random.Random(1)
    right = coverage("oil pump")
    wrong = perturb("coverage", right, rng)
    assert wrong["status"] != right["status"]
    parse_coverage_answer(json.dumps(wrong))
    right = assessment()
    wrong = perturb("assessment", right, rng)
    assert wrong["recommendation"] != right["recommendation"]
    parse_assessment_answer(json.dumps(wrong))


def test_conform_and_break_schema():
    schema = {"type": "object", "required": ["a", "b", "c"],
              "properties": {"a": {"type": "string"}, "b": {"type": ["string", "null"]}, "c": {"type": "array"}}}
    assert conform({"a": "x", "zzz": 1}, schema) == {"a": "x", "b": None, "c": []}
    broken = break_schema(coverage("oil pump"), COVERAGE_SCHEMA)
    assert "status" not in broken and "unexpected_field" in broken
    with pytest.raises(InvalidOutputError):
        parse_coverage_answer(json.dumps(broken))
