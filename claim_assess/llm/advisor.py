"""The claims pipeline's ``Advisor`` for one claim: asks the model and keeps that claim's attempts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from claim_assess.llm.accounting import LLMUsage
from claim_assess.llm.attempts import AttemptRecord

if TYPE_CHECKING:  # only the assessor that builds the client imports openai (see actors.assessor)
    from claim_assess.llm.client import LLMClient, PromptLike

T = TypeVar("T")


class ClaimAdvisor:
    """Asks through a shared ``LLMClient`` on behalf of one claim.

    Coverage calls of a claim run concurrently, so attempts are appended as they finish; the
    order is that of completion, which is the order the ledger needs (each record exists before
    the decision that cites it).
    """

    def __init__(
        self,
        client: LLMClient,
        *,
        run_id: str,
        claim_id: str,
        on_attempt: Callable[[AttemptRecord], None] | None = None,
    ) -> None:
        self._client = client
        self.run_id = run_id
        self.claim_id = claim_id
        self._on_attempt = on_attempt  # e.g. live progress: told of each attempt as it ends
        self._attempts: list[AttemptRecord] = []
        self._usage = LLMUsage()

    async def ask(self, prompt: PromptLike, parse: Callable[[str], T]) -> T:
        try:
            return await self._client.ask(prompt, parse, run_id=self.run_id, claim_id=self.claim_id,
                                          record=self._record)
        except BaseException:
            self._usage += LLMUsage(failed_calls=1)
            raise

    def _record(self, attempt: AttemptRecord) -> None:
        self._attempts.append(attempt)
        self._usage += attempt.usage
        if self._on_attempt is not None:
            self._on_attempt(attempt)

    @property
    def attempts(self) -> tuple[AttemptRecord, ...]:
        return tuple(self._attempts)

    @property
    def usage(self) -> LLMUsage:
        """This claim's attempts, their tokens and latency, and its calls that ended without an answer."""
        return self._usage
