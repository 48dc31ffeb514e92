"""Values derived from one immutable record (a policy's normalized names, its terms as a prompt shows them), kept
by the record's identity so that work done for a claim's first line item is not redone for the next.

Identity, not equality: comparing or hashing a policy costs about what deriving from it does. Each entry holds
its record, so the record's id cannot be reused by another object while the entry lives; the cache starts over
when it reaches its bound instead of growing (a dataset with a policy per claim derives once per claim).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class PerRecord(Generic[K, V]):
    """``derive(record)``, computed once per record object while it stays among the last ``limit`` records."""

    def __init__(self, derive: Callable[[K], V], limit: int = 256) -> None:
        self._derive = derive
        self._limit = limit
        self._kept: dict[int, tuple[K, V]] = {}

    def __call__(self, record: K) -> V:
        kept = self._kept.get(id(record))
        if kept is not None and kept[0] is record:
            return kept[1]
        value = self._derive(record)
        if len(self._kept) >= self._limit:
            self._kept.clear()
        self._kept[id(record)] = (record, value)
        return value
