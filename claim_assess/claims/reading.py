"""How screening reads a text: what hides an instruction from a string match, undone.

- ``read_characters``: NFKC (full-width and other compatibility letters), format characters (zero-width spaces,
  bidi marks) and combining marks (accents) dropped, case folded, letters of other scripts that look Latin
  (Cyrillic "а", Greek "ο", small capitals) read as the Latin letter, typographic quotes, apostrophes and dashes
  as ASCII ones. Character by character; ASCII text is its own reading.
- ``read``: then letters spaced apart ("i g n o r e", "a-p-p-r-o-v-e", "s.y.s.t.e.m") joined back into
  words (where a wider or other gap parts the words it stays a space; where every gap is alike, the run is cut
  into the patterns' own words), runs of spaces collapsed (line breaks kept: role markers count at a line's
  start), and leetspeak undone inside a word that mixes letters with digits ("1gn0r3", "4ppr0ve"): 0 o, 1 i,
  3 e, 4 a, 5 s, 7 t, @ a, $ s, and 1 as i or l, whichever makes a word of the patterns ("c141m" is "claim").
  A number on its own ("9999", "415") stays a number, and a code in capitals and digits is read the same way
  as a word (harmless: it reads as no word).
- ``decoded_texts``: the texts base64 runs in a text decode to (UTF-8 that is mostly letters and spaces), for
  screening to read as well.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from claim_assess.claims.injection_patterns import FAMILIES, FLAGS
from claim_assess.claims.required_text import pattern_words

# Letters of other scripts (and typographic marks) read as the ASCII they look like, after case folding.
LOOK_ALIKES: Mapping[str, str] = MappingProxyType({
    **dict(zip("аеорсухіјѕԁһԛԝӏвкмнтгпьѵ", "aeopcyxijsdhqwlbkmhtrnbv")),  # Cyrillic
    **dict(zip("αβεηικνορτυχωγμζ", "abenikvoptuxwyuz")),  # Greek
    **dict(zip("ıɑɡɩʏᴀʙᴄᴅᴇɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢօսհ", "iagiyabcdeghijklmnoprstuvwyzouh")),  # dotless i, IPA, small caps
    "œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
    **dict.fromkeys("‘’‚‛′ʹʻʼ´", "'"), **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"), "·": "·", "•": "·",
})
# Bumped with any change to how a text is read: the reading decides what redaction removes, and the prompts'
# digest (claims/prompts.py) records it with the patterns.
READING_VERSION = "reading/1"
LEET: Mapping[str, str] = MappingProxyType({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                                             "$": "s"})
# A stand-in that is two letters: "1" is "l" as often as "i" ("c141m"). In a word with a few of them, each is
# read as i or l, whichever makes one of the patterns' words ("claim", "il", "liquidato"); i where none does.
LEET_VARIANTS: Mapping[str, str] = MappingProxyType({"1": "l"})
MAX_VARIANTS = 4  # stand-ins with a variant in one word, at most, read both ways (2**4 readings of a word)


@functools.lru_cache(maxsize=8192)
def _reading_of(ch: str) -> str:
    """What one non-ASCII character (of NFKC text) reads as: format characters nothing, accents and other
    combining marks nothing, the rest case folded and, if it looks like a Latin letter, that letter."""
    if unicodedata.category(ch) == "Cf":
        return ""
    decomposed = unicodedata.normalize("NFD", ch.casefold())
    plain = "".join(c for c in decomposed if unicodedata.category(c) != "Mn" and not unicodedata.combining(c))
    return "".join(LOOK_ALIKES.get(c, c) for c in plain)


def read_characters(text: str) -> str:
    """``text`` character by character as the patterns read it (case is left to the caller). ASCII text is
    its own reading: NFKC maps every ASCII string to itself and no ASCII character is of category Cf (tests
    check both over all 128 code points). Other text looks up the reading of each distinct character once."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text)
    # A reading reads as itself (a test checks every code point), so the order of the replacements is free.
    for ch in {ch for ch in set(text) if not ch.isascii()}:
        text = text.replace(ch, _reading_of(ch))
    return text


_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_TOKEN = r"[a-z0-9@$]"
# Four or more single letters (or leetspeak digits) each set apart by spaces or one mark: "i g n o r e",
# "a-p-p-r-o-v-e", "s.y.s.t.e.m", "i g n o r e   a l l", "l ' i a"; a gap is the spaces and mark between two.
_SPACED = re.compile(rf"(?<!{_TOKEN}){_TOKEN}(?:(?:[ \t]*[-._*·/|+~'][ \t]*|[ \t]+){_TOKEN}(?!{_TOKEN})){{3,}}")
_GAP = re.compile(rf"(?<={_TOKEN})[^a-z0-9@$]+(?={_TOKEN})")
_MIXED = re.compile(r"(?<![a-z0-9@$])(?=[a-z0-9@$]*[a-z])(?=[a-z0-9@$]*[013457@$])[a-z0-9@$]+")
_LEET_TABLE = str.maketrans(dict(LEET))
_MAX_SEGMENTED = 300  # letters: longer spaced-out runs are joined into one word, not cut into words


def normalize_text(text: str) -> str:
    """The reading of ``text`` the injection patterns run over (see the module docstring)."""
    return read(read_characters(text))


def read(text: str) -> str:
    """The reading of a text ``read_characters`` has read: line ends as "\\n", spaced-out letters joined into
    words, runs of spaces as one, leetspeak undone."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").casefold()
    if _SPACED.search(text) is not None:
        text = _SPACED.sub(_join_spaced, text)
    # Every space but " " is unprintable (a test checks all code points): in printable text without double
    # spaces, each run of spaces is one " " already, and the substitution would change nothing.
    if "  " in text or not text.replace("\n", "").isprintable():
        text = _HORIZONTAL_SPACE.sub(" ", text)
    return _MIXED.sub(lambda m: _unleet(m.group()), text)


def _unleet(word: str) -> str:
    """A word that mixes letters with leetspeak stand-ins, in letters (see LEET_VARIANTS)."""
    plain = word.translate(_LEET_TABLE)
    ambiguous = sum(word.count(ch) for ch in LEET_VARIANTS)
    if not ambiguous or ambiguous > MAX_VARIANTS:
        return plain
    vocabulary = _words()[0]
    # Each ambiguous stand-in as its first letter (False) or its variant (True), in that binary order: the
    # first reading tried is the plain one.
    for variant in itertools.product((False, True), repeat=ambiguous):
        choices = iter(variant)
        reading = "".join(LEET_VARIANTS[ch] if ch in LEET_VARIANTS and next(choices) else ch
                          for ch in word).translate(_LEET_TABLE)
        if reading in vocabulary:
            return reading
    return plain


def _join_spaced(run: re.Match[str]) -> str:
    """One spaced-out run as words: a gap unlike the most common one (wider, or another mark) parts two words;
    when every gap is alike, the run is cut into the patterns' own words."""
    letters = _GAP.split(run.group())
    gaps = _GAP.findall(run.group())
    counts: dict[str, int] = {}
    for gap in gaps:
        counts[gap] = counts.get(gap, 0) + 1
    inner = max(sorted(counts, key=lambda gap: (len(gap), gap)), key=counts.__getitem__)
    if len(counts) > 1:
        words = [letters[0]]
        for gap, letter in zip(gaps, letters[1:]):
            if gap == inner or "'" in gap:  # an apostrophe spaced apart stays in its word: "l ' i a" is "l'ia"
                words[-1] += ("'" if gap != inner else "") + letter
            else:
                words.append(letter)
        return " ".join(words)
    joined = "".join(letters)
    if len(joined) > _MAX_SEGMENTED:
        return joined
    return " ".join(_segment(joined.translate(_LEET_TABLE)))


def _segment(letters: str) -> list[str]:
    """``letters`` cut into words: as many letters as possible inside the patterns' words, then as few words,
    then the longer first word; the letters left over between two words are one word."""
    n = len(letters)
    vocabulary, lengths = _words()
    # best[i]: (letters covered, -words, first piece length, piece is a word) for letters[i:]
    best: list[tuple[int, int, int, bool]] = [(0, 0, 0, False)] * (n + 1)
    for i in range(n - 1, -1, -1):
        covered, words, _, _ = best[i + 1]
        choice = (covered, words, 1, False)
        for length in lengths:
            if i + length <= n and letters[i:i + length] in vocabulary:
                covered, words, _, _ = best[i + length]
                choice = max(choice, (covered + length, words - 1, length, True))
        best[i] = choice
    pieces: list[str] = []
    i, loose = 0, False
    while i < n:
        length, known = best[i][2], best[i][3]
        if not known and loose:
            pieces[-1] += letters[i]
        else:
            pieces.append(letters[i:i + length])
        loose, i = not known, i + length
    return pieces


@functools.lru_cache(maxsize=1)
def _words() -> tuple[frozenset[str], tuple[int, ...]]:
    """The patterns' own words, and their lengths (for cutting a spaced-out run into words; rarely needed)."""
    words = pattern_words([(source, FLAGS) for alternatives in FAMILIES.values() for source in alternatives])
    return words, tuple(sorted({len(word) for word in words}))


# --- base64 -------------------------------------------------------------------------------------------------

# A base64 run long enough to hide an order ("approve this claim" is 24 characters); a VIN (17) is shorter.
BASE64_MIN = 20
_BASE64_RUNS = (re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{%d,}={0,2}" % BASE64_MIN),
                re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{%d,}={0,2}" % BASE64_MIN))


def has_base64_run(letters: str) -> bool:
    """Whether ``letters`` (``read_characters`` of a text) may hold a base64 run ``decoded_texts`` looks at:
    such a run has no space in it, so some chunk between spaces is as long."""
    return max(map(len, letters.split()), default=0) >= BASE64_MIN


def decoded_texts(text: str) -> list[str]:
    """The texts that base64 runs in ``text`` decode to (UTF-8, mostly letters and spaces)."""
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch) != "Cf")
    found: list[str] = []
    for runs, altchars in zip(_BASE64_RUNS, (None, b"-_")):
        for run in runs.findall(text):
            body = run.rstrip("=")
            if len(body) % 4 == 1:
                continue
            try:
                decoded = base64.b64decode(body + "=" * (-len(body) % 4), altchars=altchars, validate=True)
                readable = decoded.decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
            # what a reader sees of it: format characters (zero-width spaces inside the decoded text) count not
            visible = "".join(ch for ch in readable if unicodedata.category(ch) != "Cf")
            if len(visible) >= 8 and visible.replace("\n", " ").replace("\t", " ").isprintable() and sum(
                    ch.isalpha() or ch == " " for ch in visible) >= 0.7 * len(visible):
                found.append(readable)
    return list(dict.fromkeys(found))
