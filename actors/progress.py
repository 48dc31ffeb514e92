"""ProgressActor: the run's progress board (``claim_assess.run.progress.ProgressBoard``) as a Ray actor.

Nothing to add to the plain class: Ray's ``remote`` wraps it at start-up, the way ``ray.util.queue`` wraps its
``_QueueActor``. It has a name of its own so the dashboard shows what it is.
"""

from __future__ import annotations

from claim_assess.run.progress import ProgressBoard


class ProgressActor(ProgressBoard):
    pass
