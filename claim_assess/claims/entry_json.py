"""Parsing one dataset entry's JSON: strict (no duplicate keys, no NaN / Infinity, I-JSON strings), with a message
that names what is wrong instead of an exception, so one bad line fails only its own claim."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from claim_assess.claims.models import short_repr
from claim_assess.strict_json import loads_with, reject_duplicate_keys

_SURROGATE = re.compile("[\ud800-\udfff]")  # lone UTF-16 halves: legal JSON escapes, never Unicode text
# Where a parsed value can get a surrogate from: the text itself (a str argument; decoded UTF-8 never holds one)
# or an escape \uD800-\uDFFF (json accepts its hex digits in either case, the u only in lower case). A match
# may be a false alarm (an escaped backslash before "ud800", a surrogate pair that decodes to one character):
# then the walk below looks, and finds nothing.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _JSONRejected(ValueError):
    pass


_NO_DUPLICATE_KEYS = reject_duplicate_keys(_JSONRejected, short_repr)


@dataclass(frozen=True)
class _NonFinite:
    """Stands in for NaN / Infinity while parsing, so the error can say which field held it."""

    token: str


def _no_constants(name: str) -> Any:
    return _NonFinite(name)


_DECODER = json.JSONDecoder(object_pairs_hook=_NO_DUPLICATE_KEYS, parse_constant=_no_constants)


def parse_json_object(data: bytes | str) -> tuple[dict | None, str | None]:
    """(object, None) or (None, message). Strict JSON: no duplicate keys, no NaN/Infinity, and I-JSON
    strings (RFC 7493): an escaped lone surrogate such as ``"\\ud800"`` parses in Python but is no
    Unicode text, cannot be encoded as UTF-8 and has no canonical form, so the entry is unreadable
    and the message names the field that holds it."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
    text = text.removeprefix("\ufeff")  # editors on some systems start files with a byte-order mark
    try:
        value = loads_with(_DECODER, text)
    except _JSONRejected as exc:
        return None, f"not valid JSON: {exc}"
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return None, "not valid JSON: nested too deeply"
    except ValueError as exc:
        # Python refuses to convert integers of more than 4300 digits (CVE-2020-10735 guard);
        # json.loads lets that ValueError through instead of a JSONDecodeError.
        return None, f"not valid JSON: {first_line(str(exc))}"
    if not isinstance(value, dict):
        return None, f"expected a JSON object, got {_json_kind(value)}"
    # The walk over every value costs more than the parse; skip it when neither a NaN / Infinity token (json
    # calls parse_constant only for the bare words NaN, Infinity, -Infinity) nor a surrogate can be in it.
    maybe_surrogate = ("\\u" in text and _SURROGATE_ESCAPE.search(text) is not None) or (
        not isinstance(data, bytes) and _SURROGATE.search(text) is not None)
    if "NaN" not in text and "Infinity" not in text and not maybe_surrogate:
        return value, None
    problem = _first_unacceptable(value)
    if problem is not None:
        return None, problem
    return value, None


def _first_unacceptable(value: Any) -> str | None:
    """Where the first lone surrogate or NaN / Infinity is ("line_items[0].description: ..."), or None.

    An explicit stack rather than recursion: json.loads accepts nesting deeper than Python's own limit.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, _NonFinite):
            return f"{path or 'the value'}: {node.token} is not valid JSON"
        if isinstance(node, str):
            found = _SURROGATE.search(node)
            if found is not None:
                where = f"{path}: " if path else ""
                return (f"{where}text is not valid Unicode "
                        f"(lone surrogate U+{ord(found.group()):04X} at index {found.start()})")
        elif isinstance(node, dict):
            for key, child in reversed(list(node.items())):
                if _SURROGATE.search(key):
                    return f"{path or 'the object'}: a field name is not valid Unicode, got {short_repr(key)}"
                name = key if key.isprintable() and len(key) <= 64 else short_repr(key)
                stack.append((f"{path}.{name}" if path else name, child))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(node))))
    return None


def first_line(text: str, limit: int = 120) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[:limit] + "..."


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
