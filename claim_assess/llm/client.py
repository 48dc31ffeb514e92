"""The one place HTTP attempts to the model happen.

``LLMClient.ask`` runs one logical call (one prompt) as a sequence of attempts. Before every
attempt it asks the shared limiter for budget, after it releases the permit with what it saw
(also on failure and cancellation), records the attempt, and then lets the pure policy in
``llm.retry`` decide whether and when to try again. The openai client's own retries are off, so
every retry is visible here: budgeted, logged and counted.

With a ``ReuseIndex`` (``--reuse-answers``), a request byte-identical to a recorded one with a valid answer is
answered from that record first, before the limiter is asked: nothing is sent, so it must not use request or token
budget, nor count toward RPM/TPM. It still gets its own record, which points to the original.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

import openai
from openai.types.chat import ChatCompletion

from claim_assess.errors import (
    DeadlineExceeded,
    EndpointRejected,
    EndpointUnavailable,
    InvalidOutputError,
    LLMError,
    LLMCallError,
    QuotaExhausted,
)
from claim_assess.credentials import Redactor, public_endpoint
from claim_assess.llm.accounting import ABANDONED, OK, REUSED, LLMUsage
from claim_assess.llm.attempts import AttemptRecord, new_call_id, request_body, rfc3339, utc_now
from claim_assess.llm.diagnosis import provider_said, what_to_change
from claim_assess.llm.limiter import AttemptOutcome, Limiter, estimate_prompt_tokens
from claim_assess.llm.retry import ErrorKind, RetryPolicy, classify, retry_hint
from claim_assess.llm.reuse import ReuseIndex

T = TypeVar("T")
log = logging.getLogger(__name__)


class PromptLike(Protocol):
    """What the client needs of ``claims.prompts.PromptSpec``."""

    purpose: str
    item_id: str | None
    schema_name: str
    messages: Any
    max_completion_tokens: int

    def response_format(self) -> dict: ...




@dataclass(frozen=True)
class _Attempt:
    """The result of one HTTP attempt, before the policy looks at it."""

    value: Any = None
    ok: bool = False
    kind: ErrorKind | None = None
    status: int | str = 0
    error: str | None = None
    hint_s: float | None = None
    body: str | None = None  # an error status's body (redacted): what the diagnosis of a refusal reads


@dataclass(frozen=True)
class _Sent:
    """What one HTTP exchange gave: the verdict on it, and what the limiter and the attempt's record need."""

    result: _Attempt
    headers: Mapping[str, str] = field(default_factory=dict)
    error_body: str | None = None
    content: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def outcome(self) -> str:
        """For accounting: "ok", the ErrorKind's value, or "abandoned"."""
        if self.result.ok:
            return OK
        return self.result.kind.value if self.result.kind is not None else ABANDONED


def _abandoned(why: str) -> _Sent:
    return _Sent(_Attempt(status="connection_error", kind=None, error=f"attempt abandoned: {why}"))


class LLMClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        limiter: Limiter,
        policy: RetryPolicy = RetryPolicy(),
        timeout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Any] = asyncio.sleep,
        rng: random.Random | None = None,
        reuse: ReuseIndex | None = None,
    ) -> None:
        self.model = model
        self._reuse = reuse if reuse else None  # an empty index is no index: no digest per call for nothing
        self.endpoint = public_endpoint(base_url)
        self._limiter = limiter
        self._limiter_pauses = bool(getattr(limiter, "pauses_on_429", False))
        self._policy = policy
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        # Kept only to scrub it from anything a server echoes back (defence in depth: records and
        # limiter outcomes must never carry the key, even if a gateway reflects it in an error).
        self._redact = Redactor(api_key)
        self._openai = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout_s
        )
        self._usage = LLMUsage()

    def __repr__(self) -> str:  # never shows the key
        return f"LLMClient(endpoint={self.endpoint!r}, model={self.model!r})"

    def usage(self) -> LLMUsage:
        """Every attempt this client made so far, and the calls that ended without an answer."""
        return self._usage

    async def close(self) -> None:
        await self._openai.close()

    async def __aenter__(self) -> "LLMClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def ask(
        self,
        prompt: PromptLike,
        parse: Callable[[str], T],
        *,
        run_id: str,
        claim_id: str,
        record: Callable[[AttemptRecord], None],
    ) -> T:
        """The parsed answer to ``prompt``, after as many attempts as the policy allows.

        Raises QuotaExhausted (insufficient_quota, at once), EndpointRejected (the run's configuration refused,
        at once), LLMCallError (a refusal of this request's own content, at once), InvalidOutputError (answers
        kept breaking the schema), EndpointUnavailable (retries used up on errors not about the claim, or an
        unexplained refusal) or DeadlineExceeded (one of those: the call's deadline passed).
        """
        policy = self._policy
        reserve = estimate_prompt_tokens(prompt.messages) + prompt.max_completion_tokens
        request = request_body(prompt)  # once per call, not per attempt: every attempt sends the same body
        if (reused := self._from_ledger(prompt, request, parse, run_id, claim_id, record)) is not None:
            return reused.value  # answered from the ledger: no attempt, no budget
        started = self._clock()
        attempt = invalid = 0
        try:
            while True:
                attempt += 1
                result = await self._attempt(prompt, request, parse, attempt, reserve, run_id, claim_id, record)
                if result.ok:
                    return result.value
                kind = result.kind
                assert kind is not None
                elapsed = self._clock() - started
                why = (
                    f"{prompt.purpose} call{f' for claim {claim_id}' if claim_id else ''}: last status {result.status}"
                    f" ({result.error}), {attempt} attempt(s), {elapsed:.1f}s elapsed"
                )
                if not kind.retryable:
                    raise self._not_retryable(kind, result, why)
                if kind is ErrorKind.INVALID_OUTPUT:
                    invalid += 1
                    if invalid >= policy.invalid_output_attempts:
                        raise InvalidOutputError(f"answer broke the schema {invalid} time(s): {why}")
                # A limiter that pauses the whole fleet on a 429 holds this retry back for as long as it must (it may
                # know the window frees before a gateway's generic "retry after 60"): no second wait for the hint.
                hint = None if kind.rate_limited and self._limiter_pauses else result.hint_s
                delay = policy.next_delay(attempt, kind, hint, elapsed, self._rng)
                if delay is None:
                    if attempt < policy.max_attempts:
                        raise DeadlineExceeded(f"deadline of {policy.deadline_s}s would pass: {why}")
                    if kind is ErrorKind.INVALID_OUTPUT:
                        raise InvalidOutputError(f"attempts used up on invalid answers: {why}")
                    raise EndpointUnavailable(f"gave up after {attempt} attempts: {why}; "
                                              f"{what_to_change(result.status, result.body, base_url=self.endpoint, model=self.model)}")
                if delay > 0:
                    await self._sleep(delay)
        except BaseException as exc:
            self._usage += LLMUsage(failed_calls=1)
            if isinstance(exc, LLMError):
                log.info("%s call for claim %s ended without an answer: %s", prompt.purpose, claim_id, exc)
            raise

    def _from_ledger(self, prompt: PromptLike, request: Mapping[str, Any], parse: Callable[[str], T], run_id: str,
                     claim_id: str, record: Callable[[AttemptRecord], None]) -> _Attempt | None:
        """The recorded answer to exactly this request, recorded as a reuse; None: ask the endpoint."""
        found = self._reuse.find(self.model, request) if self._reuse is not None else None
        if found is None:
            return None
        try:
            value = parse(found.response)
        except InvalidOutputError as exc:  # the index keeps valid answers only, but the schema may have been tightened
            log.info("recorded answer %s no longer passes the schema (%s): asking the endpoint", found.call_id, exc)
            return None
        now = rfc3339(self._wall_clock())
        attempt_record = AttemptRecord(
            call_id=new_call_id(), run_id=run_id, claim_id=claim_id, purpose=prompt.purpose, item_id=prompt.item_id,
            attempt=1, model=self.model, endpoint=self.endpoint, request=request, response=found.response,
            status=found.status, error=None, prompt_tokens=found.prompt_tokens,
            completion_tokens=found.completion_tokens, latency_ms=0, started_at=now, finished_at=now,
            outcome=REUSED, reused_from=found.pointer(),
        )
        self._usage += attempt_record.usage
        record(attempt_record)
        return _Attempt(value=value, ok=True, status=found.status)

    async def _attempt(
        self,
        prompt: PromptLike,
        request: Mapping[str, Any],
        parse: Callable[[str], T],
        attempt: int,
        reserve: int,
        run_id: str,
        claim_id: str,
        record: Callable[[AttemptRecord], None],
    ) -> _Attempt:
        permit = await self._limiter.acquire(reserve)
        wall_start, t0 = self._wall_clock(), self._clock()
        sent = _abandoned("cancelled before it was sent")
        try:
            sent = await self._send(request, parse)
        except BaseException as exc:  # cancelled, or a bug in parse: the attempt still gets its record
            sent = _abandoned(type(exc).__name__)
            raise
        finally:
            latency_ms = max(0, round((self._clock() - t0) * 1000))
            outcome = AttemptOutcome(status=sent.result.status, headers=sent.headers, prompt_tokens=sent.prompt_tokens,
                                     completion_tokens=sent.completion_tokens, error_body=sent.error_body,
                                     max_completion_tokens=prompt.max_completion_tokens)
            attempt_record = AttemptRecord(
                call_id=new_call_id(), run_id=run_id, claim_id=claim_id, purpose=prompt.purpose,
                item_id=prompt.item_id, attempt=attempt, model=self.model, endpoint=self.endpoint, request=request,
                response=self._redact(sent.content), status=sent.result.status,
                error=self._redact(sent.result.error) if not sent.result.ok else None,
                prompt_tokens=sent.prompt_tokens, completion_tokens=sent.completion_tokens, latency_ms=latency_ms,
                started_at=rfc3339(wall_start), finished_at=rfc3339(self._wall_clock()), outcome=sent.outcome,
            )
            self._usage += attempt_record.usage
            log.debug("%s attempt %d for claim %s: %s (%s) in %d ms", prompt.purpose, attempt, claim_id,
                      attempt_record.status, attempt_record.outcome, latency_ms)
            # Recorded before the release is awaited: a claim cancelled again while it waits (a run-wide stop) must
            # still log what reached the provider. Shielded so the budget goes back even then.
            record(attempt_record)
            await asyncio.shield(self._limiter.release(permit, outcome))
        return sent.result

    async def _send(self, request: Mapping[str, Any], parse: Callable[[str], T]) -> _Sent:
        """One HTTP exchange, and the verdict on it: every way it can go wrong becomes an ``_Attempt``."""
        status: int | str = "connection_error"
        try:
            # The request is JSON-ready: passed as extra_body (which takes precedence over the typed parameters, by
            # openai-python's contract) it skips the SDK's transform of typed parameters, which walks the messages
            # and the JSON schema against TypedDict annotations and returns them unchanged: 0.7-1.1 ms of CPU per
            # request, measured, of an assessor's few. The bytes sent are the same (tests/test_llm_client.py).
            raw = await self._openai.chat.completions.with_raw_response.create(model=self.model, messages=[],
                                                                               extra_body=dict(request))
            status = raw.status_code
            headers = {k.lower(): v for k, v in raw.headers.items()}
            completion = raw.parse()
            if not isinstance(completion, ChatCompletion):  # e.g. an HTML page from a proxy
                raise ValueError(f"got {type(completion).__name__}, not a chat completion")
        except openai.APITimeoutError as exc:
            return _Sent(_Attempt(status="timeout", kind=ErrorKind.TRANSIENT, error=f"timeout: {exc}"))
        except openai.APIConnectionError as exc:
            return _Sent(_Attempt(status="connection_error", kind=ErrorKind.TRANSIENT, error=f"connection error: {exc}"))
        except openai.APIStatusError as exc:
            return self._refused(exc)
        except (openai.APIResponseValidationError, ValueError) as exc:  # a 2xx body that is not a completion
            return _Sent(_Attempt(status=getattr(exc, "status_code", status), kind=ErrorKind.INVALID_OUTPUT,
                                  error=f"invalid output: response body is not a completion: {_short(str(exc))}"))
        usage = completion.usage
        tokens = (usage.prompt_tokens, usage.completion_tokens) if usage is not None else (None, None)
        result = self._judge(completion, parse, status)
        if result.ok:
            return _Sent(result, headers, None, _content_of(completion), *tokens)
        return _Sent(_Attempt(status=status, kind=result.kind, error=result.error), headers, None, result.value, *tokens)

    def _not_retryable(self, kind: ErrorKind, result: _Attempt, why: str) -> LLMError:
        if kind is ErrorKind.QUOTA:
            return QuotaExhausted(f"insufficient_quota: the account is out of credit; {why}")
        if kind is ErrorKind.CONFIGURATION:
            return EndpointRejected(self.refusal(result.status, result.body, result.error))
        if kind is ErrorKind.REFUSED:
            return EndpointUnavailable(f"refused, for no reason that names the claim: {why}")
        return LLMCallError(f"not retryable: {why}", result.status)  # FATAL: about this request's own content

    def refusal(self, status: int | str, body: str | None, error: str | None) -> str:
        """What the endpoint said and what to change: the message of a run stopped by its configuration."""
        return (f"{self.endpoint} (model {self.model!r}) refused the run's configuration "
                f"({provider_said(status, body, error)}): "
                f"{what_to_change(status, body, base_url=self.endpoint, model=self.model)}")

    def _refused(self, exc: openai.APIStatusError) -> _Sent:
        """An HTTP error status: classified from its body (429 kinds, quota, fatal), with the server's retry hint."""
        headers = {k.lower(): v for k, v in exc.response.headers.items()}
        body = self._redact(_response_text(exc.response))
        result = _Attempt(status=exc.status_code, kind=classify(exc.status_code, body),
                          error=f"HTTP {exc.status_code}: {_short(body)}", hint_s=retry_hint(headers, body), body=body)
        return _Sent(result, headers, body)

    @staticmethod
    def _judge(completion: Any, parse: Callable[[str], T], status: int) -> _Attempt:
        """Accept the answer, or say why it is invalid output. On failure ``value`` is the raw content."""
        choice = completion.choices[0] if completion.choices else None
        message = choice.message if choice is not None else None
        content = message.content if message is not None else None
        if message is not None and getattr(message, "refusal", None):
            return _Attempt(value=content, kind=ErrorKind.INVALID_OUTPUT, status=status,
                            error=f"invalid output: model refused: {_short(message.refusal)}")
        if choice is not None and choice.finish_reason == "length":
            return _Attempt(value=content, kind=ErrorKind.INVALID_OUTPUT, status=status,
                            error="invalid output: answer cut off at max_completion_tokens")
        if not content:
            return _Attempt(value=content, kind=ErrorKind.INVALID_OUTPUT, status=status,
                            error="invalid output: empty content")
        try:
            value = parse(content)
        except InvalidOutputError as exc:
            return _Attempt(value=content, kind=ErrorKind.INVALID_OUTPUT, status=status,
                            error=f"invalid output: {_short(str(exc))}")
        return _Attempt(value=value, ok=True, status=status)


def _content_of(completion: Any) -> str | None:
    choice = completion.choices[0] if completion.choices else None
    return choice.message.content if choice is not None and choice.message is not None else None


def _response_text(response: Any) -> str | None:
    try:
        return response.text
    except Exception:  # a body that cannot be read is no reason to lose the attempt's record
        return None


def _short(text: str | None, limit: int = 300) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit] + "..."
