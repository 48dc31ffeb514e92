"""Logging: the library logs through the standard ``logging`` module under ``claim_assess.*``.

The driver shows records above its live display (a ``rich`` handler on the run's console); the actors log
through the handler Ray's ``LoggingConfig`` installs in every worker, whose output Ray forwards to the driver's
output and to ``ray job logs``. What is logged where: WARNING and above say something went wrong (a claim
FAILED by a bug, an assessor lost, a limit learned the hard way); INFO the run's milestones; DEBUG every attempt.
Never a key (every handler carries a ``Redactor``) and never a prompt or an answer above DEBUG.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from claim_assess.credentials import Redactor

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_LEVEL = "WARNING"


def guard_secret(secret: str | None) -> None:
    """Keep ``secret`` out of every record that reaches this process's root handlers."""
    redactor = Redactor(secret)
    if redactor.secret is None:
        return
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, Redactor) and f.secret == secret for f in handler.filters):
            handler.addFilter(redactor)


def use_handler(handler: logging.Handler, level: str) -> None:
    """This process's records go to ``handler`` only (the driver: its console), at ``level`` and above."""
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(level)
    # Ray's own driver-side chatter (start-up banners, its deprecation notes) would break the live display;
    # the driver prints what matters. --log-level DEBUG shows it.
    logging.getLogger("ray").setLevel(level if level == "DEBUG" else "ERROR")


@contextlib.contextmanager
def quiet_unless_debug(level: str) -> Iterator[None]:
    """Hold back WARNING and below in this process for a moment (Ray's start-up), unless debugging."""
    if level == "DEBUG":
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)
