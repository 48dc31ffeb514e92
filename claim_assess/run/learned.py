"""What the rate limiter learned of how the provider enforces, kept in the run's settings.json as it changes.

Why: a provider that enforces per second, or a gateway's hidden lower limit, costs a few 429s to discover. A resumed
run reads the interrupted run's settings and starts from what it had learned instead of paying for it again.
Only a change of shape (paced or not, a hidden limit, whether headers are trusted, the limit) rewrites the file
while the run goes on; the fine-tuned rate is written once more at the end.
"""

from __future__ import annotations

import logging
from typing import Any

from claim_assess.llm.ratelimit import LimiterStats
from claim_assess.run.settings import RunSettings, remember_learned_limits

log = logging.getLogger(__name__)
_SHAPE = ("budget", "limit", "paced", "hidden_limit", "headers_trusted")


def _shape(learned: tuple[dict[str, Any], ...]) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(entry.get(key) for key in _SHAPE) for entry in learned)


class LearnedLimits:
    def __init__(self, settings: RunSettings):
        self.settings = settings
        self.pacing: tuple[str, ...] = ()  # Enforcement.describe() of each budget, for the summary
        self._latest = settings.learned_limits

    def observe(self, stats: LimiterStats | None, *, final: bool = False) -> None:
        """Called with each fresh limiter snapshot; ``final`` at the end of the run."""
        if stats is not None and stats.enforcement:
            self._latest = tuple(e.to_json() for e in stats.enforcement)
            self.pacing = tuple(e.describe() for e in stats.enforcement)
        changed = _shape(self._latest) != _shape(self.settings.learned_limits)
        if changed or (final and self._latest != self.settings.learned_limits):
            try:
                self.settings = remember_learned_limits(self.settings, self._latest)
            except OSError as exc:  # the run goes on; only a resume would start from scratch
                log.warning("could not keep what the rate limiter learned in %s: %s", self.settings.paths.settings,
                            exc)
