"""The seam between the LLM client and whatever budgets its requests (RPM/TPM).

The client calls ``acquire`` before every HTTP attempt and ``release`` after it, whatever happened,
so a shared limiter can both reserve budget up front (the provider charges prompt tokens plus
``max_completion_tokens`` on arrival) and learn from the headers and 429s the attempt saw.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

# A documented, provider-independent estimate: about 4 characters per token, plus a small
# per-message overhead for the role markers. The simulator reports usage with the same function,
# so the engine's reservations and the simulator's charges agree exactly.
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Iterable) and not isinstance(content, (bytes, Mapping)):
        # Content parts ([{"type": "text", "text": ...}]) count by their text.
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def estimate_prompt_tokens(messages: Iterable[Mapping[str, object]]) -> int:
    """ceil(total characters of all message contents / 4) + 4 per message."""
    messages = list(messages)
    chars = sum(len(_content_text(m.get("content"))) for m in messages)
    return math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * len(messages)


def estimate_completion_tokens(content: str | None) -> int:
    """ceil(characters / 4): how the simulator counts the tokens of an answer."""
    return math.ceil(len(content or "") / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Permit:
    """What ``acquire`` reserved: one request and ``tokens`` tokens."""

    permit_id: str
    tokens: int


@dataclass(frozen=True)
class AttemptOutcome:
    """What one HTTP attempt saw, handed back to the limiter so it can learn."""

    status: int | str  # HTTP status, or "timeout" / "connection_error"
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-cased; {} if none
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error_body: str | None = None  # raw error body text, for 429 classification
    # What the request asked for: providers charge it against TPM on arrival and do not give it back.
    max_completion_tokens: int | None = None


@runtime_checkable
class Limiter(Protocol):
    """``pauses_on_429`` (optional, default False): the limiter itself holds every request back after a 429 for
    as long as the provider needs, so the client does not wait out the server's hint a second time."""

    async def acquire(self, tokens: int) -> Permit:
        """Wait until the request and token budget allows one more request of ``tokens``."""
        ...

    async def release(self, permit: Permit, outcome: AttemptOutcome) -> None:
        """Return what was not used and learn from the attempt's outcome."""
        ...


class NoLimit:
    """A limiter that never waits: for tests and endpoints without limits."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.outstanding: dict[str, Permit] = {}

    async def acquire(self, tokens: int) -> Permit:
        permit = Permit(permit_id=f"nolimit-{next(self._ids)}", tokens=tokens)
        self.outstanding[permit.permit_id] = permit
        return permit

    async def release(self, permit: Permit, outcome: AttemptOutcome) -> None:
        self.outstanding.pop(permit.permit_id, None)
