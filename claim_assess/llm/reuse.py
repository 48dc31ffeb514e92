"""Answers an earlier run already paid for (``--reuse-answers``): the index, and the key a request is found by.

A request is reused only when it is byte-identical to a recorded one: the same model and the same request body
(messages, response_format with its schema, max_completion_tokens, temperature), as ``llm.attempts.request_body``
builds it and the llm_call record keeps it. The key is a digest of that, not the body itself, so the index holds a
few small values per call whatever the prompts' length.

Why the answer's text rides in the index (not fetched from the ledger when needed): the answers are short JSON
objects (bounded by each step's ``max_completion_tokens``, a few hundred bytes), an assessor may run on another
node than the ledger's files, and fetching lazily would cost a round trip to the ledger actor, the run's one
writer, per reused call. 100,000 recorded calls make an index of about 27 MB pickled, shipped once per node, and
about 60 MB in each assessor (measured, answers of ~150 characters).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def request_digest(model: str, request: Mapping[str, Any]) -> bytes:
    """16 bytes of SHA-256 over the sorted, compact JSON of the model and the request body.

    Sorted keys make the digest independent of how the body's mappings were built; compact JSON is exact (no floats
    in a request: temperature is the int 0). 128 bits are far beyond any ledger's collision risk."""
    text = json.dumps({"model": model, "request": request}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


@dataclass(frozen=True)
class ReusedAnswer:
    """What a recorded call gives a new one: its answer, and the pointer the new record keeps to it."""

    call_id: str  # of the call that was really sent (a reused record's own source, never a reuse of a reuse)
    record_hash: str
    response: str
    status: int
    prompt_tokens: int | None
    completion_tokens: int | None

    def pointer(self) -> dict[str, str]:
        """The ``reused_from`` field of the new llm_call record."""
        return {"call_id": self.call_id, "record_hash": self.record_hash}


class ReuseIndex:
    """Request digest -> the recorded answer. Built once before a run, read by every assessor; never changes.

    Held as plain tuples, not ``ReusedAnswer`` objects, because the index is pickled once and unpickled in every
    assessor: measured with 100,000 answers of ~150 characters, tuples load in 0.35 s (frozen dataclasses: 2 s) from
    27 MB pickled, and take about 60 MB in each process. A hit becomes a ``ReusedAnswer`` when it is asked for."""

    def __init__(self, entries: Iterable[tuple[bytes, ReusedAnswer]] = ()) -> None:
        self._answers: dict[bytes, tuple[str, str, str, int, int | None, int | None]] = {}
        for key, a in entries:  # the first recorded answer wins: the same for every reader
            self._answers.setdefault(key, (a.call_id, a.record_hash, a.response, a.status, a.prompt_tokens,
                                           a.completion_tokens))

    def __len__(self) -> int:
        return len(self._answers)

    def find(self, model: str, request: Mapping[str, Any]) -> ReusedAnswer | None:
        found = self._answers.get(request_digest(model, request))
        return None if found is None else ReusedAnswer(*found)
