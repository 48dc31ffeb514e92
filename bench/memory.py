"""The memory of the engine's process tree, sampled from /proc once a second (Linux only).

Why from the outside: the engine runs as a subprocess with its own local Ray, so its driver and every actor are
processes under it. Each process's ``VmRSS`` gives the series, its ``VmHWM`` the peak; actor processes are
recognised by their Ray process titles (``ray::AssessorActor``, ``ray::assess CLM-...``, ...). "Flat" compares
the median RSS of the last quarter of the samples with that of the second quarter (after warm-up).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import Any


def proc_status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0])  # kB
    except OSError:
        pass
    return out


def _proc_title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: ppid is the 2nd field after it.
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(root: int) -> list[int]:
    children, out, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def role_of(title: str) -> str | None:
    """The run's actor a Ray worker process hosts, from its process title; None for anything else."""
    if not title.startswith("ray::"):
        return None
    # "ray::AssessorActor", "ray::assessor-1:AssessorActor.assess", "ray::LedgerActor.append", ...
    name = title[5:].split(" ")[0].rpartition(":")[2].split(".")[0]
    if name == "assess":  # Ray retitles a worker with the task it runs: "ray::assess CLM-..."
        return "AssessorActor"
    return name if name.endswith("Actor") else None


def mb(kb: float | None) -> float | None:
    return round(kb / 1024, 1) if kb else None


def early_late(series: Sequence[int]) -> tuple[int | None, int | None]:
    """Median RSS over the second quarter of the samples (warm) and over the last quarter (late)."""
    if len(series) < 8:
        return None, None
    q = len(series) // 4

    def median(xs: Sequence[int]) -> int:
        return sorted(xs)[len(xs) // 2]

    return median(series[q: 2 * q]), median(series[-q:])


class MemorySampler:
    """Samples the RSS of a driver process and of the run's actor processes under it, once a second."""

    def __init__(self, root_pid: int, interval_s: float = 1.0) -> None:
        self.root = root_pid
        self.interval_s = interval_s
        self.t0 = time.monotonic()
        self.samples: dict[int, list[tuple[float, int]]] = {}
        self.peaks: dict[int, int] = {}
        self.roles: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample()
            except OSError:
                pass
            self._stop.wait(self.interval_s)

    def sample(self) -> None:
        now = time.monotonic() - self.t0
        for pid in descendants(self.root):
            role = "driver" if pid == self.root else role_of(_proc_title(pid))
            if role is None:
                continue
            if self.roles.get(pid) in (None, "IDLE"):
                self.roles[pid] = role
            status = proc_status(pid)
            if "VmRSS" in status:
                self.samples.setdefault(pid, []).append((now, status["VmRSS"]))
            if "VmHWM" in status:
                self.peaks[pid] = max(self.peaks.get(pid, 0), status["VmHWM"])

    def report(self, driver_maxrss_kb: int | None) -> dict[str, Any]:
        """Every sampled process, and per role the one that grew most (the one "flat" is judged on)."""
        processes = [self._process(pid, role, driver_maxrss_kb)
                     for pid, role in sorted(self.roles.items(), key=lambda kv: (kv[1], kv[0]))]
        roles: dict[str, dict[str, Any]] = {}
        for p in processes:
            worst = roles.get(p["role"])
            if worst is None or (p["late_over_early"] or 0) > (worst["late_over_early"] or 0):
                roles[p["role"]] = {k: p[k] for k in ("peak_rss_mb", "early_rss_mb", "late_rss_mb", "late_over_early")}
        return {"processes": processes, "roles": roles, "interval_s": self.interval_s,
                "driver_maxrss_mb": mb(driver_maxrss_kb)}

    def _process(self, pid: int, role: str, driver_maxrss_kb: int | None) -> dict[str, Any]:
        series = [rss for _, rss in self.samples.get(pid, [])]
        early, late = early_late(series)
        peak = self.peaks.get(pid, max(series, default=0))
        if role == "driver" and driver_maxrss_kb:
            peak = max(peak, driver_maxrss_kb)  # exact, from wait4()'s rusage
        return {"pid": pid, "role": role, "samples": len(series), "peak_rss_mb": round(peak / 1024, 1),
                "early_rss_mb": mb(early), "late_rss_mb": mb(late),
                "late_over_early": round(late / early, 3) if early and late else None}
