"""The preflight: one cheap request before any claim, proving what every request of the run relies on.

A wrong key, an unknown model, a base URL without chat completions, an endpoint without Structured Outputs, or
nothing listening: each would otherwise cost every claim its retries and end the run part-way. One minimal strict
``json_schema`` completion (a few tokens) proves, in seconds and before any actor starts, that the endpoint is
reachable, accepts the key, serves the model and accepts the response format the claims' calls use. The models list
alone would prove only the first two.

It goes through ``LLMClient`` like every call (same classification, same redaction), so its attempts are records
like any other: the run logs them in the ledger's call log (purpose "preflight", about no claim).

Verdicts: a 200 passes, whatever its content (a reasoning model may spend the few tokens thinking and return
nothing: the request itself was accepted). A 429 rate limit passes with a note (the key was accepted; the model and
format are proven by the first claim). Everything else fails with the provider's words and what to change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from claim_assess.errors import (ConfigError, EndpointRejected, EndpointUnavailable, LLMCallError, LLMError,
                                 QuotaExhausted)
from claim_assess.llm.attempts import AttemptRecord
from claim_assess.llm.client import LLMClient
from claim_assess.llm.limiter import NoLimit
from claim_assess.llm.retry import RetryPolicy

log = logging.getLogger(__name__)
PREFLIGHT = "preflight"  # the purpose its attempt records carry (the ledger knows it: records.PREFLIGHT)

# Few attempts and short waits: a run that cannot reach its endpoint should say so within seconds, and a real
# outage is better reported than waited out before anything has started.
PREFLIGHT_POLICY = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=2.0, deadline_s=30.0,
                               invalid_output_attempts=1)
PREFLIGHT_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
                    "additionalProperties": False}


class PreflightError(ConfigError):
    """The endpoint failed the preflight: the run stops before any actor starts (exit 2)."""


@dataclass(frozen=True)
class PreflightPrompt:
    purpose: str = PREFLIGHT
    item_id: str | None = None
    schema_name: str = "preflight_check"
    messages: tuple[dict[str, str], ...] = ({"role": "user", "content": 'Reply with the JSON object {"ok": true}.'},)
    max_completion_tokens: int = 16

    def response_format(self) -> dict:
        return {"type": "json_schema",
                "json_schema": {"name": self.schema_name, "strict": True, "schema": PREFLIGHT_SCHEMA}}


@dataclass(frozen=True)
class PreflightResult:
    passed: bool
    summary: str  # one line for the console: what was proven
    attempts: tuple[AttemptRecord, ...] = field(default_factory=tuple)


async def check_endpoint(*, base_url: str, api_key: str, model: str, run_id: str, timeout_s: float,
                         sleep: Callable[[float], Any] = asyncio.sleep) -> PreflightResult:
    """One preflight call. Raises PreflightError (with the attempts on ``.attempts``) when the endpoint fails it."""
    attempts: list[AttemptRecord] = []
    async with LLMClient(base_url=base_url, api_key=api_key, model=model, limiter=NoLimit(),
                         policy=PREFLIGHT_POLICY, timeout_s=min(timeout_s, 30.0), sleep=sleep) as client:
        try:
            await client.ask(PreflightPrompt(), lambda content: content, run_id=run_id, claim_id=None,  # type: ignore[arg-type]
                             record=attempts.append)
        except EndpointRejected as exc:
            raise _failed(str(exc), attempts) from exc
        except QuotaExhausted as exc:
            raise _failed(f"{client.endpoint}: {exc}", attempts) from exc
        except EndpointUnavailable as exc:
            if attempts and attempts[-1].status == 429:
                return PreflightResult(True, f"{client.endpoint} model {model!r}: rate limited at the preflight "
                                             "(the key was accepted; the first claims prove the rest)", tuple(attempts))
            raise _failed(f"{client.endpoint} (model {model!r}) failed the preflight: {exc}", attempts) from exc
        except LLMCallError as exc:  # a refusal of the preflight's own content: no claim's request would fare better
            raise _failed(f"{client.endpoint} (model {model!r}) refused the preflight request: {exc}", attempts) from exc
        except LLMError as exc:
            if attempts and attempts[-1].status == 200:  # answered, content aside: the request was accepted
                return _passed(client, model, attempts)
            raise _failed(f"{client.endpoint} (model {model!r}) failed the preflight: {exc}", attempts) from exc
    return _passed(client, model, attempts)


def _passed(client: LLMClient, model: str, attempts: list[AttemptRecord]) -> PreflightResult:
    last = attempts[-1]
    return PreflightResult(True, f"preflight passed: {client.endpoint} accepted the key, model {model!r} and a strict "
                                 f"json_schema response format ({last.latency_ms} ms)", tuple(attempts))


def _failed(message: str, attempts: list[AttemptRecord]) -> PreflightError:
    error = PreflightError(f"{message}. Nothing was assessed")
    error.attempts = tuple(attempts)  # type: ignore[attr-defined]
    return error
