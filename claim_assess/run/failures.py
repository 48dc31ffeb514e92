"""What to do with a claim that came back without an outcome: one pure rule, for every way a claim is lost.

The fleet facade (actors/fleet.py) maps Ray's errors onto ``ClaimError`` at the edge; ``verdict`` decides:

    CANCELLED    the driver cancelled it (a stop)                    -> drop: it stays undecided for a resume
    INTERRUPTED  asyncio cancelled it inside the assessor            -> drop while stopping, else retry
    LOST         its assessor (or the ledger it was writing to)      -> retry on another assessor; a real death
                 died or is restarting                                  counts against the claim, and a claim
                                                                        that killed MAX_DEATHS_PER_CLAIM
                                                                        assessors is a poison pill: FAILED
    QUOTA        the provider says insufficient_quota                -> stop the run (retrying cannot help)
    REJECTED     the endpoint refuses the run's configuration        -> stop the run (no claim can pass)
                 (401, 403, 404, a 4xx naming a request field)
    UNAVAILABLE  a call gave up on errors not about the claim        -> try the claim again later (at most
                 (unreachable, 5xx, timeouts, an unexplained 4xx)       MAX_UNAVAILABLE_PER_CLAIM times, then
                                                                        it is left undecided); ``EndpointHealth``
                                                                        stops the run when it is several claims
    ERROR        anything else escaped the assessor (a ledger that   -> stop the run, naming it
                 stopped writing, a bug outside the claim)

Retrying is safe: the ledger's idempotency key (run_id:claim_id) keeps a claim to one decision. None of these
writes a FAILED decision except a poison pill: a claim that never had a fair try stays undecided for ``--resume``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MAX_DEATHS_PER_CLAIM = 5
MAX_UNAVAILABLE_PER_CLAIM = 2
# Distinct claims whose calls gave up on the endpoint with no successful call in between: then the endpoint, not a
# blip, is the problem, and the run stops instead of spending every claim's retries on it.
UNAVAILABLE_CLAIMS_TO_STOP = 3


class Lost(enum.Enum):
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    LOST = "lost"
    QUOTA = "quota"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"
    ERROR = "error"


@dataclass(frozen=True)
class ClaimError:
    kind: Lost
    message: str
    died: bool = False  # a real death of the actor, not "restarting, try later"


class Action(enum.Enum):
    DROP = "drop"
    RETRY = "retry"
    REQUEUE = "requeue"  # again, after the claims already waiting (the endpoint failed it: give it time)
    RECORD_FAILED = "record_failed"
    STOP = "stop"


@dataclass(frozen=True)
class Verdict:
    action: Action
    deaths: int = 0  # the claim's deaths so far (for RETRY)
    reason: str = ""  # the FAILED error or the stop reason
    unavailable: int = 0  # how often the endpoint failed the claim so far (for REQUEUE)


def verdict(error: ClaimError, *, deaths: int, stopping: bool, unavailable: int = 0) -> Verdict:
    if error.kind is Lost.CANCELLED or (error.kind in (Lost.INTERRUPTED, Lost.UNAVAILABLE) and stopping):
        return Verdict(Action.DROP)
    if error.kind is Lost.UNAVAILABLE:
        unavailable += 1
        if unavailable <= MAX_UNAVAILABLE_PER_CLAIM:
            return Verdict(Action.REQUEUE, deaths, error.message, unavailable)
        return Verdict(Action.DROP, deaths, error.message, unavailable)  # undecided: a resume tries it again
    if error.kind is Lost.INTERRUPTED:
        return Verdict(Action.RETRY, deaths)
    if error.kind is Lost.LOST:
        deaths += error.died
        if deaths <= MAX_DEATHS_PER_CLAIM:
            return Verdict(Action.RETRY, deaths)
        return Verdict(Action.RECORD_FAILED, deaths, f"assessors died {deaths} times on this claim: {error.message}")
    return Verdict(Action.STOP, deaths, error.message)


class EndpointHealth:
    """Whether the endpoint failing claims is a blip or the run's problem: it is the run's once
    UNAVAILABLE_CLAIMS_TO_STOP distinct claims gave up on it with no successful call in between."""

    def __init__(self, claims_to_stop: int = UNAVAILABLE_CLAIMS_TO_STOP) -> None:
        self._claims_to_stop = claims_to_stop
        self._failed: set[str] = set()

    def answered(self) -> None:
        """A call succeeded: the endpoint works, earlier give-ups were blips."""
        self._failed.clear()

    def gave_up(self, claim_id: str, message: str) -> str | None:
        """The stop reason when this give-up makes it the run's problem, else None."""
        self._failed.add(claim_id)
        if len(self._failed) < self._claims_to_stop:
            return None
        return (f"the endpoint failed {len(self._failed)} claims in a row, with no successful call between, for "
                f"reasons outside the claims; the last: {message}")
