"""Retry policy, 429 classification and hint parsing: pure, table-driven, seeded."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claim_assess.llm.retry import ErrorKind, RetryPolicy, classify, parse_duration, retry_hint


def openai_429(message: str, type_: str | None, code: str | None) -> str:
    return json.dumps({"error": {"message": message, "type": type_, "param": None, "code": code}})


TPM_BODY = openai_429(
    "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 29500, "
    "Requested 800. Please try again in 1.2s. Visit https://platform.openai.com/account/rate-limits to learn more.",
    "tokens", "rate_limit_exceeded")
RPM_BODY = openai_429(
    "Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 500, Used 500, "
    "Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
    "requests", "rate_limit_exceeded")
QUOTA_BODY = openai_429(
    "You exceeded your current quota, please check your plan and billing details.", "insufficient_quota",
    "insufficient_quota")


# Bodies as OpenAI sends them (its error reference and observed answers).
_OPENAI_401 = ('{"error": {"message": "Incorrect API key provided: sk-abc*********xyz. You can find your API key at '
               'https://platform.openai.com/account/api-keys.", "type": "invalid_request_error", "param": null, '
               '"code": "invalid_api_key"}}')
_OPENAI_404_MODEL = ('{"error": {"message": "The model `gpt-9` does not exist or you do not have access to it.", '
                     '"type": "invalid_request_error", "param": null, "code": "model_not_found"}}')
_OPENAI_400_FORMAT = ('{"error": {"message": "Invalid parameter: \'response_format\' of type \'json_schema\' is not '
                      'supported with this model.", "type": "invalid_request_error", "param": "response_format", '
                      '"code": null}}')
_OPENAI_400_CONTEXT = ('{"error": {"message": "This model\'s maximum context length is 128000 tokens. However, your '
                       'messages resulted in 130000 tokens.", "type": "invalid_request_error", "param": "messages", '
                       '"code": "context_length_exceeded"}}')


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (429, TPM_BODY, ErrorKind.RATE_LIMIT_TOKENS),
        (429, RPM_BODY, ErrorKind.RATE_LIMIT_REQUESTS),
        (429, QUOTA_BODY, ErrorKind.QUOTA),
        # code alone decides quota even if a gateway rewrote the type
        (429, openai_429("out of credit", "requests", "insufficient_quota"), ErrorKind.QUOTA),
        # gateways that keep only the message: fall back to its words
        (429, openai_429("Rate limit reached ... on tokens per min (TPM): Limit 1", None, None),
         ErrorKind.RATE_LIMIT_TOKENS),
        (429, openai_429("You exceeded your current quota, please check your plan", None, None), ErrorKind.QUOTA),
        (429, openai_429("slow down", None, None), ErrorKind.RATE_LIMIT_REQUESTS),
        (429, "Too Many Requests", ErrorKind.RATE_LIMIT_REQUESTS),
        (429, None, ErrorKind.RATE_LIMIT_REQUESTS),
        (500, None, ErrorKind.TRANSIENT),
        (502, "<html>bad gateway</html>", ErrorKind.TRANSIENT),
        (503, None, ErrorKind.TRANSIENT),
        (504, None, ErrorKind.TRANSIENT),
        (529, None, ErrorKind.TRANSIENT),
        (408, None, ErrorKind.TRANSIENT),
        ("timeout", None, ErrorKind.TRANSIENT),
        ("connection_error", None, ErrorKind.TRANSIENT),
        # 4xx: whom the refusal is about. The key, the model, the URL and any request field but the messages are
        # the run's configuration; the messages' content is the claim's; what names neither is unexplained.
        (401, _OPENAI_401, ErrorKind.CONFIGURATION),
        (401, None, ErrorKind.CONFIGURATION),
        (403, None, ErrorKind.CONFIGURATION),
        (404, _OPENAI_404_MODEL, ErrorKind.CONFIGURATION),
        (404, "<html>Not Found</html>", ErrorKind.CONFIGURATION),
        (400, _OPENAI_400_FORMAT, ErrorKind.CONFIGURATION),
        (400, '{"error": {"message": "Unsupported parameter: \'max_completion_tokens\'", "param": null}}',
         ErrorKind.CONFIGURATION),
        (400, _OPENAI_400_CONTEXT, ErrorKind.FATAL),
        (400, '{"error": {"message": "Invalid \'messages[1].content\': string too long.", '
              '"param": "messages[1].content", "code": "string_above_max_length"}}', ErrorKind.FATAL),
        (400, '{"error": {"message": "The response was filtered due to the prompt triggering Azure OpenAI\'s '
              'content management policy.", "code": "content_filter", "param": "prompt"}}', ErrorKind.FATAL),
        (413, None, ErrorKind.FATAL),
        (400, None, ErrorKind.REFUSED),
        (400, '{"error": {"message": "Bad request.", "type": "invalid_request_error", "param": null}}',
         ErrorKind.REFUSED),
        (422, None, ErrorKind.REFUSED),
        (409, None, ErrorKind.REFUSED),
        (200, None, ErrorKind.INVALID_OUTPUT),
    ],
)
def test_classify(status, body, kind):
    assert classify(status, body) is kind


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("1.2s", 1.2), ("12ms", 0.012), ("6m0s", 360.0), ("1m30.5s", 90.5), ("1h2m3s", 3723.0),
     ("0s", 0.0), ("", None), ("soon", None), ("1.2", None), ("5m extra", None)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds) if seconds is not None else parse_duration(text) is None


@pytest.mark.parametrize(
    ("headers", "body", "hint"),
    [
        ({"retry-after-ms": "1500"}, None, 1.5),
        ({"retry-after": "2"}, None, 2.0),
        ({"retry-after-ms": "250", "retry-after": "1"}, None, 0.25),  # the precise one wins
        ({}, TPM_BODY, 1.2),
        ({}, RPM_BODY, 0.12),
        ({}, openai_429("Please try again in 6m0s.", "tokens", None), 360.0),
        ({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, TPM_BODY, 1.2),  # dates are ignored
        ({"retry-after": "-3"}, None, None),
        ({}, QUOTA_BODY, None),
        ({}, None, None),
    ],
)
def test_retry_hint(headers, body, hint):
    got = retry_hint(headers, body)
    assert got == pytest.approx(hint) if hint is not None else got is None


POLICY = RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=30.0, deadline_s=300.0)


def test_backoff_is_full_jitter_within_an_exponential_cap_and_reproducible():
    rng, replay = random.Random(7), random.Random(7)
    for attempt, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0)]:
        delay = POLICY.next_delay(attempt, ErrorKind.TRANSIENT, None, 0.0, rng)
        assert delay == replay.uniform(0.0, cap)
        assert 0.0 <= delay <= cap


def test_cap_stops_at_max_delay():
    policy = RetryPolicy(max_attempts=50, base_delay=1.0, max_delay=3.0)
    delays = [policy.next_delay(20, ErrorKind.RATE_LIMIT_TOKENS, None, 0.0, random.Random(i)) for i in range(200)]
    assert max(delays) <= 3.0 and max(delays) > 2.0


@pytest.mark.parametrize(
    ("attempt", "kind", "hint", "elapsed", "expected"),
    [
        (1, ErrorKind.FATAL, None, 0.0, None),
        (1, ErrorKind.QUOTA, 1.0, 0.0, None),
        (1, ErrorKind.CONFIGURATION, 1.0, 0.0, None),
        (1, ErrorKind.REFUSED, None, 0.0, None),
        (6, ErrorKind.TRANSIENT, None, 0.0, None),  # attempts used up
        (1, ErrorKind.RATE_LIMIT_TOKENS, 7.5, 0.0, 7.5),  # hint above the jitter cap: the floor wins
        (1, ErrorKind.RATE_LIMIT_REQUESTS, 50.0, 0.0, 50.0),  # hints may exceed max_delay
        (1, ErrorKind.RATE_LIMIT_TOKENS, 7.5, 295.0, None),  # would end past the deadline
        (1, ErrorKind.TRANSIENT, None, 300.0, None),  # deadline already reached
        (1, ErrorKind.INVALID_OUTPUT, None, 0.0, 0.0),  # wrong answers retry at once
        (2, ErrorKind.INVALID_OUTPUT, 2.0, 0.0, 2.0),
    ],
)
def test_next_delay_table(attempt, kind, hint, elapsed, expected):
    assert POLICY.next_delay(attempt, kind, hint, elapsed, random.Random(0)) == expected


@given(
    attempt=st.integers(1, 10),
    kind=st.sampled_from(list(ErrorKind)),
    hint=st.none() | st.floats(0, 100, allow_nan=False),
    elapsed=st.floats(0, 400, allow_nan=False),
    seed=st.integers(0, 2**32),
)
def test_next_delay_properties(attempt, kind, hint, elapsed, seed):
    delay = POLICY.next_delay(attempt, kind, hint, elapsed, random.Random(seed))
    if not kind.retryable or attempt >= POLICY.max_attempts:
        assert delay is None
    if delay is not None:
        assert delay >= 0.0
        assert hint is None or delay >= hint
        assert elapsed + delay < POLICY.deadline_s
        assert delay <= max(POLICY.max_delay, hint or 0.0)
