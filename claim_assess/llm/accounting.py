"""LLMUsage: the one record of what LLM attempts did and cost, summable from one attempt to a whole run.

Why one type: the client, a claim's advisor, the progress actor, the Ray metrics, the run summary and the report
all count the same attempts. Each used to keep its own counters under its own names (summary.json showed one
figure as both ``calls`` and ``requests``). Now the client turns every finished attempt into an ``LLMUsage``
(``LLMUsage.of``), everything else adds them up (``+``, ``sum(..., LLMUsage())``), and summary.json shows
``to_json()``: one name per figure.

Every attempt lands in exactly one outcome: ``requests`` == ``succeeded + rate_limited + quota_errors +
transient_errors + fatal_errors + invalid_outputs + abandoned``. A call answered from the ledger
(``--reuse-answers``) is no request: it counts in ``reused``, and its recorded tokens in ``reused_*_tokens`` (saved,
never spent), so ``requests``, ``tokens`` and the rate figures stay what was really sent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from claim_assess.llm.retry import ErrorKind

OK = "ok"
ABANDONED = "abandoned"  # the attempt was cut short (its claim was cancelled): no answer, no status
REUSED = "reused"  # answered from a recorded call of an earlier run: nothing was sent


@dataclass(frozen=True)
class LLMUsage:
    requests: int = 0  # HTTP attempts
    succeeded: int = 0  # attempts whose answer was accepted
    rate_limited_requests: int = 0  # 429s of type "requests" (or unexplained 429s)
    rate_limited_tokens: int = 0  # 429s of type "tokens"
    quota_errors: int = 0  # 429 insufficient_quota
    transient_errors: int = 0  # 5xx, 408, timeouts, dropped connections
    fatal_errors: int = 0  # other 4xx: the request was refused (its content, the configuration, unexplained)
    invalid_outputs: int = 0  # a 2xx whose answer broke the schema (or was cut off, empty, refused)
    abandoned: int = 0  # cut short by a cancellation
    retries: int = 0  # attempts after the first of their call
    failed_calls: int = 0  # calls that ended without an answer (gave up, refused, cancelled)
    prompt_tokens: int = 0  # as the provider reported them
    completion_tokens: int = 0
    latency_ms: int = 0  # summed over the attempts
    latency_ms_max: int = 0
    reused: int = 0  # calls answered from a recorded call (--reuse-answers): not sent, no budget used
    reused_prompt_tokens: int = 0  # the tokens those recorded calls cost once: saved this time
    reused_completion_tokens: int = 0

    @classmethod
    def of(cls, *, kind: str, attempt: int, latency_ms: int, prompt_tokens: int | None,
           completion_tokens: int | None) -> LLMUsage:
        """One finished attempt. ``kind`` is "ok", "abandoned", "reused" or an ``ErrorKind`` value."""
        if kind == REUSED:
            return cls(reused=1, reused_prompt_tokens=prompt_tokens or 0,
                       reused_completion_tokens=completion_tokens or 0)
        counts = {_OUTCOME_FIELD[kind]: 1}
        return cls(
            requests=1,
            retries=1 if attempt > 1 else 0,
            prompt_tokens=prompt_tokens or 0,
            completion_tokens=completion_tokens or 0,
            latency_ms=latency_ms,
            latency_ms_max=latency_ms,
            **counts,
        )

    def __add__(self, other: LLMUsage) -> LLMUsage:
        if not isinstance(other, LLMUsage):
            return NotImplemented
        values = {name: getattr(self, name) + getattr(other, name) for name in _FIELDS}
        values["latency_ms_max"] = max(self.latency_ms_max, other.latency_ms_max)
        return LLMUsage(**values)

    def __radd__(self, other: object) -> LLMUsage:
        if other == 0:  # sum() starts from 0
            return self
        return NotImplemented

    @property
    def rate_limited(self) -> int:
        return self.rate_limited_requests + self.rate_limited_tokens

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def tokens_saved(self) -> int:
        return self.reused_prompt_tokens + self.reused_completion_tokens

    @property
    def new_calls(self) -> int:
        """Calls that went to the network (a call's retries are not calls of their own)."""
        return self.requests - self.retries

    @property
    def reused_percent(self) -> float | None:
        """Share of the calls answered from the ledger, None when there was no call at all."""
        calls = self.reused + self.new_calls
        return round(100 * self.reused / calls, 1) if calls else None

    @property
    def errors(self) -> int:
        """Attempts that got no usable answer for a reason other than a rate limit."""
        return self.quota_errors + self.transient_errors + self.fatal_errors + self.invalid_outputs + self.abandoned

    def to_json(self) -> dict[str, int]:
        """The fields, plus the totals people look for first (``rate_limited``, ``tokens``, reuse's share)."""
        return {**asdict(self), "rate_limited": self.rate_limited, "tokens": self.tokens, "new_calls": self.new_calls,
                "tokens_saved": self.tokens_saved, "reused_percent": self.reused_percent}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> LLMUsage:
        """Read ``to_json()`` back; derived totals and unknown names are ignored, missing ones are 0."""
        data = data or {}
        return cls(**{name: int(data.get(name) or 0) for name in _FIELDS})


_FIELDS = tuple(f.name for f in fields(LLMUsage))  # looked up once: every attempt is added up three times
_OUTCOME_FIELD = {
    OK: "succeeded",
    ABANDONED: "abandoned",
    ErrorKind.RATE_LIMIT_REQUESTS.value: "rate_limited_requests",
    ErrorKind.RATE_LIMIT_TOKENS.value: "rate_limited_tokens",
    ErrorKind.QUOTA.value: "quota_errors",
    ErrorKind.TRANSIENT.value: "transient_errors",
    ErrorKind.FATAL.value: "fatal_errors",
    ErrorKind.CONFIGURATION.value: "fatal_errors",  # refused, not retried: counted with the other refusals
    ErrorKind.REFUSED.value: "fatal_errors",
    ErrorKind.INVALID_OUTPUT.value: "invalid_outputs",
}
