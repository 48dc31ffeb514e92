"""Retry policy for LLM calls: pure functions, no I/O, no clocks of its own.

``classify`` turns an attempt's status and error body into an ``ErrorKind``; ``retry_hint`` reads
the server's own advice (``retry-after-ms``, ``retry-after``, "Please try again in 1.2s");
``RetryPolicy.next_delay`` decides how long to wait before the next attempt, or ``None`` to give up.
The one loop that sleeps and sends lives in ``llm.client``.
"""

from __future__ import annotations

import enum
import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass

from claim_assess.llm.gateway import PROVIDER_PREFIX, gateway_limit


class ErrorKind(enum.Enum):
    RATE_LIMIT_REQUESTS = "rate_limit_requests"
    RATE_LIMIT_TOKENS = "rate_limit_tokens"
    QUOTA = "quota"  # insufficient_quota: out of credit, retrying is pointless
    TRANSIENT = "transient"  # 5xx, timeouts, dropped connections
    FATAL = "fatal"  # a 4xx about this request's own content (too long, filtered): the claim is FAILED
    CONFIGURATION = "configuration"  # 401, 403, 404, a 4xx naming a request field: no request of the run can pass
    REFUSED = "refused"  # another 4xx that names neither the claim's content nor the configuration
    INVALID_OUTPUT = "invalid_output"  # a 2xx whose answer is unusable

    @property
    def retryable(self) -> bool:
        return self not in (ErrorKind.FATAL, ErrorKind.QUOTA, ErrorKind.CONFIGURATION, ErrorKind.REFUSED)

    @property
    def rate_limited(self) -> bool:
        return self in (ErrorKind.RATE_LIMIT_REQUESTS, ErrorKind.RATE_LIMIT_TOKENS)


def error_fields(body: str | None) -> Mapping[str, object]:
    """The ``error`` object of an OpenAI-shaped error body ({} when the body is not one)."""
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except (ValueError, TypeError):
        return {}
    if isinstance(parsed, Mapping):
        inner = parsed.get("error", parsed)
        if isinstance(inner, Mapping):
            return inner
    return {}


def _classify_429(body: str | None) -> ErrorKind:
    error = error_fields(body)
    code, kind = str(error.get("code") or "").lower(), str(error.get("type") or "").lower()
    if code == "insufficient_quota" or kind == "insufficient_quota":
        return ErrorKind.QUOTA
    if kind == "requests":
        return ErrorKind.RATE_LIMIT_REQUESTS
    if kind == "tokens":
        return ErrorKind.RATE_LIMIT_TOKENS
    # A gateway's own limit names itself in the body ('rpm_limit': 60 or 'tpm_limit': ...).
    gateway = gateway_limit(body)
    if gateway is not None:
        return ErrorKind.RATE_LIMIT_TOKENS if gateway.budget == "tokens" else ErrorKind.RATE_LIMIT_REQUESTS
    # Gateways often pass the message through but not the type: fall back to its words.
    message = str(error.get("message") or (body if not error else "") or "").lower()
    if "insufficient_quota" in message or "exceeded your current quota" in message:
        return ErrorKind.QUOTA
    if "tokens per" in message or "(tpm)" in message or "tokens per day" in message:
        return ErrorKind.RATE_LIMIT_TOKENS
    # An unexplained 429 is treated as a request-rate limit: the conservative reading.
    return ErrorKind.RATE_LIMIT_REQUESTS


_TRANSIENT_STATUSES = frozenset({408, 500, 502, 503, 504})
# 4xx that are about the request's own content (its messages), as OpenAI and Azure name them: the claim's problem.
_CONTENT_CODES = frozenset({"context_length_exceeded", "content_filter", "content_policy_violation",
                            "string_above_max_length", "invalid_prompt", "prompt_too_long"})
_CONTENT_WORDS = ("maximum context length", "context length", "content management policy", "content filter",
                  "content_filter", "too many tokens", "prompt is too long")
# Codes and words that name what every request of the run shares: the key, the model, the request's shape.
_CONFIGURATION_CODES = frozenset({"invalid_api_key", "model_not_found", "unsupported_parameter",
                                  "unsupported_value", "invalid_organization", "account_deactivated"})
_CONFIGURATION_WORDS = ("response_format", "json_schema", "structured output", "max_completion_tokens",
                        "does not exist", "not supported", "unsupported parameter", "unknown model", "api key")


def _classify_4xx(status: int, body: str | None) -> ErrorKind:
    """Who a 4xx other than 408/429 is about. Every request of a run shares the key, the model and the request's
    shape; only the messages differ. So a refusal naming a field other than the messages, or the key, or the
    model, can never pass for any claim (CONFIGURATION: stop the run); one about the messages' content is this
    claim's (FATAL: FAILED, with the provider's words); anything else is unexplained (REFUSED: no retry, the claim
    is left undecided, and the same on several claims stops the run)."""
    if status in (401, 403, 404):
        return ErrorKind.CONFIGURATION
    if status == 413:
        return ErrorKind.FATAL  # the body (the claim's prompt) is too large
    error = error_fields(body)
    code = str(error.get("code") or "").lower()
    param = str(error.get("param") or "")
    message = str(error.get("message") or (body if not error else "") or "").lower()
    if code in _CONTENT_CODES or param.startswith("messages") or any(w in message for w in _CONTENT_WORDS):
        return ErrorKind.FATAL
    if code in _CONFIGURATION_CODES or param or any(w in message for w in _CONFIGURATION_WORDS):
        return ErrorKind.CONFIGURATION
    return ErrorKind.REFUSED


def classify(status: int | str, body: str | None) -> ErrorKind:
    """What kind of failure an attempt was.

    429s are read from the OpenAI-shaped body (``error.code`` "insufficient_quota", ``error.type``
    "requests"/"tokens", else words in ``error.message``). 500/502/503/504, other 5xx, 408,
    "timeout" and "connection_error" are transient; other 4xx are read by ``_classify_4xx``. A 2xx reaching here
    had an unusable answer: INVALID_OUTPUT.
    """
    if isinstance(status, str):
        return ErrorKind.TRANSIENT  # "timeout", "connection_error"
    if status == 429:
        return _classify_429(body)
    if status in _TRANSIENT_STATUSES or 500 <= status <= 599:
        return ErrorKind.TRANSIENT
    if 200 <= status <= 299:
        return ErrorKind.INVALID_OUTPUT
    return _classify_4xx(status, body)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float | None:
    """Seconds in an OpenAI-style duration ("1s", "6m0s", "12ms", "1m30.5s"), or None."""
    text = text.strip()
    if not text:
        return None
    pos, total = 0, 0.0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            return None
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return total


_TRY_AGAIN = re.compile(r"try again in\s+((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)", re.IGNORECASE)


def _non_negative_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None  # e.g. an HTTP-date retry-after: ignored, the backoff still applies
    return value if value >= 0 and value == value and value != float("inf") else None


def retry_hint(headers: Mapping[str, str], body: str | None) -> float | None:
    """The server's advice on how long to wait, in seconds, or None.

    Precedence: ``retry-after-ms``, then ``retry-after`` (seconds), then "try again in <duration>"
    in the error message. A gateway's prefixed hints (``llm_provider-retry-after``, as LiteLLM sends instead of
    the plain one) count as the same header. Header names are expected lower-cased.
    """
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = _non_negative_float(headers.get(name, headers.get(PROVIDER_PREFIX + name)))
        if value is not None:
            return value * scale
    if body:
        match = _TRY_AGAIN.search(body)
        if match:
            return parse_duration(match.group(1))
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """How an LLM call retries.

    ``max_attempts`` bounds all HTTP attempts of one call; ``invalid_output_attempts`` bounds the
    attempts whose answer broke the schema; ``deadline_s`` bounds the wall time of one call from
    its first attempt.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    deadline_s: float = 300.0
    invalid_output_attempts: int = 3

    def next_delay(
        self,
        attempt: int,
        kind: ErrorKind,
        hint_s: float | None,
        elapsed_s: float,
        rng: random.Random,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up.

        ``attempt`` is the 1-based number of the attempt that just failed. Exponential backoff with
        full jitter (uniform in [0, min(max_delay, base_delay * 2**(attempt-1))]); a server hint is
        a floor; a wait that would end past the deadline gives up instead. Invalid output is retried
        at once (the server is not overloaded, the answer was just wrong). FATAL, QUOTA, CONFIGURATION and
        REFUSED never retry.
        """
        if not kind.retryable or attempt >= self.max_attempts:
            return None
        if kind is ErrorKind.INVALID_OUTPUT:
            delay = 0.0
        else:
            cap = min(self.max_delay, self.base_delay * (2.0 ** (attempt - 1)))
            delay = rng.uniform(0.0, cap)
        if hint_s is not None and hint_s > delay:
            delay = hint_s
        if elapsed_s + delay >= self.deadline_s:
            return None
        return delay
