"""The seed-style baseline the benchmark compares the engine with.

What the design this project grew from did: a ``ThreadPoolExecutor`` of N workers, each assessing one
claim at a time, its coverage calls one after another, through the synchronous ``openai.OpenAI``
client with its DEFAULT retries (``max_retries`` 2, the client's own backoff), no shared limiter, no
ledger. Only the execution model differs from the engine: the domain code is the project's own
(``claims.pipeline.assess_claim``, ``claims.prompts``), so both make the same calls with the same
prompts and reach the same decisions.

How the coverage calls are made sequential: each claim runs ``assess_claim`` under ``asyncio.run`` in
its worker thread with ``SeedAdvisor``, whose ``ask`` is a coroutine that never awaits; it makes the
blocking HTTP call inside its first step. ``asyncio.gather`` in the pipeline therefore runs a claim's
coverage coroutines one after another, each to completion, exactly like a plain ``for`` loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import openai

from claim_assess.errors import InvalidOutputError, LLMCallError, QuotaExhausted
from claim_assess.claims.dataset import ClaimEntry
from claim_assess.claims.models import Policy
from claim_assess.claims.pipeline import assess_claim
from claim_assess.claims.prompts import PromptSpec

T = TypeVar("T")


@dataclass(frozen=True)
class BaselineClaim:
    claim_id: str
    decision: str
    duration_ms: int
    calls: int  # logical calls (prompts) this claim made
    error: str | None


@dataclass(frozen=True)
class BaselineResult:
    workers: int
    wall_s: float
    claims: tuple[BaselineClaim, ...]


class SeedAdvisor:
    """A pipeline ``Advisor`` over a synchronous openai client: each call blocks until it is done."""

    def __init__(self, client: openai.OpenAI, model: str) -> None:
        self._client = client
        self._model = model
        self.calls = 0

    async def ask(self, prompt: PromptSpec, parse: Callable[[str], T]) -> T:
        # No await anywhere in here, on purpose: see the module docstring.
        self.calls += 1
        try:
            completion = self._client.chat.completions.create(
                model=self._model,
                messages=[dict(m) for m in prompt.messages],
                response_format=prompt.response_format(),
                max_completion_tokens=prompt.max_completion_tokens,
                temperature=0,
            )
        except openai.APIStatusError as exc:
            if exc.status_code == 429 and "insufficient_quota" in str(exc):
                raise QuotaExhausted(f"{prompt.purpose}: insufficient_quota") from exc
            raise LLMCallError(f"{prompt.purpose}: HTTP {exc.status_code} after the client's retries",
                               exc.status_code) from exc
        except openai.APIError as exc:  # timeouts and dropped connections, after the client's retries
            raise LLMCallError(f"{prompt.purpose}: {type(exc).__name__}: {exc}", "connection_error") from exc
        return parsed_answer(completion, prompt, parse)


def parsed_answer(completion, prompt: PromptSpec, parse: Callable[[str], T]) -> T:
    """The parsed content of a completion; InvalidOutputError when it is empty or was cut off."""
    choice = completion.choices[0] if completion.choices else None
    content = choice.message.content if choice is not None else None
    if not content or (choice is not None and choice.finish_reason == "length"):
        raise InvalidOutputError(f"{prompt.purpose}: empty or cut-off answer")
    return parse(content)


def run_baseline(
    entries: Sequence[ClaimEntry],
    policies: Mapping[str, Policy],
    policy_errors: Mapping[str, str],
    *,
    base_url: str,
    api_key: str,
    model: str,
    workers: int,
    clock: Callable[[], float] = time.monotonic,
) -> BaselineResult:
    """Assess ``entries`` the seed way with ``workers`` threads; ``workers=1`` is strictly sequential."""
    local = threading.local()
    clients: list[openai.OpenAI] = []

    def client() -> openai.OpenAI:
        # One client per worker, as the seed made one per thread; DEFAULT retries and timeout.
        if not hasattr(local, "client"):
            local.client = openai.OpenAI(base_url=base_url, api_key=api_key)
            clients.append(local.client)
        return local.client

    def one(entry: ClaimEntry) -> BaselineClaim:
        advisor = SeedAdvisor(client(), model)
        t0 = clock()
        try:
            assessment = asyncio.run(assess_claim(entry, policies, policy_errors, advisor))
            decision, error = assessment.decision, assessment.error
        except QuotaExhausted as exc:
            decision, error = "UNDECIDED", str(exc)
        return BaselineClaim(entry.claim_id, decision, round((clock() - t0) * 1000), advisor.calls, error)

    started = clock()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed-worker") as pool:
        claims = tuple(pool.map(one, entries))
    for each in clients:
        each.close()
    return BaselineResult(workers=workers, wall_s=clock() - started, claims=claims)
