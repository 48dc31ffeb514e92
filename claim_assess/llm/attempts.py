"""One record per HTTP attempt (ledger spec section 3, without ``record_hash``: the ledger adds it).

Records carry what was sent and received so an auditor can replay a decision's reasoning, and
never a credential: the endpoint is stripped of userinfo, query and fragment (``claim_assess.credentials``),
and no header is kept.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timezone
from typing import Any

from claim_assess.llm.accounting import OK, LLMUsage

SCHEMA = "llm_call/1"


def new_call_id() -> str:
    """"call_" + 16 lowercase hex from the OS's randomness: unique across actors and restarts."""
    return "call_" + secrets.token_hex(8)


def rfc3339(moment: datetime) -> str:
    """UTC, milliseconds, "Z": 2026-11-29T11:35:22.123Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class AttemptRecord:
    call_id: str
    run_id: str
    claim_id: str
    purpose: str
    item_id: str | None
    attempt: int  # 1-based, within one call
    model: str
    endpoint: str  # base URL without credentials
    request: Mapping[str, Any]  # messages, response_format, max_completion_tokens, temperature (int 0)
    response: str | None  # the content received, or None
    status: int | str  # HTTP status or "timeout" / "connection_error"
    error: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int
    started_at: str  # RFC 3339 UTC with milliseconds
    finished_at: str
    # How the attempt ended ("ok", "abandoned" or an ErrorKind value): for accounting, not part of llm_call/1.
    outcome: str = OK
    # {call_id, record_hash} of the recorded call whose answer this one reused (nothing was sent), else None.
    reused_from: Mapping[str, str] | None = None

    @cached_property  # the client, the advisor, the reporter and the metrics all read it: computed once
    def usage(self) -> LLMUsage:
        return LLMUsage.of(kind=self.outcome, attempt=self.attempt, latency_ms=self.latency_ms,
                           prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens)

    def to_json(self) -> dict[str, Any]:
        """The spec's llm_call/1 object, ready for canonical JSON (no floats, no record_hash).

        ``reused_from`` is only present on a reused answer: the records of calls really sent keep the exact shape
        they always had (and the same bytes, so old ledgers verify as they did)."""
        body = {
            "schema": SCHEMA,
            "call_id": self.call_id,
            "run_id": self.run_id,
            "claim_id": self.claim_id,
            "purpose": self.purpose,
            "item_id": self.item_id,
            "attempt": self.attempt,
            "model": self.model,
            "endpoint": self.endpoint,
            "request": _plain(self.request),
            "response": self.response,
            "status": self.status,
            "error": self.error,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_ms": self.latency_ms,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }
        if self.reused_from is not None:
            body["reused_from"] = dict(self.reused_from)
        return body


def request_body(prompt: Any, response_format: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the Chat Completions call sends besides the model (and what its attempt records keep).

    Here, not in the client, so that replay (``claim_assess.replay``) can rebuild the exact request a prompt makes
    without importing the openai client. ``prompt`` is a ``claims.prompts.PromptSpec`` or alike; ``response_format``
    is its ``response_format()`` when the caller already holds it (replay builds it once per schema: the schema's
    deep copy is half the cost of a request)."""
    return {
        "messages": [dict(m) for m in prompt.messages],
        "response_format": prompt.response_format() if response_format is None else response_format,
        "max_completion_tokens": prompt.max_completion_tokens,
        "temperature": 0,
    }


def recorded_request(prompt: Any) -> Any:
    """The request of ``prompt`` as an llm_call/1 record holds it (plain dicts and lists)."""
    return _plain(request_body(prompt))


def _plain(value: Any) -> Any:
    """Mappings and sequences (e.g. a PromptSpec's tuples) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def answered(call: Mapping[str, Any]) -> bool:
    """Whether a recorded attempt (its llm_calls.jsonl form) got an answer: a 2xx with no error and a response.
    An answer that broke the schema is recorded with an "invalid output" error, so it is not one."""
    status = call.get("status")
    return call.get("error") is None and type(status) is int and 200 <= status < 300 \
        and isinstance(call.get("response"), str)
