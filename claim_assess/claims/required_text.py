"""What a text must contain before a regular expression can match it: a sound pre-check in plain substring tests.

Screening runs its injection patterns over every narrative, document text and line description; Python's
``re`` tries each pattern's alternatives at every position, about half a microsecond per character for all of
them. Yet each alternative needs some literal text ("ignore", "system", "<|"), and ``str.__contains__`` scans for
one literal at about a nanosecond per character, so the forty-odd scans below cost a tenth of the patterns.
``RequiredText.of(patterns)`` reads the patterns' parse trees once and derives, for each way a pattern can match,
the literal pieces that match must contain; ``may_match(text)`` says False only when no pattern can match (then
the patterns need not run) and True otherwise.

Sound by construction, never a guess: an element the analysis does not understand requires nothing (a pattern
it cannot read at all gets no pre-check, and then no text is ever turned away), and texts are compared after
``fold``, which maps every character a pattern literal can match (case-insensitively in ``re``'s own sense,
``\\s`` for whitespace) to the same character the literal maps to.

It reads ``re``'s parse tree through CPython's internal ``re._parser``; on a Python without it the pre-check
always passes (no speed-up, the same results).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

try:  # CPython 3.11+
    from re import _constants as _C
    from re import _parser as _P
except ImportError:  # pragma: no cover - another Python: no pre-check
    _C = _P = None  # type: ignore[assignment]

_MAX_RULES = 512  # ways to match one pattern; past this the pattern gets no pre-check rather than a slow one
_SPACE = " "


class _Unknown(Exception):
    """Internal: the pattern holds something this analysis does not handle; it gets no pre-check."""


def _fold_literal(code: int) -> str:
    ch = chr(code)
    if ch.isspace():
        return _SPACE
    if not ch.isascii():
        raise _Unknown  # the folding table covers what ASCII literals match, no more
    return ch.lower()


def _is_space_class(node: list[tuple[Any, Any]]) -> bool:
    return len(node) == 1 and node[0][0] is _C.IN and node[0][1] == [(_C.CATEGORY, _C.CATEGORY_SPACE)]


def _rules(items: list[tuple[Any, Any]]) -> list[tuple[str, ...]]:
    """The ways ``items`` (one sequence of a parse tree) can match, each as the literal pieces it needs.

    A branch is distributed over the rest of the sequence (``ab(c|d)e`` is ``abce|abde``), so literal runs
    join across it; ``\\s+`` is a space in folded text (one at least, so it ends one piece and starts the next).
    """
    pieces: list[str] = []
    run: list[str] = []

    def close() -> None:
        text = "".join(run)
        if text.strip(_SPACE):
            pieces.append(text)
        run.clear()

    for index, (op, av) in enumerate(items):
        if op is _C.LITERAL:
            run.append(_fold_literal(av))
        elif op is _C.BRANCH:
            rest = items[index + 1:]
            prefix = [(_C.LITERAL, ord(ch)) for ch in run]  # the open run joins each branch
            found: list[tuple[str, ...]] = []
            for branch in av[1]:
                for rule in _rules(prefix + list(branch.data) + rest):
                    found.append((*pieces, *rule))
                if len(found) > _MAX_RULES:
                    raise _Unknown
            return found
        elif op is _C.SUBPATTERN and not av[1] and not av[2]:
            # A group without flags of its own: its items are part of this sequence.
            merged = [(_C.LITERAL, ord(ch)) for ch in run] + list(av[3].data) + items[index + 1:]
            return [(*pieces, *rule) for rule in _rules(merged)]
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT) and av[0] >= 1 and _is_space_class(
                av[2].data):
            run.append(_SPACE)
            close()
            run.append(_SPACE)
        else:
            # Anything else (classes, repeats that may match nothing, assertions, flagged groups) may match
            # text of any kind or none: it needs nothing and ends the literal run. Requiring less is sound.
            close()
    close()
    return [tuple(pieces)]


def _pattern_rules(pattern: re.Pattern[str]) -> list[frozenset[str]] | None:
    if _P is None:
        return None
    try:
        rules = _rules(list(_P.parse(pattern.pattern, pattern.flags).data))
    except (_Unknown, RecursionError):
        return None
    return [frozenset(rule) for rule in rules]


_SPACES = re.compile(r"\s")  # exactly what a pattern's \s matches


_ANY_LETTER = re.compile("(?i)[a-z]")
_LETTERS = tuple((letter, re.compile(f"(?i){letter}")) for letter in string.ascii_lowercase)


@functools.lru_cache(maxsize=4096)
def _letter_of(ch: str) -> str | None:
    """The lower-case ASCII letter that a pattern literal matching ``ch`` case-insensitively in ``re`` would be
    (the upper-case letter, the Kelvin sign for k, the long s, the dotless i...), or None. A test checks over
    every code point that the class finds every character a single letter matches."""
    if _ANY_LETTER.fullmatch(ch) is None:
        return None
    matched = [letter for letter, pattern in _LETTERS if pattern.fullmatch(ch)]
    if len(matched) != 1:
        raise RuntimeError(f"U+{ord(ch):04X} matches the letters {matched}")  # pragma: no cover
    return matched[0]


def fold(text: str) -> str:
    """``text`` as the pre-check compares it: whitespace as spaces, and every character an ASCII letter matches
    case-insensitively as that lower-case letter (other characters as they are)."""
    text = text.replace("\n", _SPACE)
    if not text.isprintable():  # every space but " " is unprintable (a test checks all code points)
        text = _SPACES.sub(_SPACE, text)
    if text.isascii():
        return text.lower()  # within ASCII, a letter matches just its two cases
    for ch in set(text):
        if not ("a" <= ch <= "z"):
            letter = _letter_of(ch)
            if letter is not None:
                text = text.replace(ch, letter)
    return text


def _cover(rules: list[frozenset[str]]) -> dict[str, list[frozenset[str]]]:
    """A few pieces that between them stand for every rule (greedy set cover): fewer pieces, fewer scans of the
    text. Pieces of three letters or more first (short ones turn up in any text), then the most rules."""
    uncovered = list(dict.fromkeys(rules))
    chosen: dict[str, list[frozenset[str]]] = {}
    while uncovered:
        counts: dict[str, int] = {}
        for rule in uncovered:
            for piece in rule:
                counts[piece] = counts.get(piece, 0) + 1
        best = max(sorted(counts), key=lambda piece: (len(piece.strip()), counts[piece]))
        chosen[best] = [rule for rule in uncovered if best in rule]
        uncovered = [rule for rule in uncovered if best not in rule]
    return chosen


@dataclass(frozen=True)
class RequiredText:
    """A pre-check for a set of patterns: ``may_match(text)`` is False only if none of them can match ``text``."""

    triggers: tuple[str, ...] | None  # pieces, one in every rule; None: no pre-check (some match needs nothing)
    rules: Mapping[str, tuple[tuple[str, ...], ...]]  # trigger -> the other pieces of each rule it stands for

    @classmethod
    def of(cls, patterns: Iterable[re.Pattern[str]]) -> RequiredText:
        rules: list[frozenset[str]] = []
        for pattern in patterns:
            found = _pattern_rules(pattern)
            if found is None or any(not rule for rule in found):
                return cls(None, MappingProxyType({}))
            rules += found
        cover = _cover(rules)
        # Within a rule, the longest pieces first: a rule that fails mostly fails on its rarest piece.
        return cls(tuple(cover), MappingProxyType({
            trigger: tuple(tuple(sorted(rule - {trigger}, key=lambda piece: (-len(piece.strip()), piece)))
                           for rule in found)
            for trigger, found in cover.items()}))

    def may_match(self, text: str) -> bool:
        if self.triggers is None:
            return True
        folded = fold(text)
        # One scan of the text per trigger, in C; most texts hold none of them.
        for trigger in filter(folded.__contains__, self.triggers):
            for rule in self.rules[trigger]:
                if all(map(folded.__contains__, rule)):
                    return True
        return False
