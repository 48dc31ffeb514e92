"""Which words a text must contain before a regular expression can match it: a sound pre-check in set lookups.

Screening runs its injection patterns, in four languages, over every narrative, document text and line
description; Python's ``re`` tries each pattern's alternatives at every position, microseconds per character
for all of them. Yet each way a pattern can match needs some whole words ("ignore" and "instructions",
"genehmigen", "sie" and "schaden"), and a text's words are one ``str.translate`` and one ``split`` away: a
set lookup per word then says whether any pattern could match, whatever the number of patterns.
``RequiredText.of(patterns)`` reads the patterns' parse trees once and derives, for each way a pattern can
match, the words that match must contain; ``may_match(text)`` says False only when no pattern can match (then
the patterns need not run) and True otherwise.

Words are what ``fold`` leaves between separators: ASCII letters (in lower case), digits and the characters
of the ``equivalents`` a pre-check is given; every other character (spaces, marks, underscores, anything not
ASCII) separates words. A word that mixes letters with digits or those characters also counts as the word
the equivalents make of it (screening's leetspeak: "4ppr0ve" is "approve" too), as screening reads it, and an
equivalent with a variant ("1" is "i" or "l") as any word of the patterns its letters may make ("c141m" is
"claim": a word of the patterns with the same skeleton, its i and l as 1). A run of letters in a pattern
is a required word only where the pattern itself bounds it on both sides by a separator or the text's edge:
``\\b``, ``\\s+``, a mark, ``^``, a look-behind that ends in one. Anything else (a run next to a class, a
repeat that may or may not add letters) requires nothing: requiring less is sound.

Sound by construction, never a guess: an element the analysis does not understand requires nothing (a pattern
whose every way of matching needs no word gets no pre-check, and then no text is ever turned away), and
``fold`` maps every character a pattern literal can match (case-insensitively in ``re``'s own sense) to what
the literal folds to.

It reads ``re``'s parse tree through CPython's internal ``re._parser``; on a Python without it the pre-check
always passes (no speed-up, the same results).
"""

from __future__ import annotations

import functools
import itertools
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

try:  # CPython 3.11+
    from re import _constants as _C
    from re import _parser as _P
except ImportError:  # pragma: no cover - another Python: no pre-check
    _C = _P = None  # type: ignore[assignment]

_MAX_RULES = 4096  # ways to match one pattern; past this the pattern gets no pre-check rather than a slow one
_SEPARATOR = " "


class _Unknown(Exception):
    """Internal: the pattern holds something this analysis does not handle; it gets no pre-check."""


def fold_table(equivalents: Mapping[str, str] = MappingProxyType({})) -> Mapping[int, str]:
    """The ``str.translate`` table of ``fold`` on ASCII: letters in lower case, digits and the ``equivalents``
    (single ASCII characters that are not letters, standing for letters inside a word) as they are, every
    other character a separator."""
    if any(len(ch) != 1 or not ch.isascii() or ch.isalpha() or not (v.isascii() and v.isalpha() and v.islower())
           for ch, v in equivalents.items()):
        raise ValueError(f"equivalents must map ASCII non-letters to lower-case letters, got {dict(equivalents)}")
    table: dict[int, str] = {}
    for code in range(128):
        ch = chr(code)
        if ch.isalpha():
            table[code] = ch.lower()
        elif not ch.isdigit() and ch not in equivalents:
            table[code] = _SEPARATOR
    return MappingProxyType(table)


_PLAIN = fold_table()
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


def fold(text: str, table: Mapping[int, str] = _PLAIN) -> str:
    """``text`` as a pre-check reads its words: every character an ASCII letter matches case-insensitively as
    that lower-case letter, ASCII characters as ``table`` maps them (``fold_table``), any other character a
    separator (no pattern literal matches one: the analysis gives a pattern with such a literal no pre-check)."""
    if not text.isascii():
        for ch in {ch for ch in set(text) if not ch.isascii()}:
            letter = _letter_of(ch)
            if letter is not None:
                text = text.replace(ch, letter)
        text = text.encode("ascii", "replace").decode("ascii")  # "?" is a separator
    return text.translate(table)


# --- reading a pattern ------------------------------------------------------------------------------------


class _State(NamedTuple):
    """Where the analysis is within one way of matching."""

    words: tuple[frozenset[str], ...]  # required so far: one word of each of these
    run: str  # letters and digits of the word being read
    run_bounded: bool  # the word being read starts right after a separator or the text's edge
    # the position is right after a separator or at the text's start (no run open); a match may start anywhere
    after_separator: bool


_START_STATE = _State((), "", False, False)


def _is_separator(code: int, table: Mapping[int, str]) -> bool:
    # A character beyond ASCII may match an ASCII letter case-insensitively (the long s): not known to separate.
    return code < 128 and table.get(code, chr(code)) == _SEPARATOR


def _class_separates(items: list[tuple[Any, Any]], table: Mapping[int, str]) -> bool:
    """Whether every character of this class (``IN``'s items) is a separator."""
    for kind, value in items:
        if kind is _C.CATEGORY and value is _C.CATEGORY_SPACE:
            continue
        if kind is _C.LITERAL and _is_separator(value, table):
            continue
        if kind is _C.RANGE and all(_is_separator(c, table) for c in range(value[0], value[1] + 1)):
            continue
        return False
    return True


def _consumes_separator(op: Any, av: Any, table: Mapping[int, str]) -> bool:
    """Whether this element matches one separator at least and nothing else (``\\s+``, ``:``, ``[-.]``)."""
    if op is _C.LITERAL:
        return _is_separator(av, table)
    if op is _C.IN:
        return _class_separates(av, table)
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
        body = list(av[2].data)
        return av[0] >= 1 and len(body) == 1 and _consumes_separator(*body[0], table)
    return False


def _separator_next(items: list[tuple[Any, Any]], table: Mapping[int, str]) -> bool:
    """Whether what ``items`` match, after a letter or digit, starts with a separator or ends the text."""
    for index, (op, av) in enumerate(items):
        if op is _C.AT:
            if av in (_C.AT_BOUNDARY, _C.AT_END, _C.AT_END_LINE, _C.AT_END_STRING):
                return True  # \b after a letter: what follows is no word character
            continue
        if op in (_C.ASSERT, _C.ASSERT_NOT):
            continue
        if _consumes_separator(op, av, table):
            return True
        rest = items[index + 1:]
        if op is _C.SUBPATTERN:
            return _separator_next(list(av[3].data) + rest, table)
        if op is _C.BRANCH:
            return all(_separator_next(list(branch.data) + rest, table) for branch in av[1])
        if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
            # its first character comes next, or (if it may be skipped) what follows it
            starts = _separator_next(list(av[2].data), table)
            return starts if av[0] >= 1 else starts and _separator_next(rest, table)
        return False
    return False  # the pattern ends: the text may go on with a letter


def _ends_with_separator(items: list[tuple[Any, Any]], table: Mapping[int, str]) -> bool:
    """Whether what ``items`` match is sure to end with a separator (``un'\\s*``, ``(?:the\\s+)+``)."""
    for index in range(len(items) - 1, -1, -1):
        op, av = items[index]
        if _consumes_separator(op, av, table):
            return True
        if op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
            continue  # zero-width: what came before ends the match
        if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
            ends = _ends_with_separator(list(av[2].data), table)
            return ends if av[0] >= 1 else ends and _ends_with_separator(items[:index], table)
        if op is _C.SUBPATTERN:
            return _ends_with_separator(items[:index] + list(av[3].data), table)
        if op is _C.BRANCH:
            return all(_ends_with_separator(items[:index] + list(branch.data), table) for branch in av[1])
        return False
    return False


def _close(state: _State, bounded_right: bool) -> _State:
    words = state.words + ((frozenset([state.run]),) if state.run and state.run_bounded and bounded_right else ())
    return _State(words, "", False, False)


def _separated(state: _State, after_separator: bool) -> _State:
    return _State(state.words, state.run, state.run_bounded, after_separator)


def _zero_width_separates(op: Any, av: Any, table: Mapping[int, str]) -> bool | None:
    """For a zero-width element: whether it guarantees a separator (or the text's start) right before the
    position; None if the element is not zero-width."""
    if op is _C.AT:
        return av in (_C.AT_BEGINNING, _C.AT_BEGINNING_LINE, _C.AT_BEGINNING_STRING, _C.AT_BOUNDARY)
    if op is _C.ASSERT_NOT:
        return False
    if op is _C.ASSERT:
        return av[0] < 0 and _ends_with_separator(list(av[1].data), table)  # a look-behind that ends in one
    if op is _C.BRANCH and all(all(_zero_width_separates(o, a, table) is not None for o, a in branch.data)
                               for branch in av[1]):
        return all(any(_zero_width_separates(o, a, table) for o, a in branch.data) for branch in av[1])
    if op is _C.SUBPATTERN and all(_zero_width_separates(o, a, table) is not None for o, a in av[3].data):
        return any(_zero_width_separates(o, a, table) for o, a in av[3].data)
    return None


_Rule = tuple[frozenset[str], ...]  # one word of each of these sets


def _word_of(items: Any, table: Mapping[int, str]) -> str | None:
    """The word an alternative of a branch is, if it is nothing but letters and digits."""
    if not items or not all(op is _C.LITERAL and av < 128 and chr(av).isalnum() for op, av in items):
        return None
    return "".join(table.get(av, chr(av)) for _, av in items)


def _rules(items: list[tuple[Any, Any]], table: Mapping[int, str], state: _State) -> list[_Rule]:
    """The ways ``items`` (the rest of one sequence of a parse tree) can match, each as the words it needs.
    A choice of whole words ("approve|accept|grant" between separators) is one set of words; any other branch
    is distributed over the rest of the sequence (``ab(c|d)e`` is ``abce|abde``)."""
    for index, (op, av) in enumerate(items):
        rest = items[index + 1:]
        if op is _C.LITERAL and not _is_separator(av, table):
            if av >= 128 or not (chr(av).isalnum() or av in table):
                raise _Unknown  # beyond ASCII, or a character a word may hold for a letter: not handled
            letter = table.get(av, chr(av))
            state = _State(state.words, state.run + letter, state.run_bounded if state.run else state.after_separator,
                           state.after_separator)
            continue
        zero_width = _zero_width_separates(op, av, table)
        if zero_width is not None:
            if state.run and op is _C.AT and av is _C.AT_BOUNDARY:
                state = _close(state, True)
            state = state if state.run else _separated(state, state.after_separator or zero_width)
            continue
        if op is _C.BRANCH:
            return _branch_rules(av[1], rest, table, state)
        if op is _C.SUBPATTERN and not av[1] and not av[2]:  # a group without flags of its own: inline
            return _rules(list(av[3].data) + rest, table, state)
        if op is _C.MAX_REPEAT and av[:2] == (0, 1) and all(
                o is _C.LITERAL and not _is_separator(a, table) for o, a in av[2].data):
            # optional letters ("prompts?", "anweisung(?:en)?"): both words
            return _rules(list(av[2].data) + rest, table, state) + _rules(rest, table, state)
        state = _after(op, av, rest, table, state)
    return [_close(state, False).words]


def _branch_rules(branches: Any, rest: list[tuple[Any, Any]], table: Mapping[int, str], state: _State) -> list[_Rule]:
    words = [_word_of(branch.data, table) for branch in branches]
    found: list[_Rule] = []
    if not state.run and state.after_separator and any(words) and _separator_next(rest, table):
        found += _rules(rest, table, _State(state.words + (frozenset(w for w in words if w),), "", False, False))
        branches = [branch for branch, word in zip(branches, words) if not word]
    for branch in branches:
        found += _rules(list(branch.data) + rest, table, state)
        if len(found) > _MAX_RULES:
            raise _Unknown
    return found


def _after(op: Any, av: Any, rest: list[tuple[Any, Any]], table: Mapping[int, str], state: _State) -> _State:
    """The state after one element that is neither a letter, a zero-width assertion nor a group."""
    before = state.after_separator
    if state.run:
        state, before = _close(state, _separator_next([(op, av), *rest], table)), False
    if _consumes_separator(op, av, table):
        return _separated(state, True)
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
        # ends with what its body ends with, or (if it may be skipped) what came before stays before
        ends = _ends_with_separator(list(av[2].data), table)
        return _separated(state, ends and (av[0] >= 1 or before))
    return _separated(state, False)  # classes, flagged groups: anything may come before


@functools.lru_cache(maxsize=1024)
def _parsed(source: str, flags: int) -> Any:
    return _P.parse(source, flags)


def _source(pattern: re.Pattern[str] | tuple[str, int]) -> tuple[str, int]:
    return pattern if isinstance(pattern, tuple) else (pattern.pattern, pattern.flags)


def _pattern_rules(pattern: re.Pattern[str] | tuple[str, int],
                   table: Mapping[int, str]) -> list[frozenset[frozenset[str]]] | None:
    if _P is None:
        return None
    try:
        rules = _rules(list(_parsed(*_source(pattern)).data), table, _START_STATE)
    except (_Unknown, RecursionError):
        return None
    return [frozenset(rule) for rule in rules]


def _rarest(rule: frozenset[frozenset[str]]) -> frozenset[str]:
    # The set whose shortest word is longest stands for the rule: long words are the rare ones.
    return max(sorted(rule, key=sorted), key=lambda words: (min(map(len, words)), -len(words)))


def _holds(rule: frozenset[frozenset[str]], words: set[str]) -> bool:
    return all(not choice.isdisjoint(words) for choice in rule)


@dataclass(frozen=True)
class RequiredText:
    """A pre-check for a sequence of patterns: ``may_match(text)`` is False only if none of them can match
    ``text``, nor any text with the same words (other spaces and marks, equivalents for letters);
    ``candidates(text)`` are the indices of the patterns that may match it."""

    triggers: frozenset[str] | None  # every rule needs one of these words; None: no pattern has a pre-check
    # trigger -> (a rule: one word of each set, its pattern)
    rules: Mapping[str, tuple[tuple[frozenset[frozenset[str]], int], ...]]
    always: frozenset[int]  # patterns without a pre-check (some match needs no word): always candidates
    table: Mapping[int, str]
    stand_ins: Mapping[int, str]  # every equivalent as its letter (a translate table)
    others: Mapping[int, str]  # the equivalents without a variant as their letter, the others as they are
    skeleton: Mapping[int, str]  # each letter an equivalent with a variant may stand for, as that equivalent
    by_skeleton: Mapping[str, tuple[str, ...]]  # the rules' words, by their skeleton

    @classmethod
    def of(cls, patterns: Iterable[re.Pattern[str] | tuple[str, int]],
           equivalents: Mapping[str, str] = MappingProxyType({}),
           variants: Mapping[str, str] = MappingProxyType({})) -> RequiredText:
        """The pre-check of ``patterns`` (compiled, or as (source, flags): the analysis needs no compiling).
        A word that mixes letters with ``equivalents`` also counts as the word they make of it; an equivalent
        with one of ``variants`` ("1" as "i" or "l") as each word of the rules its letters may make."""
        if not set(variants) <= set(equivalents):
            raise ValueError("every character with a variant must be an equivalent")
        table = fold_table(equivalents)
        by_trigger: dict[str, list[tuple[frozenset[frozenset[str]], int]]] = {}
        always: set[int] = set()
        for index, pattern in enumerate(patterns):
            found = _pattern_rules(pattern, table)
            if found is None or any(not rule for rule in found):
                always.add(index)
                continue
            for rule in dict.fromkeys(found):
                for trigger in _rarest(rule):
                    by_trigger.setdefault(trigger, []).append((rule, index))
        skeleton = str.maketrans({letter: ch for ch, variant in variants.items()
                                  for letter in (equivalents[ch], variant)})
        by_skeleton: dict[str, list[str]] = {}
        for word in sorted({w for found in by_trigger.values() for rule, _ in found for ws in rule for w in ws}):
            if variants and word.translate(skeleton) != word:
                by_skeleton.setdefault(word.translate(skeleton), []).append(word)
        return cls(frozenset(by_trigger) if by_trigger else None,
                   MappingProxyType({t: tuple(r) for t, r in by_trigger.items()}), frozenset(always), table,
                   MappingProxyType(str.maketrans(dict(equivalents))),
                   MappingProxyType(str.maketrans({ch: v for ch, v in equivalents.items() if ch not in variants})),
                   MappingProxyType(skeleton), MappingProxyType({k: tuple(v) for k, v in by_skeleton.items()}))

    def fold(self, text: str) -> str:
        return fold(text, self.table)

    def words(self, folded: str) -> set[str]:
        """The words of a folded text, with what the equivalents make of a word that mixes letters with others."""
        tokens = folded.split()
        return {*tokens, *self._read_as_letters(tokens)}

    def _read_as_letters(self, tokens: list[str]) -> list[str]:
        if not self.stand_ins:
            return []
        # the few words that are neither all letters nor all digits, found by C-level filters
        mixed = list(itertools.filterfalse(str.isdigit, itertools.filterfalse(str.isalpha, tokens)))
        out = [word.translate(self.stand_ins) for word in mixed]
        if self.by_skeleton:
            # a word read with some "1"s as "l" is one of the rules' words only if its skeleton is theirs
            for word in mixed:
                out.extend(self.by_skeleton.get(word.translate(self.others).translate(self.skeleton), ()))
        return out

    def _hits(self, folded: str) -> tuple[set[str], set[str]]:
        """The triggers a folded text holds, and (only if it holds some) its words."""
        if self.triggers is None:
            return set(), set()
        tokens = folded.split()
        extra = self._read_as_letters(tokens)
        # Most texts hold no trigger: looking each word up costs less than building the set of them.
        hits = self.triggers.intersection(tokens)
        if extra:
            hits |= self.triggers.intersection(extra)
        return set(hits), ({*tokens, *extra} if hits else set())

    def may_match(self, text: str) -> bool:
        return self.may_match_folded(self.fold(text))

    def may_match_folded(self, folded: str) -> bool:
        """``may_match`` of the text ``folded`` is the fold of."""
        if self.always:
            return True
        hits, words = self._hits(folded)
        return any(_holds(rule, words) for trigger in hits for rule, _ in self.rules[trigger])

    def candidates(self, text: str) -> frozenset[int]:
        return self.candidates_folded(self.fold(text))

    def candidates_folded(self, folded: str) -> frozenset[int]:
        """The patterns (by index) that may match the text ``folded`` is the fold of."""
        hits, words = self._hits(folded)
        return self.always.union(index for trigger in hits for rule, index in self.rules[trigger]
                                 if _holds(rule, words))


def pattern_words(patterns: Iterable[re.Pattern[str] | tuple[str, int]]) -> frozenset[str]:
    """Every run of ASCII letters written in the patterns (in optional parts and look-arounds too): the words
    a reader that has lost the spaces between words (screening's letter-spacing) can cut a text back into.
    Empty without ``re._parser``."""
    if _P is None:
        return frozenset()
    words: set[str] = set()

    def walk(items: Any) -> None:
        run: list[str] = []
        for op, av in items:
            if op is _C.LITERAL and av < 128 and chr(av).isalpha():
                run.append(chr(av).lower())
                continue
            if len(run) > 1:
                words.add("".join(run))
            run.clear()
            if op is _C.BRANCH:
                for branch in av[1]:
                    walk(branch.data)
            elif op is _C.SUBPATTERN:
                walk(av[3].data)
            elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
                walk(av[2].data)
            elif op in (_C.ASSERT, _C.ASSERT_NOT):
                walk(av[1].data)
        if len(run) > 1:
            words.add("".join(run))

    for pattern in patterns:
        walk(_parsed(*_source(pattern)).data)
    return frozenset(words)
