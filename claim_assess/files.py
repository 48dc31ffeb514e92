"""Writing a file so that a crash leaves the old one or the new one, never half of one.

Write to a temporary name beside the target, fsync, then rename over it (rename is atomic on POSIX). Used for
the result files, summary.json and the report; the ledger has its own writer (append-only, fsync before ack).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path


def _temp_for(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp-{os.getpid()}")


def _publish(tmp: Path, target: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)


@contextmanager
def replacing(*targets: Path) -> Iterator[list[Path]]:
    """Temporary paths for ``targets``; when the block ends without an error, each replaces its target."""
    temps = [_temp_for(Path(t)) for t in targets]
    with ExitStack() as cleanup:
        for temp in temps:
            cleanup.callback(lambda temp=temp: temp.unlink(missing_ok=True))
        yield temps
        for temp, target in zip(temps, targets, strict=True):
            _publish(temp, Path(target))


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Replace ``target`` with ``text`` (UTF-8) atomically; creates the directory if needed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with replacing(target) as (tmp,):
        tmp.write_text(text, encoding="utf-8")
    return target
