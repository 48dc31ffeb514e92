"""Which assessor gets the next claim: the least loaded of those known to be alive.

After an assessor is lost, Ray restarts it, and a claim sent to it meanwhile fails at once with "the
actor is restarting". So a lost assessor is taken out of rotation and pinged; it comes back when it
answers. Without this, the least-loaded assessor (the one that just lost all its claims) would eat
every retry within milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ray
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

ACTOR_LOST = (ActorDiedError, ActorUnavailableError, RayActorError)


@dataclass
class _Assessor:
    handle: object
    load: int = 0
    healthy: bool = True
    ping: ray.ObjectRef | None = field(default=None)
    fixed_name: object = None  # ``assess.options(name="assess")``, made once: options() costs on every claim


class Dispatcher:
    def __init__(self, handles: list, per_claim_task_names: bool = True):
        self._assessors = [_Assessor(handle) for handle in handles]
        self._per_claim_names = per_claim_task_names
        self._pings: dict[ray.ObjectRef, int] = {}

    def pick(self) -> int | None:
        """The least-loaded healthy assessor, or None while every one is restarting."""
        healthy = [i for i, a in enumerate(self._assessors) if a.healthy]
        return min(healthy, key=lambda i: self._assessors[i].load) if healthy else None

    def submit(self, index: int, entry) -> ray.ObjectRef:
        assessor = self._assessors[index]
        assessor.load += 1
        # Ray keeps bookkeeping per distinct task name in the driver (about 11 KB each, measured), so a
        # name per claim is for runs small enough to read in the dashboard; large runs use one name.
        if self._per_claim_names:
            return assessor.handle.assess.options(name=f"assess {entry.claim_id}").remote(entry)
        if assessor.fixed_name is None:
            assessor.fixed_name = assessor.handle.assess.options(name="assess")
        return assessor.fixed_name.remote(entry)

    def finished(self, index: int) -> None:
        self._assessors[index].load -= 1

    def lost(self, index: int) -> None:
        """An assessor failed a claim because it died or is restarting: ping it until it answers."""
        assessor = self._assessors[index]
        if assessor.healthy or assessor.ping is None:
            assessor.healthy = False
            self._ping(index)

    def _ping(self, index: int) -> None:
        ref = self._assessors[index].handle.name.remote()
        self._assessors[index].ping = ref
        self._pings[ref] = index

    @property
    def pings(self) -> list[ray.ObjectRef]:
        return list(self._pings)

    def answered(self, ref: ray.ObjectRef) -> None:
        """A ping resolved: the assessor is back, or still restarting (then ping again)."""
        index = self._pings.pop(ref)
        try:
            ray.get(ref)
        except ACTOR_LOST:
            self._ping(index)
            return
        self._assessors[index].healthy = True
        self._assessors[index].ping = None
