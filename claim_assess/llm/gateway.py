"""What a gateway in front of the provider reveals about itself (shapes of the LiteLLM proxy, a common one).

A gateway passes the provider's rate-limit headers through, so they describe the provider's budget, not the
gateway's. LiteLLM marks its answers: the provider's headers come a second time with an ``llm_provider-`` prefix,
beside ``x-litellm-*`` headers of its own. Over its own per-deployment limit it answers 429 "No deployments
available" with a body that names the limit (``'current_rpm': 60, 'rpm_limit': 60``) and a prefixed
``llm_provider-retry-after`` instead of a plain one. Both are read here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PROVIDER_PREFIX = "llm_provider-"
_MARKERS = (PROVIDER_PREFIX, "x-litellm-")


@dataclass(frozen=True)
class GatewayLimit:
    """A limit of the gateway's own that a 429 body names: ``limit`` per minute of ``budget``."""

    budget: str  # "requests" | "tokens"
    limit: int


def behind_gateway(header_names: Iterable[str]) -> bool:
    """The answer came through a gateway that says so (lower-cased header names)."""
    return any(name.startswith(_MARKERS) for name in header_names)


def _numbers(key: str, text: str) -> list[int]:
    # Python's repr of the deployments dict: "'rpm_limit': 60"; an unlimited one reads "inf" and is skipped.
    return [int(n) for n in re.findall(rf"'{key}':\s*(\d+)\b(?!\.)", text)]


def gateway_limit(body: str | None) -> GatewayLimit | None:
    """The gateway's own limit that refused a request, when its 429 body names one (None otherwise).

    A deployment list may hold several deployments; the model's limit is then their sum. LiteLLM refuses when one
    more request would pass ``rpm_limit`` (a real 1.108 proxy answered with ``'current_rpm': 59, 'rpm_limit': 60``),
    so a request limit within one request per deployment of its count is the one that refused; otherwise a named
    token limit (whose test includes the prompt, which the body does not give).
    """
    text = body or ""
    rpm, current_rpm = _numbers("rpm_limit", text), _numbers("current_rpm", text)
    if rpm and len(current_rpm) >= len(rpm) and sum(current_rpm) + len(rpm) >= sum(rpm):
        return GatewayLimit("requests", sum(rpm))
    tpm = _numbers("tpm_limit", text)
    if tpm:
        return GatewayLimit("tokens", sum(tpm))
    return GatewayLimit("requests", sum(rpm)) if rpm else None
