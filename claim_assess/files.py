"""Writing a file so that a crash leaves the old one or the new one, never half of one.

Write to a temporary name beside the target, fsync, then rename over it (rename is atomic on POSIX). Used for
the result files, summary.json and the report; the ledger has its own writer (append-only, fsync before ack).
Append-only JSON-lines files are cut back to their last whole line before they are appended to again.
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


def cut_torn_tail(path: Path, chunk: int = 1 << 16) -> None:
    """Cut the file back to its last whole line (a no-op when it ends with one, or does not exist).

    Why: a driver killed inside the write of a line (kill -9 can cut a write of a few pages short; so can a full
    disk) leaves part of it at the end of an append-only JSON-lines file (the outcome journal, timeline.jsonl).
    Readers ignore that part, but the resume that follows appends to the file: its first line would be glued to
    the part, making a line that is not JSON, and every later read would fail or lose it. For the journal that
    meant a run that could never complete; the outcome cut off is simply assessed again (the ledger's
    idempotency key hands back its decision)."""
    try:
        file = path.open("rb+")
    except FileNotFoundError:
        return
    with file:
        end = file.seek(0, os.SEEK_END)
        position = end
        while position > 0:
            start = max(0, position - chunk)
            file.seek(start)
            block = file.read(position - start)
            if position == end and block.endswith(b"\n"):
                return
            newline = block.rfind(b"\n")
            if newline >= 0:
                file.truncate(start + newline + 1)
                return
            position = start
        file.truncate(0)  # not one whole line: nothing to keep
