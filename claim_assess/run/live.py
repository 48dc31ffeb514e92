"""What a person watching a run sees while it works: a rich live display on a terminal, else a plain progress
line every few seconds; and the timeline file, written from the same snapshots (it costs no extra actor calls).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.live import Live

from claim_assess.run.claim_loop import Tick
from claim_assess.run.display import plain_line, render
from claim_assess.run.progress import ProgressSnapshot
from claim_assess.run.summary import Prices
from claim_assess.run.timeline import TimelineWriter

PLAIN_EVERY_S = 5.0


class LiveView:
    def __init__(self, console: Console, timeline: TimelineWriter, *, quiet: bool,
                 plain_every_s: float = PLAIN_EVERY_S, clock: Callable[[], float] = time.monotonic,
                 prices: Prices = (None, None)):
        self._console, self._timeline, self._quiet = console, timeline, quiet
        self._prices = prices  # what the answers reused from the ledger saved is priced at these
        self._every, self._clock = plain_every_s, clock
        self._live: Live | None = None
        self._last_line = clock()

    def __enter__(self) -> LiveView:
        if self._console.is_terminal and not self._quiet:
            # Live redirects stdout/stderr: log lines and what Ray forwards from the actors print above it.
            self._live = Live("starting...", console=self._console, refresh_per_second=4)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
        self._timeline.close()

    def show(self, snapshot: ProgressSnapshot | None, tick: Tick, *, final: bool = False) -> None:
        if snapshot is None:  # the progress actor is restarting: skip one frame, never the run
            return
        self._timeline.add(snapshot, inflight=tick.inflight, claim_limit=tick.admission_limit, force=final)
        if self._live is not None:
            self._live.update(render(snapshot, self._prices))
        elif not self._quiet and (final or self._clock() - self._last_line >= self._every):
            self._last_line = self._clock()
            self._console.print(plain_line(snapshot), highlight=False, soft_wrap=True)

    def say(self, message: str) -> None:
        console = self._live.console if self._live is not None else self._console
        console.print(message, soft_wrap=True, highlight=False)
