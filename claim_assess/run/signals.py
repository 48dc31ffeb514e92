"""Graceful stop on Ctrl-C or SIGTERM: the first signal asks the run to stop, a second stops at once.

On the first signal the driver stops admitting claims, cancels those in flight, lets the ledger flush,
writes partial result files and prints how to resume; exit 130 (SIGINT) or 143 (SIGTERM). A second
signal exits immediately: nothing acknowledged is lost, since the ledger acknowledges only after fsync.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class StopSignals:
    def __init__(self, on_first=lambda signum: None):
        self.signum: int | None = None
        self._on_first = on_first
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.signum, 130)

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            sys.stderr.write("\nsecond signal: stopping at once\n")
            sys.stderr.flush()
            os._exit(EXIT_CODES.get(signum, 130))
        self.signum = signum
        self._on_first(signum)

    def __enter__(self) -> StopSignals:
        # Signal handlers can only be installed from the main thread (tests may drive main() elsewhere).
        if threading.current_thread() is threading.main_thread():
            for signum in EXIT_CODES:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
