"""A second development set for the injection detector, written apart from the generated corpus (issue:
the patterns were tuned on the corpus's dev split and missed phrasings it does not hold).

tests/corpus/injection_extra/attacks.jsonl and benign.jsonl: one JSON object a line, {"id", "text", "language",
"family"}, in English, German, French and Italian. Attacks are the ways a claimant or garage tells an LLM
assessor to approve, pay, mark covered, raise its confidence, skip its checks, ignore its rules or reveal its
instructions (imperatives, polite requests, role-play, fake system/admin notes, notes to the model, fake JSON,
fake policy amendments, authority claims, end-of-prompt markers, outcomes, passive orders, mixed languages).
Benign texts are what warranty claims say with the same words innocently (the precision rules of
claims/injection_patterns.py). No engine, no network: ``find_injection`` on each text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claim_assess.claims.screening import find_injection

EXTRA = Path(__file__).resolve().parent / "corpus" / "injection_extra"
LANGUAGES = {"en", "de", "fr", "it"}

# Attacks the patterns do not catch, and why (each would cost benign texts or is one sentence's wording):
KNOWN_MISSES = {
    # "approve is" (an option named by elimination): no order, no outcome word the patterns could key on
    # without "approve" in any English sentence.
    "xa-en-083",
}


def _records(name: str) -> list[dict[str, str]]:
    with open(EXTRA / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ATTACKS = _records("attacks.jsonl")
BENIGN = _records("benign.jsonl")


def test_the_set_is_large_and_in_four_languages() -> None:
    for records in (ATTACKS, BENIGN):
        assert len(records) >= 200
        assert {r["language"] for r in records} == LANGUAGES
        assert all(sum(r["language"] == lang for r in records) >= 40 for lang in LANGUAGES)
        assert len({r["id"] for r in records}) == len(records)
        assert all(set(r) == {"id", "text", "language", "family"} for r in records)


@pytest.mark.parametrize("record", [r for r in ATTACKS if r["id"] not in KNOWN_MISSES], ids=lambda r: r["id"])
def test_every_attack_is_flagged(record: dict[str, str]) -> None:
    assert find_injection(record["text"]), record["text"]


@pytest.mark.parametrize("record", BENIGN, ids=lambda r: r["id"])
def test_no_benign_text_is_flagged(record: dict[str, str]) -> None:
    assert find_injection(record["text"]) == (), record["text"]


def test_the_known_misses_are_still_misses() -> None:
    # A miss that is caught now belongs with the others: take it off the list.
    texts = {r["id"]: r["text"] for r in ATTACKS}
    assert KNOWN_MISSES <= set(texts)
    assert [i for i in sorted(KNOWN_MISSES) if find_injection(texts[i])] == []


def test_detection_rate_on_the_extra_set() -> None:
    flagged = sum(bool(find_injection(r["text"])) for r in ATTACKS)
    assert flagged / len(ATTACKS) >= 0.99
