"""The ceiling's yardstick: a bare asyncio openai client, one process, replaying the engine's own requests.

What it sends: the ``request`` of every successful attempt in the engine run's ledger (``llm_calls.jsonl``), in
the order the engine made them: the same prompts, ``response_format`` and ``max_completion_tokens``, so the
simulator does the same work per request for both and the ratio measures the engine's overhead alone. No
limiter, no ledger, no retries (``max_retries=0``): ``concurrency`` coroutines share one ``openai.AsyncOpenAI``
and each takes the next body as soon as its last one came back. A request counts as a success when it returned
a completion with content; a bare client validates nothing more.

Why a subprocess of its own (``python -m claim_assess.bench.bare_client``): the bench serves the simulator from a
thread of its own process, so a client in that process would share the simulator's GIL and be slowed by it; the
engine's processes share nothing with the simulator either. ``measure`` runs it after the engine has exited,
against the same simulator, never beside it (both share the machine's cores).

The rate the bench judges is read, like the engine's, from the simulator's per-second counts over the steady
window (``bench.measure``; ``per_second_since`` takes the engine's counts out); the client's own count over its wall
time is reported beside it as a cross-check. It runs at the niceness Ray gives its workers (``--nice``, 15), so
other load on the machine slows both clients alike; the engine's driver and the simulator run at 0 either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Enough to keep the simulator busy: on 2 cores against the zero-latency simulator 16 gave 218 req/s, 64 gave 203
# and 128 gave 162 (more connections cost the client and the server more than they hide).
DEFAULT_CONCURRENCY = 16
RAY_WORKER_NICENESS = 15  # what Ray's raylet gives every worker (RAY_worker_niceness), the assessors included
REQUEST_KEYS = ("messages", "response_format", "max_completion_tokens", "temperature")
TIMEOUT_S = 60.0
KEY_VARIABLE = "BARE_CLIENT_API_KEY"  # the key goes by environment, never on a command line


@dataclass(frozen=True)
class BareResult:
    requests: int
    successes: int
    errors: int
    wall_s: float  # first request sent .. last answer received
    concurrency: int
    first_error: str | None = None

    @property
    def successes_per_s(self) -> float | None:
        return self.successes / self.wall_s if self.wall_s > 0 else None

    def to_json(self) -> dict[str, Any]:
        rate = self.successes_per_s
        return asdict(self) | {"client_successes_per_s": None if rate is None else round(rate, 1)}


def request_bodies(calls_file: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The request body of every successful attempt in a ledger's llm_calls.jsonl, in ledger order."""
    bodies: list[dict[str, Any]] = []
    with open(calls_file, encoding="utf-8") as f:
        for line in f:
            if limit is not None and len(bodies) >= limit:
                break
            record = json.loads(line)
            if record.get("status") == 200 and isinstance(record.get("request"), dict):
                bodies.append({k: record["request"][k] for k in REQUEST_KEYS if k in record["request"]})
    return bodies


async def replay(bodies: Sequence[dict[str, Any]], *, base_url: str, api_key: str, model: str,
                 concurrency: int = DEFAULT_CONCURRENCY, clock: Callable[[], float] = time.monotonic) -> BareResult:
    """Send every body once through one AsyncOpenAI, ``concurrency`` at a time; what came back."""
    import openai  # here: the module's CLI parses its flags without it

    counts = {"successes": 0, "errors": 0}
    first_error: list[str] = []
    work: Iterator[dict[str, Any]] = iter(bodies)  # shared: each worker takes the next body

    async def worker(client: openai.AsyncOpenAI) -> None:
        for body in work:
            try:
                completion = await client.chat.completions.create(model=model, **body)
                ok = bool(completion.choices and completion.choices[0].message.content)
                why = None if ok else "empty completion"
            except openai.APIError as exc:
                ok, why = False, f"{type(exc).__name__}: {exc}"
            counts["successes" if ok else "errors"] += 1
            if why and not first_error:
                first_error.append(why[:300])

    async with openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=TIMEOUT_S) as client:
        started = clock()
        await asyncio.gather(*(worker(client) for _ in range(max(1, min(concurrency, len(bodies))))))
        wall = clock() - started
    return BareResult(requests=len(bodies), successes=counts["successes"], errors=counts["errors"],
                      wall_s=round(wall, 3), concurrency=concurrency,
                      first_error=first_error[0] if first_error else None)


def per_second_since(after: Sequence[Mapping[str, int]], before: Sequence[Mapping[str, int]]) -> list[dict[str, int]]:
    """The simulator's per-second counts of what it served between two ``/stats`` snapshots (exact per second, even
    in a second both runs touched); seconds with nothing new are left out."""
    earlier = {p["t"]: p for p in before}
    out = []
    for p in after:
        was = earlier.get(p["t"], {})
        counts = {k: v - was.get(k, 0) for k, v in p.items() if k != "t"}
        if any(counts.values()):
            out.append({"t": p["t"], **counts})
    return out


def run_bare(calls_file: Path, *, base_url: str, api_key: str, model: str, concurrency: int = DEFAULT_CONCURRENCY,
             limit: int | None = None, nice: int = RAY_WORKER_NICENESS, cwd: Path | None = None,
             timeout_s: float = 45 * 60) -> BareResult:
    """``replay`` in a subprocess of its own (see the module docstring); its result, read back from its stdout."""
    cmd = [sys.executable, "-m", "claim_assess.bench.bare_client", "--calls", str(calls_file), "--base-url", base_url,
           "--model", model, "--concurrency", str(concurrency), "--nice", str(nice)]
    if limit is not None:
        cmd += ["--limit", str(limit)]
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"} | {KEY_VARIABLE: api_key}
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"bare client exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return BareResult(**json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m claim_assess.bench.bare_client",
                                description="Replay a ledger's successful requests with a bare AsyncOpenAI client.")
    p.add_argument("--calls", required=True, help="a ledger's llm_calls.jsonl")
    p.add_argument("--base-url", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    p.add_argument("--limit", type=int, help="replay at most this many requests")
    p.add_argument("--nice", type=int, default=0, help="lower this process's priority by this much first")
    args = p.parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    bodies = request_bodies(Path(args.calls), args.limit)  # read before the clock starts
    result = asyncio.run(replay(bodies, base_url=args.base_url, api_key=os.environ.get(KEY_VARIABLE, "sim"),
                                model=args.model, concurrency=args.concurrency))
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
