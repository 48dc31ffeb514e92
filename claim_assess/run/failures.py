"""What to do with a claim that came back without an outcome: one pure rule, for every way a claim is lost.

The fleet facade (actors/fleet.py) maps Ray's errors onto ``ClaimError`` at the edge; ``verdict`` decides:

    CANCELLED    the driver cancelled it (a stop)                    -> drop: it stays undecided for a resume
    INTERRUPTED  asyncio cancelled it inside the assessor            -> drop while stopping, else retry
    LOST         its assessor (or the ledger it was writing to)      -> retry on another assessor; a real death
                 died or is restarting                                  counts against the claim, and a claim
                                                                        that killed MAX_DEATHS_PER_CLAIM
                                                                        assessors is a poison pill: FAILED
    QUOTA        the provider says insufficient_quota                -> stop the run (retrying cannot help)
    ERROR        anything else escaped the assessor (a ledger that   -> stop the run, naming it
                 stopped writing, a bug outside the claim)

Retrying is safe: the ledger's idempotency key (run_id:claim_id) keeps a claim to one decision.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MAX_DEATHS_PER_CLAIM = 5


class Lost(enum.Enum):
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    LOST = "lost"
    QUOTA = "quota"
    ERROR = "error"


@dataclass(frozen=True)
class ClaimError:
    kind: Lost
    message: str
    died: bool = False  # a real death of the actor, not "restarting, try later"


class Action(enum.Enum):
    DROP = "drop"
    RETRY = "retry"
    RECORD_FAILED = "record_failed"
    STOP = "stop"


@dataclass(frozen=True)
class Verdict:
    action: Action
    deaths: int = 0  # the claim's deaths so far (for RETRY)
    reason: str = ""  # the FAILED error or the stop reason


def verdict(error: ClaimError, *, deaths: int, stopping: bool) -> Verdict:
    if error.kind is Lost.CANCELLED or (error.kind is Lost.INTERRUPTED and stopping):
        return Verdict(Action.DROP)
    if error.kind is Lost.INTERRUPTED:
        return Verdict(Action.RETRY, deaths)
    if error.kind is Lost.LOST:
        deaths += error.died
        if deaths <= MAX_DEATHS_PER_CLAIM:
            return Verdict(Action.RETRY, deaths)
        return Verdict(Action.RECORD_FAILED, deaths, f"assessors died {deaths} times on this claim: {error.message}")
    return Verdict(Action.STOP, deaths, error.message)
