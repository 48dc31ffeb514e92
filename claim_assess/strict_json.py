"""Strict JSON parsing hooks shared by every reader of untrusted or hashed JSON.

``json.loads`` quietly keeps the last of two equal keys and accepts NaN / Infinity. The dataset reader,
the model-answer parser and the ledger all refuse both; each raises its own error type (the one its
caller handles), so the hooks are built per error type here, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn


def reject_duplicate_keys(
    error: type[Exception], describe: Callable[[str], str] = repr
) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """An ``object_pairs_hook`` that raises ``error("duplicate key ...")`` on a repeated key."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                raise error(f"duplicate key {describe(key)}")
            obj[key] = value
        return obj

    return hook


def reject_constant(error: type[Exception], reason: str) -> Callable[[str], NoReturn]:
    """A ``parse_constant`` hook that raises ``error("NaN <reason>")`` for NaN, Infinity, -Infinity."""

    def hook(name: str) -> NoReturn:
        raise error(f"{name} {reason}")

    return hook
