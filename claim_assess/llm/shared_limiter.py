"""SharedLimiterClient: the ``Limiter`` protocol over a limiter shared by the whole fleet, reached by message.

In an assessor, ``reserve`` and ``settle`` are calls to the ``rate-limiter`` actor; here they are plain async
callables, so this logic runs and is tested without Ray. The shared limiter never sleeps: ``reserve`` books
budget and says how long to wait, and this client does the waiting, on the caller's side.

While the limiter has no limit to enforce (none given, none learned yet, no 429 pause), asking it before every
attempt would cost two round trips per request for nothing. So after an "unlimited" answer the client skips
the ask for up to ``recheck_s``, and reports back only what the limiter can learn from: a 429 (or another 4xx,
which may stop the fleet), or rate-limit
headers (which teach it the limits). A limit learned or a 429 seen by any assessor therefore reaches every
assessor within that interval. When the interval runs out, one attempt asks (the probe) and the attempts that want
to go meanwhile wait for its answer instead of each asking too: at a few hundred requests per second an assessor
would otherwise send a burst of asks (and settles) every interval, each an actor round trip. If the probe finds a
limit, each waiting attempt then books its own reservation, as every attempt does while limits are enforced.

Until the limiter has heard from the provider, its delays are provisional (``Reservation.recheck_s``): the first
answer may show a full bucket (a fresh key may spend a minute's budget at once). A caller told to wait longer than
that sleeps in steps and asks again (``recheck``), so the requests booked in the first moments do not wait out a
conservative schedule the provider never asked for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from claim_assess.llm.limiter import AttemptOutcome, Permit
from claim_assess.llm.ratelimit import Reservation

UNLIMITED_RECHECK_S = 0.5
LOCAL_PERMIT = "local"


class SharedLimiterClient:
    pauses_on_429 = True  # a 429 pauses the shared budget for the whole fleet (llm.budget)

    def __init__(
        self,
        reserve: Callable[[int], Awaitable[Reservation]],
        settle: Callable[[Permit, AttemptOutcome], None],
        *,
        recheck: Callable[[Permit], Awaitable[Reservation]] | None = None,
        on_inflight: Callable[[int], None] = lambda count: None,
        recheck_s: float = UNLIMITED_RECHECK_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._reserve, self._settle, self._recheck = reserve, settle, recheck
        self._on_inflight = on_inflight
        self._recheck_s = recheck_s
        self._clock, self._sleep = clock, sleep
        self._inflight = 0
        self._unlimited_until = float("-inf")
        self._probe: asyncio.Future[None] | None = None  # an ask under way while nothing was known to be enforced
        self._limited = False  # the last answer enforced something: every attempt asks, none waits for another's

    async def acquire(self, tokens: int) -> Permit:
        while self._probe is not None and self._clock() >= self._unlimited_until:
            await asyncio.shield(self._probe)  # its answer decides for us too (shielded: we may be cancelled)
        if self._clock() < self._unlimited_until:
            permit = Permit(permit_id=LOCAL_PERMIT, tokens=tokens)
        else:
            reservation = await (self._reserve(tokens) if self._limited else self._ask_first(tokens))
            self._limited = not reservation.unlimited
            if reservation.unlimited:
                self._unlimited_until = self._clock() + self._recheck_s
            await self._wait(reservation)
            permit = reservation.permit
        self._inflight += 1
        self._on_inflight(self._inflight)
        return permit

    async def _ask_first(self, tokens: int) -> Reservation:
        """Ask as the probe: attempts that want to go meanwhile wait for this answer rather than ask too."""
        probe = self._probe = asyncio.get_running_loop().create_future()
        try:
            return await self._reserve(tokens)
        finally:
            # An answer, an error or a cancellation: the waiting attempts go on, and ask for themselves unless
            # the answer reopened the shortcut.
            self._probe = None
            probe.set_result(None)

    async def _wait(self, reservation: Reservation) -> None:
        # A request that had to wait asks again before it goes: a 429 heard meanwhile paused the budget, and a
        # request booked before it would otherwise be sent into a spent window. While the limiter has not heard
        # from the provider yet, a long wait is slept in short steps, asking after each: the first answer may show
        # budget that makes it unnecessary.
        while reservation.delay_s > 0:
            if self._recheck is None:
                await self._sleep(reservation.delay_s)
                return
            step = reservation.delay_s if reservation.recheck_s is None else min(reservation.delay_s,
                                                                                  reservation.recheck_s)
            await self._sleep(step)
            reservation = await self._recheck(reservation.permit)

    async def release(self, permit: Permit, outcome: AttemptOutcome) -> None:
        self._inflight -= 1
        self._on_inflight(self._inflight)
        # A 4xx may be a refusal of the run's configuration, which the limiter turns into a fleet-wide stop.
        refused = isinstance(outcome.status, int) and 400 <= outcome.status < 500
        teaches = refused or any(name.startswith("x-ratelimit-") for name in outcome.headers)
        if teaches:
            self._unlimited_until = float("-inf")  # ask again next time: the answer may have changed
        elif permit.permit_id == LOCAL_PERMIT:
            return  # nothing was booked and there is nothing to learn
        self._settle(permit, outcome)
