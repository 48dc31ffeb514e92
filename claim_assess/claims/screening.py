"""Screening (spec 2.2): hard checks against the policy, and the prompt-injection flag. No LLM.

INJECTION_PATTERNS below is the one place that decides what "addresses the assessor instead of describing
the loss" means. Text is normalized first (NFKC folds full-width and other compatibility letters, format
characters such as zero-width spaces are removed, runs of spaces collapse, case folds) so trivial
obfuscation does not slip past. Line breaks are kept: role markers ("system:") only count at the start of
a line or right after markup, so "Cooling system: flushed" stays benign.

The flag only sends a claim to a human (REFER); a false positive costs a review, a false negative is
caught by the fenced prompt and the rule-based payout, so the patterns lean towards precision.

Flagging is not enough on its own: a model may still obey the text it is shown (the line-item coverage
it classifies feeds the payout). So ``redact_instructions`` removes every sentence that matches a pattern
before untrusted text goes into a prompt (claims/prompts.py), replacing it with ``[instruction removed]``.
Screening itself, and the ledger's input digest, always see the original text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from claim_assess.claims.models import Claim, Policy
from claim_assess.claims.required_text import RequiredText

POLICY_INACTIVE = "POLICY_INACTIVE"
MILEAGE_EXCEEDED = "MILEAGE_EXCEEDED"
SUSPECTED_INJECTION = "SUSPECTED_INJECTION"

_I = re.IGNORECASE
_START = r"(?:^|(?<=[\n\[\(<{|#*>\"'`]))[ \t]*"  # start of a line, or right after markup/quote

# name -> pattern (matched against normalize_text output). Each has positive and negative tests.
# Read-only: _PRE_CHECK below is derived from it once, and a pattern added later would slip past that pre-check.
INJECTION_PATTERNS: Mapping[str, re.Pattern[str]] = MappingProxyType({
    # "ignore previous instructions", "disregard all prior rules", "forget your instructions"
    "ignore_instructions": re.compile(
        r"\b(?:ignore|disregard|forget|override)\s+(?:(?:all|any|the|your|of|these|those)\s+)*"
        r"(?:(?:previous|prior|above|earlier|preceding|former|system|original)\s+)?"
        r"(?:instructions?|prompts?|guidelines?|directives?|rules)\b",
        _I,
    ),
    # "approve this claim", "accept my claim", "mark it as approved"
    "approve_claim": re.compile(
        r"\b(?:approve|accept|authori[sz]e)\s+(?:this|the|my|our)\s+(?:claim|invoice|request)\b"
        r"|\bmark\s+(?:this|it|the\s+claim)\s+as\s+(?:approved|covered|paid)\b",
        _I,
    ),
    # "you are now ...", "pretend to be", "act as an unrestricted ..."
    "role_reassignment": re.compile(
        r"\byou\s+are\s+now\b|\bpretend\s+(?:to\s+be|you\s+are)\b"
        r"|\bact\s+as\s+(?:an?\s+)?(?:different|new|unrestricted|jailbroken)\b",
        _I,
    ),
    # chat-role markers: "system:", "assistant:" at a line start, "<|im_start|>", "[INST]", "<<SYS>>"
    "role_marker": re.compile(
        _START + r"(?:system|assistant|developer)\s*\]?\s*:"
        r"|<\|?\s*(?:system|assistant|im_start|im_end)\s*\|?>|\[/?inst\]|<</?sys>>",
        _I | re.MULTILINE,
    ),
    # talking about the model's own prompt or handing it new orders
    "prompt_talk": re.compile(
        r"\b(?:system|hidden|original|initial)\s+prompt\b|\bnew\s+instructions\s*:", _I
    ),
    # dictating the outcome: "set the payout to", "respond with APPROVE", "recommendation: approve"
    "dictate_outcome": re.compile(
        r"\bset\s+(?:the\s+)?(?:payout|decision|recommendation|confidence)\s+to\b"
        r"|\b(?:respond|reply|answer|output|return)\s+(?:only\s+)?(?:with\s+)?[\"']?approve\b"
        r"|\brecommendation\s*[:=]\s*[\"']?approve\b",
        _I,
    ),
    # addressing a model directly: "as an AI", "dear ChatGPT", "hey LLM"
    "address_model": re.compile(
        r"\bas\s+an?\s+(?:ai|language\s+model|llm)\b"
        r"|\b(?:dear|hey|hello|hi|attention)\s+(?:ai|llm|chatgpt|gpt|language\s+model|bot)\b",
        _I,
    ),
})

# Most text matches none of the patterns, and the literal text each way of matching needs (``ignore``,
# ``system``, ``<|``...) is found by substring tests far faster than ``re`` tries seven patterns at every
# position: only text that holds the pieces of some match goes through the patterns (claims/required_text.py).
_PRE_CHECK = RequiredText.of(INJECTION_PATTERNS.values())

_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")


def normalize_text(text: str) -> str:
    # ASCII text skips NFKC and the Cf removal: NFKC maps every ASCII string to itself and no ASCII
    # character is of category Cf (tests check both over all 128 code points). Other text looks up the
    # category of each distinct character once, not of every character.
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        for ch in {ch for ch in set(text) if not ch.isascii() and unicodedata.category(ch) == "Cf"}:
            text = text.replace(ch, "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Every space but " " is unprintable (a test checks all code points): in printable text without double
    # spaces, each run of spaces is one " " already, and the substitution would change nothing.
    if "  " in text or not text.replace("\n", "").isprintable():
        text = _HORIZONTAL_SPACE.sub(" ", text)
    return text.casefold()


def _matches(normalized: str) -> tuple[str, ...]:
    if not _PRE_CHECK.may_match(normalized):
        return ()
    return tuple(name for name, pattern in INJECTION_PATTERNS.items() if pattern.search(normalized))


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
    """Names of the INJECTION_PATTERNS the text matches (empty for benign text)."""
    found = _kept.get(text)
    if found is None:
        found = _matches(normalize_text(text))
        _keep(text, found)
    return found


def find_injections(texts: Sequence[str]) -> list[tuple[str, ...]]:
    """``find_injection`` of each text, with one pre-check for them all: most claims hold no instruction at all,
    and one look at all of a claim's text costs far less than one per text. (A piece of a match found in the
    joined text may be in no single text; then each text is checked on its own, the answers stay exact.)"""
    found: list[tuple[str, ...] | None] = [_kept.get(text) for text in texts]
    todo = [i for i, known in enumerate(found) if known is None]
    if todo:
        normalized = [normalize_text(texts[i]) for i in todo]
        anywhere = _PRE_CHECK.may_match("\n".join(normalized))
        for i, text in zip(todo, normalized):
            found[i] = _matches(text) if anywhere else ()
            _keep(texts[i], found[i])  # type: ignore[arg-type]
    return found  # type: ignore[return-value]


@dataclass(frozen=True)
class Screening:
    hard_checks_failed: tuple[str, ...]  # POLICY_INACTIVE, MILEAGE_EXCEEDED
    injection_suspected: bool
    injection_evidence: tuple[str, ...]  # where: "narrative", "documents[1].text", "line_items[3].description"


def screen(claim: Claim, policy: Policy) -> Screening:
    failed: list[str] = []
    if not policy.valid_from <= claim.loss_date <= policy.valid_to:
        failed.append(POLICY_INACTIVE)
    if policy.max_odometer_km is not None and claim.odometer_km > policy.max_odometer_km:
        failed.append(MILEAGE_EXCEEDED)

    texts = [("narrative", claim.narrative)]
    texts += [(f"documents[{i}].text", d.text) for i, d in enumerate(claim.documents)]
    texts += [(f"line_items[{i}].description", item.description) for i, item in enumerate(claim.line_items)]
    evidence = tuple(where for (where, _), found in zip(texts, find_injections([text for _, text in texts])) if found)
    return Screening(tuple(failed), bool(evidence), evidence)


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
