"""The cookbook-style baseline: how OpenAI's own example throttles parallel requests.

It models ``examples/api_request_parallel_processor.py`` of the openai-cookbook, which many users copy:

- ``available_request_capacity`` and ``available_token_capacity`` start FULL, at ``max_requests_per_minute``
  and ``max_tokens_per_minute``, and refill continuously at limit/60 per second, capped at the limit;
- the next request goes out when both allow it: one request, and its token estimate (prompt tokens +
  ``max_tokens``); it waits at the head of the line until they do, and so does everything behind it;
- after a rate-limit error nothing is sent until ``seconds_to_pause_after_rate_limit_error`` (15 s) after
  the last one;
- a failed request (any error) is retried, up to ``max_attempts`` (5) attempts in all;
- there is no other cap on requests in flight.

The user hands it the limits, as its command line asks (``--max_requests_per_minute``,
``--max_tokens_per_minute``): the provider's advertised ones. It reads no header.

Differences, on purpose:
- The calls are the project's own: each claim runs ``claims.pipeline.assess_claim`` with ``CookbookAdvisor``, all
  claims at once on one event loop, so the prompts, calls and decisions are the engine's. The cookbook reads
  independent requests from a file instead.
- A waiting request sleeps exactly until capacity allows instead of polling every 1 ms: the same schedule.
- Retries queue behind the requests already waiting (the cookbook serves its retry queue first).
- A 429 is recognised by its status. The cookbook tests the error's ``code`` (today ``'429'``; older versions
  looked for "Rate limit" in the message), which a provider and a gateway spell differently.
- Tokens are estimated with ``llm.limiter.estimate_prompt_tokens`` (what the simulator charges), not tiktoken.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import openai
from claim_assess.bench.baseline import BaselineClaim, BaselineResult, parsed_answer

from claim_assess.claims.dataset import ClaimEntry
from claim_assess.claims.models import Policy
from claim_assess.claims.pipeline import assess_claim
from claim_assess.claims.prompts import PromptSpec
from claim_assess.errors import LLMCallError
from claim_assess.llm.limiter import estimate_prompt_tokens

T = TypeVar("T")

MAX_ATTEMPTS = 5
PAUSE_AFTER_RATE_LIMIT_S = 15.0


class Capacity:
    """The cookbook's two counters: full at the start, refilled at limit/60 per second, capped at the limit.

    ``None`` for a limit means none (the counter never runs short).
    """

    def __init__(self, rpm: float | None, tpm: float | None, *, clock: Callable[[], float] = time.monotonic):
        self._rpm = float(rpm) if rpm else math.inf
        self._tpm = float(tpm) if tpm else math.inf
        self.requests, self.tokens = self._rpm, self._tpm
        self._clock = clock
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed, self._last = now - self._last, now
        self.requests = min(self._rpm, self.requests + self._rpm * elapsed / 60.0)
        self.tokens = min(self._tpm, self.tokens + self._tpm * elapsed / 60.0)

    def wait_s(self, tokens: int) -> float:
        """Seconds until one request of ``tokens`` fits (0: it fits now)."""
        if tokens > self._tpm:
            # The cookbook would wait for ever; better to say so than to hang the benchmark.
            raise ValueError(f"a request of {tokens} tokens can never fit under {self._tpm:.0f} TPM")
        self._refill()
        short_requests = max(0.0, 1.0 - self.requests) * 60.0 / self._rpm
        short_tokens = max(0.0, tokens - self.tokens) * 60.0 / self._tpm
        return max(short_requests, short_tokens)

    def take(self, tokens: int) -> None:
        self._refill()
        self.requests -= 1
        self.tokens -= tokens


class CookbookGate:
    """When the next request may go: enough capacity, and 15 s past the last rate-limit error."""

    def __init__(self, capacity: Capacity, *, pause_s: float = PAUSE_AFTER_RATE_LIMIT_S,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.capacity = capacity
        self._pause_s = pause_s
        self._clock = clock
        self._sleep = sleep
        self._last_rate_limited: float | None = None
        # asyncio.Lock wakes its waiters in order: one request at the head of the line, as the cookbook's
        # single ``next_request``, holds up every request behind it.
        self._line = asyncio.Lock()

    def rate_limited(self) -> None:
        self._last_rate_limited = self._clock()

    def wait_s(self, tokens: int) -> float:
        pause = 0.0 if self._last_rate_limited is None else self._last_rate_limited + self._pause_s - self._clock()
        return max(pause, self.capacity.wait_s(tokens))

    async def admit(self, tokens: int) -> None:
        """Return when a request of ``tokens`` may be sent, its capacity taken."""
        async with self._line:
            while (wait := self.wait_s(tokens)) > 0:
                await self._sleep(wait)
            self.capacity.take(tokens)


class CookbookAdvisor:
    """A pipeline ``Advisor`` that sends each call through the cookbook's gate, up to 5 attempts."""

    def __init__(self, client: openai.AsyncOpenAI, model: str, gate: CookbookGate) -> None:
        self._client = client
        self._model = model
        self._gate = gate
        self.calls = 0

    async def ask(self, prompt: PromptSpec, parse: Callable[[str], T]) -> T:
        self.calls += 1
        messages = [dict(m) for m in prompt.messages]
        tokens = estimate_prompt_tokens(messages) + prompt.max_completion_tokens
        error: Exception | None = None
        for _ in range(MAX_ATTEMPTS):
            await self._gate.admit(tokens)
            try:
                completion = await self._client.chat.completions.create(
                    model=self._model, messages=messages, response_format=prompt.response_format(),
                    max_completion_tokens=prompt.max_completion_tokens, temperature=0)
            except openai.APIError as exc:  # any error is retried, as the cookbook does
                if isinstance(exc, openai.APIStatusError) and exc.status_code == 429:
                    self._gate.rate_limited()
                error = exc
                continue
            return parsed_answer(completion, prompt, parse)
        status = error.status_code if isinstance(error, openai.APIStatusError) else "connection_error"
        raise LLMCallError(f"{prompt.purpose}: {type(error).__name__} after {MAX_ATTEMPTS} attempts", status) \
            from error


def run_cookbook(
    entries: Sequence[ClaimEntry],
    policies: Mapping[str, Policy],
    policy_errors: Mapping[str, str],
    *,
    base_url: str,
    api_key: str,
    model: str,
    rpm: int | None,
    tpm: int | None,
    clock: Callable[[], float] = time.monotonic,
) -> BaselineResult:
    """Assess ``entries`` the cookbook way, every claim at once on one event loop, given the limits by hand."""
    return asyncio.run(_assess_all(entries, policies, policy_errors, base_url=base_url, api_key=api_key,
                                   model=model, rpm=rpm, tpm=tpm, clock=clock))


async def _assess_all(entries: Sequence[ClaimEntry], policies: Mapping[str, Policy],
                      policy_errors: Mapping[str, str], *, base_url: str, api_key: str, model: str,
                      rpm: int | None, tpm: int | None, clock: Callable[[], float]) -> BaselineResult:
    # max_retries=0: the cookbook retries by itself; the openai client's own retries would hide attempts.
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0)
    gate = CookbookGate(Capacity(rpm, tpm, clock=clock), clock=clock)

    async def one(entry: ClaimEntry) -> BaselineClaim:
        advisor = CookbookAdvisor(client, model, gate)
        t0 = clock()
        # A call that failed all its attempts makes its claim FAILED (the pipeline's rule); nothing else stops.
        assessment = await assess_claim(entry, policies, policy_errors, advisor)
        return BaselineClaim(entry.claim_id, assessment.decision, round((clock() - t0) * 1000), advisor.calls,
                             assessment.error)

    started = clock()
    try:
        claims = tuple(await asyncio.gather(*(one(entry) for entry in entries)))
    finally:
        await client.close()
    return BaselineResult(workers=1, wall_s=clock() - started, claims=claims)
