"""The claims a run assesses, as a stream over the dataset, and how many there are.

``Selection`` applies ``--claim-id``, ``--exclude`` and ``--limit`` in dataset order while the dataset is read,
and on a resume skips the claims already decided. It keeps no claim and no id of a claim that came back: only
the ids of those it handed out that have no outcome yet (in flight, waiting to be tried again, or cancelled by a
stop), so what a run left undecided is counted without a second pass over the dataset, and a run of a million
claims does not hold a million ids (the dataset's reader keeps the ids it saw, to tell a duplicate).

``BackgroundCount`` counts the dataset's entries in a thread (a JSONL file is read once more, about 0.7 s per
100,000 claims) so the first claim never waits for it; the live display gets the total when it is known.
"""

from __future__ import annotations

import threading
from collections.abc import Container, Iterator

from claim_assess.claims.dataset import ClaimEntry, DatasetSource
from claim_assess.errors import ClaimAssessError, ConfigError
from claim_assess.run.settings import RunSettings


def wanted_entries(source: DatasetSource, claim_ids: tuple[str, ...]) -> tuple[ClaimEntry, ...]:
    """The entries ``--claim-id`` names, in dataset order; ConfigError naming the ids the dataset lacks.

    This reads the whole dataset before the run starts: ``--claim-id`` picks a handful of claims, and an id
    that names no claim is a mistake in the command, best reported before anything is spent."""
    wanted = set(claim_ids)
    found = tuple(entry for entry in source.stream() if entry.claim_id in wanted)
    present = {entry.claim_id for entry in found}
    missing = [cid for cid in claim_ids if cid not in present]
    if missing:
        raise ConfigError(f"--claim-id names claims not in {source.root}: {', '.join(missing)}")
    return found


class Selection:
    """The selected entries, streamed once, in dataset order; ``skip`` (a resume's decided claims) are counted
    as selected but not yielded."""

    def __init__(self, source: DatasetSource, settings: RunSettings, *,
                 wanted: tuple[ClaimEntry, ...] | None = None) -> None:
        self._source, self._wanted = source, wanted
        self._exclude = frozenset(settings.exclude)
        self._limit = settings.limit
        self._skip: Container[str] = frozenset()
        self._journaled: Container[str] = frozenset()
        self._pending: set[str] = set()  # handed out, no outcome yet
        self.seen = 0  # selected claims read so far (skipped ones too); the reader makes their ids unique
        self.skipped = 0
        self.exhausted = False  # the whole selection has been read
        self._started = False

    def skip(self, decided: Container[str], journaled: Container[str] = frozenset()) -> None:
        """Do not yield ``decided`` (set before iterating). ``journaled``: claims with an outcome in the journal
        already (a FAILED one is assessed again; until it is, its row stands): not undecided when yielded."""
        if self._started:
            raise RuntimeError("Selection.skip after the stream started")
        self._skip, self._journaled = decided, journaled

    def __iter__(self) -> Iterator[ClaimEntry]:
        if self._started:
            raise RuntimeError("a Selection is streamed once")
        self._started = True
        entries = iter(self._wanted) if self._wanted is not None else self._source.stream()
        for entry in entries:
            if entry.claim_id in self._exclude:
                continue
            if self._limit is not None and self.seen >= self._limit:
                break
            self.seen += 1
            if entry.claim_id in self._skip:
                self.skipped += 1
                continue
            if entry.claim_id not in self._journaled:
                self._pending.add(entry.claim_id)
            yield entry
        self.exhausted = True
        self._skip = self._journaled = frozenset()  # a resume's sets of ids are not needed any more

    def decided(self, claim_id: str) -> None:
        """``claim_id`` has an outcome in the journal (FAILED included: it has its result row)."""
        self._pending.discard(claim_id)

    def expected(self, dataset_entries: int | None) -> int | None:
        """How many claims the selection holds: exact once read, else estimated from the dataset's count (None:
        not counted yet). The estimate ignores ``--exclude`` ids the dataset lacks; it is only for display and
        for what a stopped run left undecided."""
        if self.exhausted:
            return self.seen
        if self._wanted is not None:
            return len(self._wanted)
        if dataset_entries is None:
            return None
        total = max(dataset_entries - len(self._exclude), self.seen)
        return total if self._limit is None else min(total, self._limit)

    def undecided(self, dataset_entries: int | None) -> int:
        """Selected claims without an outcome: those handed out that never came back, plus those never read."""
        expected = self.expected(dataset_entries)
        return len(self._pending) + max(0, (expected or self.seen) - self.seen)


class BackgroundCount:
    """``source.count()`` in a daemon thread; ``result`` waits at most ``wait_s`` (None: not known yet).

    ``deferred``: do not start until ``start()``. Counting a large JSONL file is Python work, and a thread doing it
    while Ray starts slows the start by seconds (every time the starting thread wants the GIL back it waits its turn),
    so a run counts a large dataset only once its first claims are on their way."""

    def __init__(self, source: DatasetSource, *, deferred: bool = False) -> None:
        self._done = threading.Event()
        self._value: int | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._count, args=(source,), name="dataset-count", daemon=True)
        self._lock = threading.Lock()
        self._started = False
        if not deferred:
            self.start()

    def start(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()

    def _count(self, source: DatasetSource) -> None:
        try:
            self._value = source.count()
        except ClaimAssessError as exc:  # counting is for display: a failure here is not the run's
            self.error = str(exc)
        finally:
            self._done.set()

    def result(self, wait_s: float = 0.0) -> int | None:
        if self._started:
            self._done.wait(wait_s)
        return self._value
