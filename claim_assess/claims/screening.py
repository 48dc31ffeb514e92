"""Screening (spec 2.2): hard checks against the policy, and the prompt-injection flag. No LLM.

INJECTION_PATTERNS is the one place that decides what "addresses the assessor instead of describing the
loss" means, in English, German, French and Italian (the families and their precision rules are in
claims/injection_patterns.py). The patterns run over ``normalize_text``'s reading of a text
(claims/reading.py), which undoes what hides an instruction from a string match: full-width and look-alike
letters of other scripts, zero-width and other format characters, accents, letters spaced apart, leetspeak.
``find_injection`` also screens the text that each base64 run of a text decodes to, and ``screen`` screens a
claim's texts joined as well as one by one, so an instruction split across two fields is found (it is
reported as the fields it spans: "narrative + documents[0].text").

The flag only sends a claim to a human (REFER); a false positive costs a review, a false negative is caught
by the fenced prompt, the rule-based payout and the decision table's LLM_COVERAGE_UNVERIFIED row.

Flagging is not enough on its own: a model may still obey the text it is shown (the line-item coverage
it classifies feeds the payout). So ``redact_instructions`` removes every sentence that matches before
untrusted text goes into a prompt (claims/prompts.py), replacing it with ``[instruction removed]``; an
instruction split across fields is flagged but, no field holding it, not redacted. Screening itself, and the
ledger's input digest, always see the original text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from claim_assess.claims.injection_patterns import FAMILIES, FLAGS
from claim_assess.claims.models import Claim, Policy
from claim_assess.claims.reading import (
    LEET,
    LEET_VARIANTS,
    decoded_texts,
    has_base64_run,
    normalize_text,
    read,
    read_characters,
)
from claim_assess.claims.required_text import RequiredText

__all__ = ["INJECTION_PATTERNS", "REDACTED", "Screening", "find_injection", "find_injections", "normalize_text",
           "redact_instructions", "screen"]

POLICY_INACTIVE = "POLICY_INACTIVE"
MILEAGE_EXCEEDED = "MILEAGE_EXCEEDED"
SUSPECTED_INJECTION = "SUSPECTED_INJECTION"


@functools.lru_cache(maxsize=None)
def _compiled(source: str) -> re.Pattern[str]:
    return re.compile(source, FLAGS)


class _Patterns(Mapping[str, "re.Pattern[str]"]):
    """name -> a family's alternatives as one pattern, compiled when first asked for: screening runs the
    alternatives one by one (below), the whole patterns serve readers and tests."""

    def __init__(self, families: Mapping[str, tuple[str, ...]]) -> None:
        self._sources = {name: "|".join(alternatives) for name, alternatives in families.items()}

    def __getitem__(self, name: str) -> re.Pattern[str]:
        return _compiled(self._sources[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


# name -> pattern (matched against normalize_text output). Each has positive and negative tests in four
# languages. Read-only: the pre-check below is derived once.
INJECTION_PATTERNS: Mapping[str, re.Pattern[str]] = _Patterns(FAMILIES)

# A pattern matches where one of its alternatives does. ``re`` tries every alternative at every position, a
# hundred and more of them here; the pre-check names the few (usually none) whose words a text holds, and only
# those run (each compiled when first needed).
_ALTERNATIVES: tuple[tuple[str, str], ...] = tuple(
    (name, alternative) for name, alternatives in FAMILIES.items() for alternative in alternatives)

# Most text matches none of the patterns, and every way of matching one needs some whole words ("ignore" and
# "instructions"), so only a text that holds the words of some alternative runs it (claims/required_text.py).
# The words are those of the text's characters as ``read_characters`` reads them, leetspeak words read as
# words (the equivalents), so the same test holds for the reading the patterns run over.
# Derived when first needed, not at import: reading every alternative's words takes about 0.2 s, and the driver
# imports this module on its way to the first LLM call without screening a claim itself (the assessors do).
@functools.cache
def pre_check() -> RequiredText:
    return RequiredText.of([(source, FLAGS) for _, source in _ALTERNATIVES], LEET, LEET_VARIANTS)

_MAX_DECODING_DEPTH = 2  # base64 inside base64 inside the text, no deeper


def _matches(normalized: str, candidates: Iterable[int]) -> set[str]:
    """The families of the ``candidates`` (indices into _ALTERNATIVES) that match ``normalized``."""
    return {_ALTERNATIVES[i][0] for i in candidates if _compiled(_ALTERNATIVES[i][1]).search(normalized)}


# Four single letters or digits in a row in a pre-check's fold ("i g n o r e", "a-p-p-r-o-v-e" fold to that):
# only then can the letter-spacing reader make words the fold does not already hold.
_SPACED_GATE = re.compile(" [a-z0-9] +[a-z0-9] +[a-z0-9] +[a-z0-9](?![a-z0-9])")


def _folded(letters: str) -> str:
    """The pre-check's fold of the reading of ``letters`` (``read_characters`` of a text). The fold of the
    characters holds the reading's words, leetspeak included, but for spaced-out letters: where there may be
    some, the words are those of the reading itself."""
    folded = pre_check().fold(letters)
    if _SPACED_GATE.search(" " + folded) is not None:
        folded = pre_check().fold(read(letters))
    return folded


def _find(text: str, depth: int = 0) -> tuple[str, ...]:
    letters = read_characters(text)
    candidates = pre_check().candidates_folded(_folded(letters))
    found = _matches(read(letters), candidates) if candidates else set()
    if depth < _MAX_DECODING_DEPTH and has_base64_run(letters):
        for decoded in decoded_texts(text):
            found.update(_find(decoded, depth + 1))
    return tuple(name for name in INJECTION_PATTERNS if name in found)


def _may_hold_instruction(text: str) -> bool:
    """False only if ``find_injection`` finds nothing in ``text`` nor in any of its lines (the pre-check, and
    the base64 decoder)."""
    letters = read_characters(text)
    return pre_check().may_match_folded(_folded(letters)) or (has_base64_run(letters) and bool(decoded_texts(text)))


# A claim's texts are screened, then redacted for the assessment prompt and for each coverage prompt: the
# findings are kept so that is one normalization and search per text. Bounded in entries and in the length
# of the texts kept, so hostile texts cost memory only while they are screened.
_KEPT_TEXT_CHARS = 2_000
_KEPT_ENTRIES = 1_024
_kept: dict[str, tuple[str, ...]] = {}


def _keep(text: str, found: tuple[str, ...]) -> None:
    if len(text) <= _KEPT_TEXT_CHARS:
        if len(_kept) >= _KEPT_ENTRIES:
            _kept.clear()  # what is reused is one claim's texts, kept moments ago: no order to keep
        _kept[text] = found


def find_injection(text: str) -> tuple[str, ...]:
    """Names of the INJECTION_PATTERNS the text matches, in its reading or in the text a base64 run of it
    decodes to (empty for benign text)."""
    found = _kept.get(text)
    if found is None:
        found = _find(text)
        _keep(text, found)
    return found


def find_injections(texts: Sequence[str]) -> list[tuple[str, ...]]:
    """``find_injection`` of each text, with one pre-check for them all: most claims hold no instruction at all,
    and one look at all of a claim's text costs far less than one per text. (The pre-check passes the joined
    text whenever it passes one of them; then each text is checked on its own, the answers stay exact.)"""
    todo = [text for text in texts if text not in _kept]
    if todo and not _may_hold_instruction("\n".join(todo)):
        for text in todo:
            _keep(text, ())
        return [_kept.get(text, ()) for text in texts]
    return [find_injection(text) for text in texts]


@dataclass(frozen=True)
class Screening:
    hard_checks_failed: tuple[str, ...]  # POLICY_INACTIVE, MILEAGE_EXCEEDED
    injection_suspected: bool
    # where: "narrative", "documents[1].text", "line_items[3].description"; an instruction split across fields
    # (found in their texts joined, in no one of them) as the fields it spans: "narrative + documents[0].text"
    injection_evidence: tuple[str, ...]


def screen(claim: Claim, policy: Policy) -> Screening:
    failed: list[str] = []
    if not policy.valid_from <= claim.loss_date <= policy.valid_to:
        failed.append(POLICY_INACTIVE)
    if policy.max_odometer_km is not None and claim.odometer_km > policy.max_odometer_km:
        failed.append(MILEAGE_EXCEEDED)

    texts = [("narrative", claim.narrative)]
    texts += [(f"documents[{i}].text", d.text) for i, d in enumerate(claim.documents)]
    texts += [(f"line_items[{i}].description", item.description) for i, item in enumerate(claim.line_items)]
    return Screening(tuple(failed), *_injection_evidence(texts))


_SPLIT_SPAN = 3  # fields an instruction split across fields is looked for in, at most, before naming them all


def _injection_evidence(texts: Sequence[tuple[str, str]]) -> tuple[bool, tuple[str, ...]]:
    # Every detection below goes through find_injection, one text or the joined texts at a time: one function
    # to stand in for when the detector is switched off (bench/injection.py).
    raw = [text for _, text in texts]
    joined = "\n".join(raw)
    if not _may_hold_instruction(joined):
        for text in raw:
            _keep(text, ())
        return False, ()
    evidence = tuple(where for where, text in texts if find_injection(text))
    if evidence or len(raw) < 2 or not find_injection(joined):
        return bool(evidence), evidence
    for span in range(2, min(_SPLIT_SPAN, len(raw) - 1) + 1):
        for start in range(len(raw) - span + 1):
            if find_injection("\n".join(raw[start:start + span])):
                return True, (" + ".join(where for where, _ in texts[start:start + span]),)
    return True, (" + ".join(where for where, _ in texts),)


# --- redaction before text reaches the model ------------------------------------------------------------

REDACTED = "[instruction removed]"

# Sentence ends (kept with the sentence before), line breaks and dash separators ("part -- note").
_SENTENCE_BREAK = re.compile(r"(?<=[.!?;])[ \t]+|\r\n|[\n\r\u2028\u2029]+|[ \t]+(?:--|\u2014|\u2013)[ \t]+")


def redact_instructions(text: str) -> str:
    """``text`` with each sentence that matches an INJECTION_PATTERN replaced by ``[instruction removed]``.

    Benign text comes back unchanged. Guarantee: the result matches no pattern. An instruction split over
    two sentences (so no single sentence matches) costs the whole text, not the guarantee.
    """
    if not find_injection(text):
        return text
    out: list[str] = []
    position = 0
    for brk in _SENTENCE_BREAK.finditer(text):
        out.append(_redact_sentence(text[position:brk.start()]))
        out.append(brk.group())
        position = brk.end()
    out.append(_redact_sentence(text[position:]))
    redacted = "".join(out)
    return redacted if not find_injection(redacted) else REDACTED


def _redact_sentence(sentence: str) -> str:
    return REDACTED if sentence.strip() and find_injection(sentence) else sentence
