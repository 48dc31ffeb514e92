"""Deciding again in worker processes: the rules are nearly all of a what-if's CPU, and each claim is independent.

The parent reads the ledger and the dataset in order (the call log is walked forward, so that part cannot be split)
and sends batches of gathered evidence; each worker holds the new terms (sent once, at its start) and sends back the
small ``ClaimChange`` records, which the parent tallies in ledger order. At most two batches per worker are in flight,
so memory stays flat whatever the ledger's size. Forked where the platform can (the parent's modules are already
imported: a worker starts in milliseconds), spawned elsewhere.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from claim_assess.whatif.claim import ClaimChange, Evidence, Terms, decide_again

BATCH = 200
_terms: Terms | None = None  # a worker's copy of the terms


def _start(terms: Terms) -> None:
    global _terms
    _terms = terms


def _decide_batch(batch: list[Evidence | ClaimChange]) -> list[ClaimChange]:
    assert _terms is not None
    return [item if isinstance(item, ClaimChange) else decide_again(item, _terms) for item in batch]


def _batches(items: Iterable[Evidence | ClaimChange]) -> Iterator[list[Evidence | ClaimChange]]:
    batch: list[Evidence | ClaimChange] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def decided(items: Iterable[Evidence | ClaimChange], terms: Terms, jobs: int) -> Iterator[ClaimChange]:
    """Each item decided again under ``terms`` (ClaimChanges pass through), in order; ``jobs`` processes (1: here)."""
    if jobs <= 1:
        for item in items:
            yield item if isinstance(item, ClaimChange) else decide_again(item, terms)
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method), initializer=_start,
                             initargs=(terms,)) as pool:
        pending: deque[Future[list[ClaimChange]]] = deque()
        for batch in _batches(items):
            pending.append(pool.submit(_decide_batch, batch))
            if len(pending) >= 2 * jobs:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
