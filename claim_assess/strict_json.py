"""Strict JSON parsing hooks shared by every reader of untrusted or hashed JSON.

``json.loads`` quietly keeps the last of two equal keys and accepts NaN / Infinity. The dataset reader,
the model-answer parser and the ledger all refuse both; each raises its own error type (the one its
caller handles), so the hooks are built per error type here, once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NoReturn


def reject_duplicate_keys(
    error: type[Exception], describe: Callable[[str], str] = repr
) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """An ``object_pairs_hook`` that raises ``error("duplicate key ...")`` on a repeated key."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)  # in C; a repeated key leaves fewer entries than pairs
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise error(f"duplicate key {describe(key)}")
                seen.add(key)
        return obj

    return hook


def reject_constant(error: type[Exception], reason: str) -> Callable[[str], NoReturn]:
    """A ``parse_constant`` hook that raises ``error("NaN <reason>")`` for NaN, Infinity, -Infinity."""

    def hook(name: str) -> NoReturn:
        raise error(f"{name} {reason}")

    return hook


def loads_with(decoder: json.JSONDecoder, text: str) -> Any:
    """``json.loads(text, **hooks)`` for a str, with a decoder built once: json.loads builds a new JSONDecoder on
    every call that passes a hook, which costs about what parsing a small answer does. Same result, same errors
    (json.loads refuses a leading byte-order mark before it decodes; so does this)."""
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return decoder.decode(text)
