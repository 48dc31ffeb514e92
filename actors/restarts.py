"""Calling a peer actor through its restart: Ray brings it back, the caller waits a moment, not a claim."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ray.exceptions import RayActorError

T = TypeVar("T")


async def through_restart(call: Callable[[], Awaitable[T]], *, wait_s: float) -> T:
    """``await call()``, retrying with backoff while the actor is dead or restarting, for up to ``wait_s``."""
    deadline = time.monotonic() + wait_s
    delay = 0.1
    while True:
        try:
            return await call()
        except RayActorError:
            if time.monotonic() + delay > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)
