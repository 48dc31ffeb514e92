"""python -m drivers.bench: how close the engine runs to the provider's limits.

Starts one simulator per run with its scenario's configuration, runs the engine against it as a subprocess
(``python -m drivers.assess --llm openai --base-url <sim>``: every run gets its own local Ray, workspace and
process tree, so runs are isolated and memory is measurable), the seed-style and cookbook-style baselines
in-process (``bench.baseline``, ``bench.cookbook``), prints a table with each target next to its figure and writes
``bench/results.json``. ``--group limits`` runs the four limit scenarios (``bench.scenarios.GROUPS``).
``--quick`` is a smoke run of every scenario with small sizes, a few minutes long (CI runs it; its numbers are not
judged). ``python -m drivers.bench ledger ...`` runs the ledger benchmark, ``python -m drivers.bench faults ...``
the soak.

Rates come from the simulator's ``/stats`` ``per_second`` counts, over the steady window (``bench.windows``).
Request utilisation is successful requests per minute over the RPM limit; token utilisation is admitted tokens
per minute (prompt + max_completion_tokens, what the provider charges against TPM) over the TPM limit. See
bench/README.md.

Exit codes: 0 every run completed with one decision per claim and an intact ledger (missed targets only
fail with --strict); 1 a run broke, or a target was missed under --strict; 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from claim_assess.bench.results import DEFAULT_OUT, is_broken, results_document, write_document
from claim_assess.bench.scenarios import GROUPS, SCENARIO_NAMES, Scenario, scenarios
from claim_assess.bench.schedule import run_all
from claim_assess.bench.tables import limits_table, markdown, memory_table, runs_table, targets_table
from claim_assess.bench.targets import Check, check_targets
from claim_assess.drivers.options import EXIT_FAILED, EXIT_OK, EXIT_USAGE, command_parser

# Imported only when asked for: the soak sets up Ray for its own process at import, which the engine runs of the
# main benchmark must never inherit.
SUBCOMMANDS = {"ledger": "claim_assess.bench.ledger", "faults": "claim_assess.bench.faults",
               "scale": "claim_assess.bench.scale", "injection": "claim_assess.bench.injection",
               "replay": "claim_assess.bench.replay", "whatif": "claim_assess.bench.whatif"}


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "bench",
        "How close the engine runs to an LLM provider's limits, and how much faster than the seed design it is "
        "See bench/README.md.\n\nsubcommands (each with its own --help):\n"
        "  ledger   the ledger benchmark: appends/s with fsync on, verify records/s and memory\n"
        "  faults   the soak: claims under simulator faults while actors are being killed\n"
        "  scale    a million claims: dry-run throughput, peak memory, time to the first call, driver memory\n"
        "  replay   verify --replay: decisions per CPU-second and peak memory on 100,000 decisions\n"
        "  whatif   what-if on 20,000 claims with every deductible changed: wall and CPU seconds, peak memory\n"
        "  injection  the prompt-injection referee: detection, false positives and harm, detector on and off",
        exit_codes=[(EXIT_OK, "every run completed with one decision per claim and an intact ledger "
                              "(missed targets fail only with --strict)"),
                    (EXIT_FAILED, "a run broke, or a target was missed under --strict"),
                    (EXIT_USAGE, "bad usage")],
        example="claim-assess bench --scenario rpm-bound --scenario storm --strict",
    )
    p.add_argument("--quick", action="store_true", help="a smoke run of every scenario, small sizes (a few minutes)")
    p.add_argument("--scenario", action="append", choices=SCENARIO_NAMES, default=[],
                   help="run only this scenario (repeatable; default: all)")
    p.add_argument("--engine-only", action="store_true",
                   help="skip the baselines (seed-style, cookbook): re-measure the engine beside earlier baseline figures")
    p.add_argument("--group", action="append", choices=sorted(GROUPS), default=[],
                   help="run this group of scenarios too (repeatable): "
                        + "; ".join(f"{name} = {', '.join(names)}" for name, names in GROUPS.items()))
    p.add_argument("--out", default=str(DEFAULT_OUT), help="results file (default: bench/results.json)")
    p.add_argument("--workdir", help="datasets and workspaces go here (default: a temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep every workspace (default: keep only broken ones)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--markdown", help="also write the tables as Markdown to this file (for README)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:])
    args = build_parser().parse_args(argv)
    # Wide tables in logs (nohup, CI) instead of wrapped cells.
    console = Console() if sys.stdout.isatty() else Console(width=200)
    chosen = set(args.scenario).union(*(GROUPS[g] for g in args.group)) or set(SCENARIO_NAMES)
    selected = [s for s in scenarios(args.quick) if s.name in chosen]
    if args.engine_only:
        selected = [replace(s, runs=tuple(r for r in s.runs if r.kind == "engine")) for s in selected]
    own_tmp = None if args.workdir else tempfile.mkdtemp(prefix="claim-assess-bench-")
    workdir = Path(args.workdir or own_tmp)
    workdir.mkdir(parents=True, exist_ok=True)
    started_at, t0 = datetime.now(UTC), time.monotonic()
    runs = run_all(selected, workdir, keep=args.keep, log=lambda msg: console.print(
        f"{datetime.now(UTC):%H:%M:%S} {msg}", markup=False, highlight=False, soft_wrap=True))
    checks = check_targets(runs)
    _show(console, runs, checks, selected, judged=not args.quick)
    document = results_document(argv, quick=args.quick, started_at=started_at, wall_s=time.monotonic() - t0,
                                selected=selected, runs=runs, checks=checks)
    write_document(document, Path(args.out))
    console.print(f"results: {args.out}", highlight=False)
    if args.markdown:
        Path(args.markdown).write_text(markdown(runs, checks), encoding="utf-8")
        console.print(f"markdown: {args.markdown}", highlight=False)
    broken = any(is_broken(r) for r in runs)
    if broken:
        console.print(f"[red]broken runs:[/] {', '.join(document['broken_runs'])} (workspaces under {workdir})")
    elif own_tmp and not args.keep:
        shutil.rmtree(own_tmp, ignore_errors=True)
    if broken:
        return EXIT_FAILED
    missed = any(c.ok is False for c in checks)
    return EXIT_FAILED if (args.strict and not args.quick and missed) else EXIT_OK


def _show(console: Console, runs: Sequence[dict], checks: Sequence[Check], selected: Sequence[Scenario], *,
          judged: bool) -> None:
    console.print(runs_table(runs))
    limits = limits_table(runs)
    if limits is not None:
        console.print(limits)
    memory = memory_table(runs)
    if memory is not None:
        console.print(memory)
    console.print(targets_table(checks, judged=judged))
    for scenario in selected:
        console.print(f"  {scenario.name}: {scenario.description}", highlight=False)


if __name__ == "__main__":
    sys.exit(main())
