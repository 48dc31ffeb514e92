"""Attempt records: the llm_call/1 shape, no credentials, no floats."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from claim_assess.credentials import public_endpoint
from claim_assess.llm.attempts import AttemptRecord, new_call_id, rfc3339
from claim_assess.llm.limiter import estimate_completion_tokens, estimate_prompt_tokens


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("http://user:sk-secret@127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("https://gw.example/openai/deployments/x?api-key=sk-secret#frag", "https://gw.example/openai/deployments/x"),
        ("http://[::1]:9000/v1", "http://[::1]:9000/v1"),
    ],
)
def test_public_endpoint_strips_credentials(url, public):
    assert public_endpoint(url) == public
    assert "secret" not in public_endpoint(url)


def test_rfc3339_is_utc_with_milliseconds():
    moment = datetime(2026, 11, 29, 12, 0, 1, 987654, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(moment) == "2026-11-29T10:00:01.987Z"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"


def test_call_ids_are_random_16_hex():
    ids = {new_call_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"call_[0-9a-f]{16}", i) for i in ids)


def test_estimates():
    messages = [{"role": "system", "content": "abcd"}, {"role": "user", "content": "abcde"}]
    assert estimate_prompt_tokens(messages) == 3 + 8  # ceil(9 / 4) + 4 per message
    assert estimate_prompt_tokens([{"role": "user", "content": [{"type": "text", "text": "abcdefgh"}]}]) == 2 + 4
    assert estimate_completion_tokens("abcde") == 2
    assert estimate_completion_tokens(None) == 0


def _floats(value) -> list:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


def test_to_json_has_every_spec_field_and_no_floats():
    record = AttemptRecord(
        call_id="call_0123456789abcdef", run_id="run1", claim_id="C1", purpose="coverage", item_id="i1",
        attempt=1, model="sim-gpt", endpoint="http://127.0.0.1:1/v1",
        request={"messages": ({"role": "user", "content": "x"},), "response_format": {"type": "json_schema"},
                 "max_completion_tokens": 200, "temperature": 0},
        response='{"a": 1}', status=200, error=None, prompt_tokens=5, completion_tokens=2, latency_ms=12,
        started_at="2026-11-29T10:00:00.000Z", finished_at="2026-11-29T10:00:00.012Z",
    )
    obj = record.to_json()
    assert obj["schema"] == "llm_call/1"
    assert "record_hash" not in obj
    assert set(obj) == {"schema", "call_id", "run_id", "claim_id", "purpose", "item_id", "attempt", "model",
                        "endpoint", "request", "response", "status", "error", "prompt_tokens",
                        "completion_tokens", "latency_ms", "started_at", "finished_at"}
    assert obj["request"]["messages"] == [{"role": "user", "content": "x"}]
    assert obj["request"]["temperature"] == 0 and type(obj["request"]["temperature"]) is int
    assert _floats(obj) == []
    json.dumps(obj)
