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
from pathlib import Path

from rich.console import Console
from rich.table import Table

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def _decisions(workspace: Path, run_id: str) -> list[dict]:
    path = workspace / "ledger" / "decisions.jsonl"
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
    from claim_assess.drivers import assess, verify
    from claim_assess.simulator.server import SimulatorConfig, start_simulator

    data_dir, workspace, run_id = workdir / "data", workdir / "ws", "soak"
    data = generate(claims, seed=seed)
    write_dataset(data, data_dir)
    claim_ids = {c["claim_id"] for c in data.claims}
    sim_config = SimulatorConfig(
        latency_median_ms=200, latency_p95_ms=600, rate_5xx=0.05, rate_hang=0.02, rate_drop=0.02,
        rate_invalid_json=0.02, hang_s=12.0, seed=seed,
    )
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="soak")
    acknowledged: set[str] = set()
    try:
        with start_simulator(sim_config) as simulator:
            os.environ.setdefault("OPENAI_API_KEY", "sim-soak-key")
            result: dict = {}
            driver = threading.Thread(
                target=lambda: result.update(code=assess.main(
                    ["--llm", "openai", "--base-url", simulator.url, "--model", "sim-gpt", "--timeout", "5",
                     "--input", str(data_dir), "--workspace", str(workspace), "--run-id", run_id,
                     "--actors", str(actors), "--quiet", "--no-dashboard"])),
                daemon=True,
            )
            chaos = Chaos(f"claim-assess.{run_id}", actors, every_s, ledger_at_s=4 * every_s, seed=seed)
            started = time.monotonic()
            driver.start()
            chaos.start()
            while driver.is_alive():
                driver.join(timeout=1.0)
                # Whatever is durable in the ledger now is acknowledged and must survive to the end.
                acknowledged |= {d["idempotency_key"] for d in _decisions(workspace, run_id) if d["decision"] != "FAILED"}
            chaos.stop.set()
            wall = time.monotonic() - started
            sim_stats = simulator.stats()
    finally:
        ray.shutdown()
    final = _decisions(workspace, run_id)
    decided = Counter(d["claim_id"] for d in final if d["decision"] != "FAILED")
    failed_only = {d["claim_id"] for d in final} - set(decided)
    keys_final = {d["idempotency_key"] for d in final if d["decision"] != "FAILED"}
    verified = verify.main(["--workspace", str(workspace), "--json"], out=open(os.devnull, "w")) == 0
    return {
        "claims": claims,
        "decided": len(set(decided) & claim_ids),
        "duplicates": sum(1 for n in decided.values() if n > 1),
        "lost_acknowledged": len(acknowledged - keys_final),
        "failed": len(failed_only),
        "driver_exit": result.get("code"),
        "kills": dict(chaos.kills),
        "wall_seconds": round(wall, 1),
        "ledger_verifies": verified,
        "simulator_faults": sim_stats.get("faults", {}),
        "targets_met": len(set(decided) & claim_ids) == claims and not failed_only
        and all(n == 1 for n in decided.values()) and not (acknowledged - keys_final) and verified,
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
        ("actors killed", ", ".join(f"{k} {v}" for k, v in sorted(report["kills"].items())) or "none", ""),
        ("simulator faults", ", ".join(f"{k} {v}" for k, v in sorted(report["simulator_faults"].items())), ""),
        ("wall time", f"{report['wall_seconds']} s", ""),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drivers.bench faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=500)
    parser.add_argument("--actors", type=int, default=4)
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between assessor kills")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", default="bench/faults_results.json")
    parser.add_argument("--workdir", help="where the dataset and workspace go (default: a temporary directory)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        report = run_soak(claims=args.claims, actors=args.actors, every_s=args.kill_every, seed=args.seed,
                          workdir=workdir)
    Console().print(render(report))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0 if report["targets_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
