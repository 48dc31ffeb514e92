"""The replay's advisor: answers each question the rules ask from the recorded calls the decision cites.

No network and no LLM client: a question (a ``PromptSpec``) is matched to the cited attempts of its purpose and line
item, every one of which must have sent exactly the request this prompt makes now (``llm.attempts.recorded_request``,
the same body the client sends); otherwise the evidence does not support the decision and replay says so rather
than guessing. The recorded outcome of the call is then given back as the client gave it: the parsed answer of a
successful attempt, InvalidOutputError when the last attempt's answer broke the schema, LLMCallError when the endpoint
refused the request's content (what else ends a call without an answer leaves no decision, so it is never cited).

What-if's advisor (``AssumedAnswers``) matches questions to attempts the same way and gives back the same recorded
outcomes, but tolerates a request that differs (the answer is then assumed, and said so) and never calls out for a
question no attempt answers. Both share ``_CitedCalls`` and ``_outcome``: one piece of code where the logic is one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from claim_assess.errors import EvidenceMissing, InvalidOutputError, LLMCallError
from claim_assess.llm.attempts import answered, recorded_request, request_body

T = TypeVar("T")
_INVALID_OUTPUT = "invalid output"  # how the client's record of an attempt with an invalid answer begins
_FORMATS: dict[str, Any] = {}  # schema name -> its response_format as recorded (plain JSON), built once


def _response_format(prompt: Any) -> Any:
    # The schemas are constants of the prompts module; messages are plain strings, so with this plain copy the whole
    # request compares equal to the parsed record without a deep walk per question.
    found = _FORMATS.get(prompt.schema_name)
    if found is None:
        found = _FORMATS[prompt.schema_name] = recorded_request(prompt)["response_format"]
    return found


def _outcome(last: Mapping[str, Any], parse: Callable[[str], T]) -> T:
    """The recorded outcome of a call (its last attempt), given back as the client gave it."""
    if answered(last):
        return parse(last["response"])
    if str(last["error"] or "").startswith(_INVALID_OUTPUT):  # the client gave up on invalid answers
        raise InvalidOutputError(f"recorded: {last['error']}")
    raise LLMCallError(f"recorded: {last['error']}", last["status"])


class _CitedCalls:
    """One decision's cited attempts, by (purpose, line item); each question takes its attempts once."""

    def __init__(self, calls: list[dict[str, Any]]) -> None:
        self._calls: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        for call in calls:  # citation order: a call's attempts stay in the order they were made
            self._calls.setdefault((call["purpose"], call["item_id"]), []).append(call)

    def _take(self, prompt: Any) -> tuple[list[dict[str, Any]] | None, str, Any]:
        """(the attempts answering ``prompt`` or None, how to name the question, the request it makes now)."""
        attempts = self._calls.pop((prompt.purpose, prompt.item_id), None)
        what = f"the {prompt.purpose} question" + (f" for line item {prompt.item_id}" if prompt.item_id else "")
        return attempts, what, request_body(prompt, _response_format(prompt))

    def unasked(self) -> list[dict[str, Any]]:
        """The cited attempts no question took (a line item the rules now place without the model)."""
        return [call for attempts in self._calls.values() for call in attempts]


class RecordedAnswers(_CitedCalls):
    """``answer(prompt, parse)`` for ``claims.pipeline.assess_claim_now``, from one decision's cited calls."""

    def __init__(self, calls: list[dict[str, Any]]) -> None:
        super().__init__(calls)
        self.asked: list[str] = []  # call_ids of the attempts the rules' questions used, in question order

    def __call__(self, prompt: Any, parse: Callable[[str], T]) -> T:
        attempts, what, request = self._take(prompt)
        if not attempts:
            raise EvidenceMissing(f"the decision cites no call answering {what}")
        for call in attempts:
            if call["request"] != request:
                raise EvidenceMissing(f"cited call {call['call_id']} sent another request than {what} makes now")
        self.asked.extend(call["call_id"] for call in attempts)
        return _outcome(attempts[-1], parse)


@dataclass(frozen=True)
class AskedQuestion:
    """What-if: one question the rules asked and how it was answered."""

    purpose: str
    item_id: str | None
    call_id: str | None  # the recorded attempt whose answer was used; None when there is none
    how: str  # EXACT, ASSUMED or NEEDS_NEW_CALL


EXACT, ASSUMED, NEEDS_NEW_CALL = "exact", "assumed", "needs_new_call"


class AssumedAnswers(_CitedCalls):
    """What-if's advisor: the recorded answer of each question's purpose and line item, never a new call.

    A question whose request is byte-identical to the recorded one is answered exactly. One whose request differs
    (the assessment prompt shows the payout, so a changed deductible changes it) gets the recorded answer all the
    same: the model's judgement is held constant, and the question is noted as ASSUMED. A question no recorded
    call answers (a line item the rules placed before and now leave to the model) cannot be answered without the
    model: it is noted as NEEDS_NEW_CALL and raises EvidenceMissing, which ends the claim's assessment (the pipeline
    lets it through, as replay relies on)."""

    def __init__(self, calls: list[dict[str, Any]]) -> None:
        super().__init__(calls)
        self.questions: list[AskedQuestion] = []

    def __call__(self, prompt: Any, parse: Callable[[str], T]) -> T:
        attempts, what, request = self._take(prompt)
        if not attempts:
            self.questions.append(AskedQuestion(prompt.purpose, prompt.item_id, None, NEEDS_NEW_CALL))
            raise EvidenceMissing(f"no recorded call answers {what}: it needs a new call")
        last = attempts[-1]
        how = EXACT if last["request"] == request else ASSUMED
        self.questions.append(AskedQuestion(prompt.purpose, prompt.item_id, last["call_id"], how))
        return _outcome(last, parse)
