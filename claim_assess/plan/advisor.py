"""The advisor a dry run hands the real pipeline: it notes every prompt it is asked and never calls a model.

Its answers are fixed placeholders that pass the real parsers and change no rule: a coverage answer of
"review" with confidence 0 (an item the rules could not place stays in review) and an assessment of REFER.
So the pipeline runs exactly as in a real run up to the answers, and what it asks is what a run would send.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from claim_assess.claims.prompts import ASSESSMENT_PURPOSE, COVERAGE_PURPOSE, PromptSpec
from claim_assess.llm.limiter import estimate_prompt_tokens

T = TypeVar("T")

PLACEHOLDER_ANSWERS = {
    COVERAGE_PURPOSE: json.dumps({"status": "review", "category": None, "component": None, "confidence": 0,
                                  "reason": "dry run: no model was asked"}),
    ASSESSMENT_PURPOSE: json.dumps({"recommendation": "REFER", "confidence": 0,
                                    "rationale": "dry run: no model was asked", "flags": []}),
}


@dataclass(frozen=True)
class AskedCall:
    """One LLM call a run would make, as the rate limiter would count it."""

    purpose: str  # "coverage" | "assessment"
    prompt_tokens: int
    max_completion_tokens: int


class PlanningAdvisor:
    """An ``Advisor`` for ``claims.pipeline.assess_claim`` that records instead of calling; ``answer`` is the same
    without the coroutine, for ``claims.pipeline.assess_claim_now`` (its answers never wait)."""

    def __init__(self) -> None:
        self._asked: list[AskedCall] = []

    def answer(self, prompt: PromptSpec, parse: Callable[[str], T]) -> T:
        self._asked.append(AskedCall(prompt.purpose, estimate_prompt_tokens(prompt.messages),
                                     prompt.max_completion_tokens))
        return parse(PLACEHOLDER_ANSWERS[prompt.purpose])

    async def ask(self, prompt: PromptSpec, parse: Callable[[str], T]) -> T:
        return self.answer(prompt, parse)

    def take_asked(self) -> tuple[AskedCall, ...]:
        """The calls asked since the last take (one claim's calls, when taken after each claim)."""
        asked, self._asked = tuple(self._asked), []
        return asked
