"""A gateway in front of the simulated provider, with a lower limit of its own that no header reveals.

This is how the LiteLLM proxy (1.108) behaves with ``rpm:`` / ``tpm:`` set on a deployment: it counts per
fixed one-minute window (here counted from the simulator's start: window n = floor((now - t0) / 60)), a
request when it lets it through and tokens when the answer comes back (the answer's usage, prompt +
completion, as LiteLLM's ``current_tpm``). It checks its own limits before the provider sees the request,
so a request it refuses is never charged by the provider. The x-ratelimit-* headers it passes on describe the
provider's budget, never the gateway's: a client that trusts them alone will run into the gateway's 429s.

Two styles (``GATEWAY_STYLES``):
- ``"litellm"``: successful answers carry the provider's x-ratelimit-* headers twice, plain and prefixed
  ``llm_provider-``, plus ``x-litellm-*`` headers of its own; over its limit a 429 whose message lists the
  deployment's counters and limits, with ``llm_provider-retry-after: 60`` (and no plain ``retry-after``).
- ``"bare"``: passes the provider's headers through unchanged and adds none; over its limit a plain
  "Too Many Requests" 429 with no hint at all.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

GATEWAY_STYLES = ("litellm", "bare")
LITELLM_VERSION = "1.108.0"
PROVIDER_PREFIX = "llm_provider-"
WINDOW_S = 60.0
# A nominal price per token (gpt-4o-mini's list price) for x-litellm-response-cost: plausible, not a bill.
_PRICE_PROMPT, _PRICE_COMPLETION = 0.15e-6, 0.60e-6


class FixedWindow:
    """The gateway's per-deployment counters for the current one-minute window; ``None`` means unlimited."""

    def __init__(self, rpm: int | None, tpm: int | None, *, clock: Callable[[], float] = time.monotonic):
        self.rpm, self.tpm = rpm, tpm
        self._clock = clock
        self._t0 = clock()
        self._index = 0
        self.current_rpm = 0
        self.current_tpm = 0

    def _roll(self) -> None:
        index = math.floor((self._clock() - self._t0) / WINDOW_S)
        if index != self._index:
            self._index, self.current_rpm, self.current_tpm = index, 0, 0

    def admit(self, prompt_tokens: int) -> bool:
        """Count one request, or refuse it when one more request, or this prompt on top of the window's usage,
        would pass a limit (LiteLLM's test, which sees the prompt but not yet the answer)."""
        self._roll()
        if self.rpm is not None and self.current_rpm + 1 > self.rpm:
            return False
        if self.tpm is not None and self.current_tpm + prompt_tokens > self.tpm:
            return False
        self.current_rpm += 1
        return True

    def record_usage(self, tokens: int) -> None:
        self._roll()  # an answer that comes back in the next window counts there, as LiteLLM's minute keys do
        self.current_tpm += tokens


@dataclass(frozen=True)
class GatewayRefusal:
    """The gateway's own 429: what to send instead of asking the provider."""

    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


def _error_body(message: str, type_: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": "429"}}


def with_prefixed(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers plus a ``llm_provider-`` copy of every x-ratelimit-* one, as LiteLLM passes them on."""
    out = dict(headers)
    out.update({PROVIDER_PREFIX + k: v for k, v in headers.items() if k.startswith("x-ratelimit-")})
    return out


class Gateway:
    """One gateway with one deployment (the simulated provider); used only on the server's loop."""

    def __init__(self, *, style: str, rpm: int | None, tpm: int | None, deployment: str, seed: int = 0,
                 clock: Callable[[], float] = time.monotonic):
        if style not in GATEWAY_STYLES:
            raise ValueError(f"gateway_style must be one of {GATEWAY_STYLES}, got {style!r}")
        self.style = style
        self.window = FixedWindow(rpm, tpm, clock=clock)
        # LiteLLM names a deployment by a hash of its parameters: stable across restarts, meaningless to a client.
        self.model_id = hashlib.sha256(f"claim-assess-simulator:{deployment}".encode()).hexdigest()
        self._call_ids = random.Random(f"{seed}:gateway")

    def refuse(self, model: str, prompt_tokens: int) -> GatewayRefusal | None:
        """Let the request through (None, counted) or say what the gateway answers instead."""
        if self.window.admit(prompt_tokens):
            return None
        if self.style == "bare":
            return GatewayRefusal(_error_body("Too Many Requests", "rate_limit_error"))
        return GatewayRefusal(_error_body(self._litellm_message(model), "throttling_error"),
                              {PROVIDER_PREFIX + "retry-after": str(int(WINDOW_S))})

    def _litellm_message(self, model: str) -> str:
        window = self.window
        deployments = {self.model_id: {
            "current_tpm": window.current_tpm,
            "tpm_limit": window.tpm if window.tpm is not None else math.inf,
            "current_rpm": window.current_rpm,
            "rpm_limit": window.rpm if window.rpm is not None else math.inf,
        }}
        # The dict's repr, as LiteLLM formats it: quotes as Python prints them and ``inf`` for no limit.
        return (f"litellm.RateLimitError: No deployments available for selected model. Passed model={model}. "
                f"Deployments={deployments} Try again in {int(WINDOW_S)} seconds.")

    def answered(self, provider_headers: Mapping[str, str], prompt_tokens: int,
                 completion_tokens: int) -> dict[str, str]:
        """Count a successful answer's usage; the headers the gateway sends with it."""
        self.window.record_usage(prompt_tokens + completion_tokens)
        if self.style == "bare":
            return dict(provider_headers)
        cost = prompt_tokens * _PRICE_PROMPT + completion_tokens * _PRICE_COMPLETION
        return {
            **with_prefixed(provider_headers),
            "x-litellm-model-id": self.model_id,
            "x-litellm-version": LITELLM_VERSION,
            "x-litellm-response-cost": str(cost),
            "x-litellm-call-id": str(uuid.UUID(int=self._call_ids.getrandbits(128), version=4)),
        }

    def provider_refused(self, provider_headers: Mapping[str, str]) -> dict[str, str]:
        """The headers of the provider's own 429, as the gateway passes them on."""
        return dict(provider_headers) if self.style == "bare" else with_prefixed(provider_headers)
