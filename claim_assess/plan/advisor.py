"""The advisor a dry run hands the real pipeline: it notes every prompt it is asked and never calls a model.

Its answers are fixed placeholders that pass the real parsers and change no rule: a coverage answer of
"review" with confidence 0 (an item the rules could not place stays in review) and an assessment of REFER
(so the facts check, asked only of claims paid automatically, is counted by the planner as an upper bound).
So the pipeline runs exactly as in a real run up to the answers, and what it asks is what a run would send.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from claim_assess.claims.prompts import ASSESSMENT_PURPOSE, COVERAGE_PURPOSE, FACTS_CHECK_PURPOSE, PromptSpec
from claim_assess.errors import InvalidOutputError
from claim_assess.llm.attempts import request_body
from claim_assess.llm.limiter import estimate_prompt_tokens
from claim_assess.llm.reuse import ReuseIndex

T = TypeVar("T")

PLACEHOLDER_ANSWERS = {
    COVERAGE_PURPOSE: json.dumps({"status": "review", "category": None, "component": None, "confidence": 0,
                                  "reason": "dry run: no model was asked"}),
    ASSESSMENT_PURPOSE: json.dumps({"recommendation": "REFER", "confidence": 0,
                                    "rationale": "dry run: no model was asked", "flags": []}),
}
# Asked only after a reused assessment approved (--reuse-answers); REFER changes no count that follows.
PLACEHOLDER_ANSWERS[FACTS_CHECK_PURPOSE] = PLACEHOLDER_ANSWERS[ASSESSMENT_PURPOSE]


@dataclass(frozen=True)
class AskedCall:
    """One LLM call a run would make, as the rate limiter would count it."""

    purpose: str  # "coverage" | "assessment" | "facts_check"
    prompt_tokens: int
    max_completion_tokens: int
    reused: bool = False  # --reuse-answers would answer it from the ledger: not sent, no budget




class PlanningAdvisor:
    """An ``Advisor`` for ``claims.pipeline.assess_claim`` that records instead of calling; ``answer`` is the same
    without the coroutine, for ``claims.pipeline.assess_claim_now`` (its answers never wait)."""

    def __init__(self, reuse: ReuseIndex | None = None, model: str = "") -> None:
        self._asked: list[AskedCall] = []
        # With the run's --reuse-answers index, a question asked before gets its recorded answer, as in the run: the
        # questions that follow from it (the assessment after the coverage answers) are then the run's too.
        self._reuse, self._model = (reuse if reuse else None), model

    def answer(self, prompt: PromptSpec, parse: Callable[[str], T]) -> T:
        found = self._reuse.find(self._model, request_body(prompt)) if self._reuse is not None else None
        if found is not None:
            try:
                value = parse(found.response)
            except InvalidOutputError:
                pass  # the run would ask the endpoint too
            else:
                self._asked.append(AskedCall(prompt.purpose, 0, 0, reused=True))
                return value
        self._asked.append(AskedCall(prompt.purpose, estimate_prompt_tokens(prompt.messages),
                                     prompt.max_completion_tokens))
        return parse(PLACEHOLDER_ANSWERS[prompt.purpose])

    async def ask(self, prompt: PromptSpec, parse: Callable[[str], T]) -> T:
        return self.answer(prompt, parse)

    def take_asked(self) -> tuple[AskedCall, ...]:
        """The calls asked since the last take (one claim's calls, when taken after each claim)."""
        asked, self._asked = tuple(self._asked), []
        return asked
