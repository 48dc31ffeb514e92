"""LLMUsage: one attempt's accounting, summed to a claim and a run, and read back from summary.json."""

from __future__ import annotations

import pytest

from claim_assess.llm.accounting import ABANDONED, OK, LLMUsage
from claim_assess.llm.retry import ErrorKind


def attempt(kind: str, n: int = 1, latency: int = 10, prompt: int | None = 5, completion: int | None = 3) -> LLMUsage:
    return LLMUsage.of(kind=kind, attempt=n, latency_ms=latency, prompt_tokens=prompt, completion_tokens=completion)


def test_each_kind_of_attempt_lands_in_exactly_one_outcome():
    kinds = [OK, ABANDONED, *(k.value for k in ErrorKind)]
    total = sum((attempt(k) for k in kinds), LLMUsage())
    assert total.requests == len(kinds) == total.succeeded + total.rate_limited + total.errors
    # fatal_errors: every refusal no retry follows, whoever it is about (the content, the configuration, unexplained)
    assert (total.rate_limited_requests, total.rate_limited_tokens, total.quota_errors, total.fatal_errors) == (1, 1, 1, 3)


def test_unknown_kind_is_refused():
    with pytest.raises(KeyError):
        attempt("teapot")


def test_sum_adds_counts_and_keeps_the_slowest_attempt():
    a = attempt(OK, 1, latency=40, prompt=100, completion=20)
    b = attempt(ErrorKind.RATE_LIMIT_TOKENS.value, 2, latency=900, prompt=None, completion=None)
    total = sum([a, b])
    assert (total.requests, total.retries, total.latency_ms, total.latency_ms_max) == (2, 1, 940, 900)
    assert (total.tokens, total.rate_limited) == (120, 1)
    assert total + LLMUsage() == total


def test_json_round_trip_has_one_name_per_figure():
    usage = sum([attempt(OK), attempt(ErrorKind.TRANSIENT.value, 2), LLMUsage(failed_calls=1)])
    data = usage.to_json()
    assert data["rate_limited"] == 0 and data["tokens"] == usage.tokens and "calls" not in data
    assert LLMUsage.from_json(data) == usage
    assert LLMUsage.from_json({}) == LLMUsage() == LLMUsage.from_json(None)
