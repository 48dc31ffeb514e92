"""python -m drivers.bench faults: the soak — claims under simulator faults while actors are being killed.

500 claims (by default) against the built-in simulator with 5 % 5xx, 2 % hangs past the client timeout,
2 % dropped connections and 2 % invalid JSON, while a chaos thread kills a random assessor every few
seconds and the ledger actor once. This process is the driver (``drivers.assess.main`` in a thread on
a local Ray bound to 127.0.0.1), so the chaos thread can reach the run's named actors.

It prints and writes (bench/faults_results.json): claims decided, duplicates (claims with more than one
non-FAILED decision), lost acknowledged decisions (decisions seen durable in the ledger file during the
run that are missing at the end), FAILED claims, kills, wall time, and the ledger verification.
Targets: 500 of 500 decided, 0 duplicates, 0 lost, ledger verifies.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from claim_assess.drivers.options import EXIT_FAILED, EXIT_OK, EXIT_USAGE, command_parser, positive_int
from claim_assess.ledger.filestore import DECISIONS_FILE
from claim_assess.run.workspace import Workspace

# Unlike the benchmark's engine runs, the soak starts Ray in this very process (before the engine, so the chaos
# thread can reach the run's actors), so it binds Ray to loopback itself, as the engine does on a local run. Ray
# reads this once, at import: hence here, before anything imports ray.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

RUN_ID = "soak"


def _decisions(workspace: Path, run_id: str) -> list[dict]:
    """The run's decision records durable in the ledger file right now (a batch half-written is not yet)."""
    path = Workspace(workspace).ledger_dir / DECISIONS_FILE
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break  # a batch being written right now
        record = json.loads(line)
        if record["run_id"] == run_id:
            out.append(record)
    return out


class Chaos(threading.Thread):
    """Kills a random assessor every ``every_s`` seconds and the ledger once, until told to stop."""

    def __init__(self, namespace: str, actors: int, every_s: float, ledger_at_s: float, seed: int):
        super().__init__(daemon=True)
        self.namespace, self.actors, self.every_s, self.ledger_at_s = namespace, actors, every_s, ledger_at_s
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.kills: Counter[str] = Counter()

    def _kill(self, name: str) -> None:
        import ray

        try:
            ray.kill(ray.get_actor(name, namespace=self.namespace), no_restart=False)
            self.kills[name.split("-")[0]] += 1
        except ValueError:
            pass  # not started yet, or restarting: try again next round

    def run(self) -> None:
        started = time.monotonic()
        ledger_killed = False
        while not self.stop.wait(self.every_s):
            self._kill(f"assessor-{self.rng.randint(1, self.actors)}")
            if not ledger_killed and time.monotonic() - started >= self.ledger_at_s:
                self._kill("ledger")
                ledger_killed = "ledger" in self.kills


def run_soak(*, claims: int, actors: int, every_s: float, seed: int, workdir: Path) -> dict:
    import ray

    from claim_assess.claims.synthetic import generate, write_dataset
    from claim_assess.simulator.server import SimulatorConfig, start_simulator

    data_dir, workspace = workdir / "data", workdir / "ws"
    data = generate(claims, seed=seed)
    write_dataset(data, data_dir)
    sim_config = SimulatorConfig(
        latency_median_ms=200, latency_p95_ms=600, rate_5xx=0.05, rate_hang=0.02, rate_drop=0.02,
        rate_invalid_json=0.02, hang_s=12.0, seed=seed,
    )
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="soak")
    try:
        with start_simulator(sim_config) as simulator:
            os.environ.setdefault("OPENAI_API_KEY", "sim-soak-key")
            chaos = Chaos(f"claim-assess.{RUN_ID}", actors, every_s, ledger_at_s=4 * every_s, seed=seed)
            started = time.monotonic()
            code, acknowledged = _drive(simulator.url, data_dir, workspace, actors, chaos)
            wall = time.monotonic() - started
            sim_stats = simulator.stats()
    finally:
        ray.shutdown()
    counts = _tally({c["claim_id"] for c in data.claims}, _decisions(workspace, RUN_ID), acknowledged)
    verified = _ledger_verifies(workspace)
    replay = _replayed(workspace, data_dir)
    return {
        "claims": claims,
        **counts,
        "driver_exit": code,
        "kills": dict(chaos.kills),
        "wall_seconds": round(wall, 1),
        "ledger_verifies": verified,
        "replay": replay,
        "simulator_faults": sim_stats.get("faults", {}),
        "targets_met": counts["decided"] == claims and not counts["failed"] and not counts["duplicates"]
        and not counts["lost_acknowledged"] and verified and replay["ok"],
    }


def _drive(base_url: str, data_dir: Path, workspace: Path, actors: int, chaos: Chaos) -> tuple[int | None, set[str]]:
    """The engine's driver in a thread while the chaos runs; its exit code and the decisions acknowledged."""
    from claim_assess.drivers import assess

    result: dict = {}
    driver = threading.Thread(
        target=lambda: result.update(code=assess.main(
            ["--llm", "openai", "--base-url", base_url, "--model", "sim-gpt", "--timeout", "5",
             "--input", str(data_dir), "--workspace", str(workspace), "--run", RUN_ID,
             "--actors", str(actors), "--quiet", "--no-dashboard", "--no-preflight"])),  # faults are the claims' to meet
        daemon=True,
    )
    acknowledged: set[str] = set()
    driver.start()
    chaos.start()
    while driver.is_alive():
        driver.join(timeout=1.0)
        # Whatever is durable in the ledger now is acknowledged and must survive to the end.
        acknowledged |= {d["idempotency_key"] for d in _decisions(workspace, RUN_ID) if d["decision"] != "FAILED"}
    chaos.stop.set()
    return result.get("code"), acknowledged


def _ledger_verifies(workspace: Path) -> bool:
    from claim_assess.drivers import verify

    with open(os.devnull, "w") as devnull:
        return verify.main(["--workspace", str(workspace), "--json"], out=devnull) == 0


def _replayed(workspace: Path, data_dir: Path) -> dict:
    """Every decision of the soak re-derived from its evidence (``verify --replay``): the faults and kills must leave
    decisions that follow from their recorded calls like any others."""
    from claim_assess.claims.dataset import open_dataset
    from claim_assess.replay.replay import replay_ledger

    report = replay_ledger(workspace / "ledger", open_dataset(data_dir), run_id=RUN_ID)
    return {"ok": report.ok, "checked": report.checked, "counts": dict(report.counts)}


def _tally(claim_ids: set[str], final: list[dict], acknowledged: set[str]) -> dict[str, int]:
    """Claims decided, decided twice, FAILED only, and acknowledged decisions missing from the ledger at the end."""
    decided = Counter(d["claim_id"] for d in final if d["decision"] != "FAILED")
    keys_final = {d["idempotency_key"] for d in final if d["decision"] != "FAILED"}
    return {
        "decided": len(set(decided) & claim_ids),
        "duplicates": sum(1 for n in decided.values() if n > 1),
        "lost_acknowledged": len(acknowledged - keys_final),
        "failed": len({d["claim_id"] for d in final} - set(decided)),
    }


def render(report: dict) -> Table:
    table = Table(title="Soak: faults + killed actors", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    rows = [
        ("claims decided", f"{report['decided']} of {report['claims']}", f"{report['claims']} of {report['claims']}"),
        ("duplicates", str(report["duplicates"]), "0"),
        ("lost acknowledged decisions", str(report["lost_acknowledged"]), "0"),
        ("FAILED claims", str(report["failed"]), "0"),
        ("ledger verifies", "yes" if report["ledger_verifies"] else "NO", "yes"),
        ("decisions replayed from their evidence", f"{report['replay']['counts'].get('reproduced', 0)} of "
         f"{report['replay']['checked']} reproduced", "all"),
        ("actors killed", ", ".join(f"{k} {v}" for k, v in sorted(report["kills"].items())) or "none", ""),
        ("simulator faults", ", ".join(f"{k} {v}" for k, v in sorted(report["simulator_faults"].items())), ""),
        ("wall time", f"{report['wall_seconds']} s", ""),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "bench faults", __doc__.split("\n\n")[0].partition(": ")[2],
        exit_codes=[(EXIT_OK, "every target met: all claims decided, no duplicate, none lost, the ledger verifies, "
                                  "every decision replays"),
                    (EXIT_FAILED, "a target was missed"), (EXIT_USAGE, "bad usage")],
        example="claim-assess bench faults --claims 200 --kill-every 2",
    )
    parser.add_argument("--claims", type=positive_int("--claims"), default=500)
    parser.add_argument("--actors", type=positive_int("--actors"), default=4)
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between assessor kills")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", default="bench/faults_results.json")
    parser.add_argument("--workdir", help="where the dataset and workspace go (default: a temporary directory)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        report = run_soak(claims=args.claims, actors=args.actors, every_s=args.kill_every, seed=args.seed,
                          workdir=workdir)
    Console().print(render(report))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return EXIT_OK if report["targets_met"] else EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
