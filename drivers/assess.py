"""python -m drivers.assess: assess a dataset of claims on Ray actors.

Reads and checks the dataset, starts (or joins) Ray and the simulator, spawns the run's actors,
streams claims through them with a live display, and writes the result files at the end.
``--resume RUN_ID`` continues an interrupted run: claims the ledger already decided (not FAILED) are
kept, the rest are assessed, and the result files then cover every claim.
Exit codes: 0 every claim got a decision (FAILED for bad input counts as one); 1 the run could not
complete; 2 bad usage, configuration or dataset; 130 / 143 stopped by SIGINT / SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.live import Live

from claim_assess.errors import ClaimAssessError, ConfigError, InputError
from claim_assess.claims.dataset import Dataset, read_dataset
from claim_assess.claims.results import SummaryTally, write_results_in_batches, write_summary
from claim_assess.drivers.cli import positive_int
from claim_assess.drivers.journal import OutcomeJournal, journaled_decisions, journaled_outcomes
from claim_assess.drivers.stopping import StopSignals
from claim_assess.drivers.timeline import TimelineWriter
from claim_assess.ledger.canonical import digest

DEFAULT_INPUT = Path(__file__).resolve().parent.parent / "claim_assess" / "data" / "sample"
SIM_MODEL = "sim-gpt"
OPENAI_MODEL = "gpt-4o-mini"
OPENAI_BASE_URL = "https://api.openai.com/v1"
PLAIN_EVERY_S = 5.0
SETTINGS_FILE = "settings.json"
RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# What a resume may change; everything else (dataset, claim selection, endpoint, model) is the run's own.
# Above this many claims a run names its tasks "assess" instead of "assess <claim_id>": Ray keeps about
# 11 KB of driver memory per distinct task name, so per-claim names would make the driver grow with the run.
PER_CLAIM_TASK_NAMES_UP_TO = 5_000
RESUMABLE_OVERRIDES = ("actors", "claims_per_actor", "rpm", "tpm", "timeout_s", "address", "dashboard", "sim_host")


@dataclass(frozen=True)
class RunSettings:
    """Everything a run was asked to do (written to settings.json and summary.json; holds no secret)."""

    input: str
    workspace: str
    run_id: str
    actors: int
    claims_per_actor: int
    llm: str
    base_url: str | None
    model: str
    rpm: int | None
    tpm: int | None
    timeout_s: float
    address: str | None
    claim_ids: tuple[str, ...]
    exclude: tuple[str, ...]
    limit: int | None
    dashboard: bool
    sim_host: str | None = None
    task_names: str = "auto"

    @property
    def run_dir(self) -> Path:
        return Path(self.workspace) / "runs" / self.run_id

    @property
    def ledger_dir(self) -> Path:
        return Path(self.workspace) / "ledger"

    def resume_command(self) -> str:
        return f"python -m drivers.assess --resume {self.run_id} --workspace {self.workspace}"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m drivers.assess", description=__doc__.split("\n\n")[0])
    # Defaults of the flags a resume may override are applied later, so a resume can tell "not given".
    p.add_argument("--actors", type=positive_int("--actors"), help="assessor actors (default 4)")
    p.add_argument("--concurrency", type=positive_int("--concurrency"), help="max claims in flight per assessor (default 8)")
    p.add_argument("--input", help="dataset directory (default: the bundled sample)")
    p.add_argument("--workspace", default="workspace", help="where the ledger and runs/ live (default ./workspace)")
    p.add_argument("--llm", choices=("sim", "openai"), default="sim", help="built-in simulator or a real endpoint")
    p.add_argument("--base-url", help=f"OpenAI-compatible base URL (with --llm openai; default {OPENAI_BASE_URL})")
    p.add_argument("--model", help=f"model name (default {SIM_MODEL} for sim, {OPENAI_MODEL} for openai)")
    p.add_argument("--rpm", type=positive_int("--rpm"), help="requests per minute limit (default: learned from headers)")
    p.add_argument("--tpm", type=positive_int("--tpm"), help="tokens per minute limit (default: learned from headers)")
    p.add_argument("--timeout", type=float, help="seconds per HTTP attempt (default 60)")
    p.add_argument("--run-id", help="name of this run (default: generated from the time)")
    p.add_argument("--resume", metavar="RUN_ID", help="continue this interrupted run of the workspace")
    p.add_argument("--claim-id", action="append", default=[], help="assess only this claim (repeatable)")
    p.add_argument("--exclude", action="append", default=[], help="skip this claim (repeatable)")
    p.add_argument("--limit", type=positive_int("--limit"), help="assess at most N claims")
    p.add_argument("--address", help="Ray cluster: auto, ray://HOST:PORT or HOST:PORT (default: local on 127.0.0.1)")
    p.add_argument("--sim-host", help="address the built-in simulator binds (default 127.0.0.1 locally, the "
                   "driver node's IP on a cluster so assessors on every node reach it)")
    p.add_argument("--task-names", choices=("auto", "per-claim", "fixed"), default="auto",
                   help=f"Ray task names: 'assess <claim_id>' (per-claim) or 'assess' (fixed); auto: per-claim up to "
                        f"{PER_CLAIM_TASK_NAMES_UP_TO:,} claims, since Ray keeps driver memory per distinct name")
    p.add_argument("--no-dashboard", action="store_true", help="do not start the Ray dashboard (local Ray only)")
    p.add_argument("--dry-run", action="store_true",
                   help="read and validate the dataset, print the LLM calls, tokens, time and cost; call no LLM")
    p.add_argument("--price-input", type=float, metavar="PER_M", help="price per million input tokens (--dry-run)")
    p.add_argument("--price-output", type=float, metavar="PER_M", help="price per million output tokens (--dry-run)")
    p.add_argument("--pricing", metavar="FILE", help='prices per model: {"MODEL": {"input_per_m": X, "output_per_m": Y}}')
    p.add_argument("--quiet", action="store_true", help="no live display, only the summary")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    return p


def _check_run_id(run_id: str, flag: str) -> None:
    if not RUN_ID.match(run_id) or run_id in {".", ".."}:
        raise ConfigError(f"{flag} {run_id!r} must be 1-64 letters, digits, '.', '_' or '-'")


def settings_from(args: argparse.Namespace) -> RunSettings:
    if args.timeout is not None and args.timeout <= 0:
        raise ConfigError(f"--timeout must be positive, got {args.timeout}")
    if args.resume is not None:
        return _resumed_settings(args)
    if args.run_id is not None:
        _check_run_id(args.run_id, "--run-id")
    if args.llm == "sim" and args.base_url:
        raise ConfigError("--base-url goes with --llm openai (the simulator picks its own local URL)")
    run_id = args.run_id or f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    settings = RunSettings(
        input=str(Path(args.input or DEFAULT_INPUT)),
        workspace=str(Path(args.workspace)),
        run_id=run_id,
        actors=args.actors or 4,
        claims_per_actor=args.concurrency or 8,
        llm=args.llm,
        base_url=args.base_url,
        model=args.model or (SIM_MODEL if args.llm == "sim" else OPENAI_MODEL),
        rpm=args.rpm,
        tpm=args.tpm,
        timeout_s=args.timeout or 60.0,
        address=args.address,
        claim_ids=tuple(args.claim_id),
        exclude=tuple(args.exclude),
        limit=args.limit,
        dashboard=not args.no_dashboard,
        sim_host=args.sim_host,
        task_names=args.task_names,
    )
    if args.dry_run:
        return settings
    if (settings.run_dir / SETTINGS_FILE).exists():
        raise ConfigError(f"run {run_id!r} already exists in {settings.workspace}; continue it with --resume {run_id}")
    _check_key(settings)
    return settings


def _resumed_settings(args: argparse.Namespace) -> RunSettings:
    """The interrupted run's own settings, with only the flags a resume may change taken from the command line."""
    _check_run_id(args.resume, "--resume")
    if args.run_id or args.input or args.claim_id or args.exclude or args.limit or args.model or args.base_url:
        raise ConfigError("--resume continues a run with its own dataset, claims, endpoint and model; "
                          "drop --run-id/--input/--claim-id/--exclude/--limit/--model/--base-url")
    path = Path(args.workspace) / "runs" / args.resume / SETTINGS_FILE
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"--resume {args.resume}: no such run in {args.workspace} ({path} is missing)") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--resume {args.resume}: cannot read {path}: {exc}") from exc
    known = {f.name for f in fields(RunSettings)}
    stored = {k: tuple(v) if isinstance(v, list) else v for k, v in stored.items() if k in known}
    settings = replace(RunSettings(**stored), workspace=str(Path(args.workspace)))
    given = {
        "actors": args.actors,
        "claims_per_actor": args.concurrency,
        "rpm": args.rpm,
        "tpm": args.tpm,
        "timeout_s": args.timeout,
        "address": args.address,
        "dashboard": False if args.no_dashboard else None,
        "sim_host": args.sim_host,
    }
    settings = replace(settings, **{k: v for k, v in given.items() if v is not None and k in RESUMABLE_OVERRIDES})
    _check_key(settings)
    return settings


def _check_key(settings: RunSettings) -> None:
    if settings.llm == "openai" and not os.environ.get("OPENAI_API_KEY"):
        raise ConfigError("--llm openai needs the API key in the OPENAI_API_KEY environment variable")


def select_entries(dataset: Dataset, settings: RunSettings):
    """The claims this run assesses, in dataset order; unknown --claim-id values are an error."""
    entries = list(dataset.entries)
    if settings.claim_ids:
        known = {e.claim_id for e in entries}
        missing = [cid for cid in settings.claim_ids if cid not in known]
        if missing:
            raise ConfigError(f"--claim-id names claims not in {dataset.root}: {', '.join(missing)}")
        wanted = set(settings.claim_ids)
        entries = [e for e in entries if e.claim_id in wanted]
    if settings.exclude:
        excluded = set(settings.exclude)
        entries = [e for e in entries if e.claim_id not in excluded]
    if settings.limit is not None:
        entries = entries[: settings.limit]
    return entries


def policy_book(dataset: Dataset):
    from claim_assess.actors.assessor import PolicyBook

    return PolicyBook(
        policies=dict(dataset.policies),
        policy_errors=dict(dataset.policy_errors),
        policy_digests={pid: digest(raw) for pid, raw in dataset.raw_policies.items()},
    )


class _Totals:
    """HTTP attempts, 429s and retries of this invocation (tokens are summed from the result rows)."""

    def __init__(self) -> None:
        self.requests = self.rate_limited = self.retries = 0

    def add(self, outcome) -> None:
        self.requests += outcome.requests
        self.rate_limited += outcome.rate_limited
        self.retries += outcome.retries

    def as_dict(self) -> dict:
        return dict(vars(self))


def _open_endpoint(settings: RunSettings, console: Console, connection):
    """(base_url, api_key, simulator or None): the built-in simulator or the configured endpoint.

    The simulator runs in the driver's process; on a cluster it binds the driver node's IP so that
    assessors on every node reach it (locally, and in tests, that IP is 127.0.0.1).
    """
    if settings.llm == "sim":
        from claim_assess.actors.cluster import LOOPBACK
        from claim_assess.simulator.server import SimulatorConfig, start_simulator

        host = settings.sim_host or (LOOPBACK if connection.local else connection.node_ip)
        config = SimulatorConfig(rpm=settings.rpm, tpm=settings.tpm, model=settings.model)
        simulator = start_simulator(config, host=host)
        console.print(f"LLM: built-in simulator at {simulator.url} (offline demo model {settings.model!r})",
                      soft_wrap=True)
        return simulator.url, "sim-no-key", simulator
    base_url = settings.base_url or OPENAI_BASE_URL
    console.print(f"LLM: {base_url} model {settings.model!r} (key from OPENAI_API_KEY)", soft_wrap=True)
    return base_url, os.environ["OPENAI_API_KEY"], None


def run(settings: RunSettings, console: Console, *, quiet: bool, resuming: bool = False) -> tuple[dict, int]:
    from claim_assess.actors.assessor import LLMSettings
    from claim_assess.actors.cluster import connect
    from claim_assess.actors.fleet import Fleet, FleetConfig, StopRun
    from claim_assess.drivers.display import plain_line, render

    dataset = read_dataset(settings.input)
    entries = select_entries(dataset, settings)
    run_dir, ledger_dir = settings.run_dir, settings.ledger_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    ledger_dir.mkdir(parents=True, exist_ok=True)
    if not resuming:
        (run_dir / SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    console.print(f"run {settings.run_id}: {len(entries)} claims from {settings.input}", soft_wrap=True)
    console.print(f"if it is interrupted, resume it with: {settings.resume_command()}", soft_wrap=True, highlight=False)

    namespace = f"claim-assess.{settings.run_id}"
    connection = connect(settings.address, namespace=namespace, dashboard=settings.dashboard)
    base_url, api_key, simulator = _open_endpoint(settings, console, connection)
    if connection.dashboard_url:
        console.print(f"Ray dashboard: {connection.dashboard_url}  (namespace {namespace})", soft_wrap=True)
    fleet = Fleet(
        FleetConfig(
            run_id=settings.run_id,
            namespace=namespace,
            actors=settings.actors,
            claims_per_actor=settings.claims_per_actor,
            ledger_dir=str(ledger_dir.resolve()),
            llm=LLMSettings(base_url=base_url, model=settings.model, api_key=api_key, timeout_s=settings.timeout_s),
            rpm=settings.rpm,
            tpm=settings.tpm,
            driver_node_id=connection.node_id,
        ),
        policy_book(dataset),
    )

    # Resume: keep what the ledger decided and the journal remembers; assess everything else.
    kept: set[str] = set()
    if resuming:
        decided = fleet.decided_claims()
        kept = {cid for cid, decision in journaled_decisions(run_dir).items() if cid in decided and decision != "FAILED"}
        console.print(f"resuming: {len(kept)} claims already decided, {len(entries) - len(kept)} to assess",
                      soft_wrap=True)
    todo = [entry for entry in entries if entry.claim_id not in kept]
    per_claim_names = settings.task_names == "per-claim" or (
        settings.task_names == "auto" and len(todo) <= PER_CLAIM_TASK_NAMES_UP_TO
    )
    if not per_claim_names and settings.task_names == "auto":
        console.print(f"{len(todo):,} claims: Ray tasks are named 'assess' (not per claim) to keep the driver's "
                      "memory flat; --task-names per-claim overrides", soft_wrap=True)
    fleet.begin(len(todo), endpoint=base_url, model=settings.model)

    # Outcomes go to the journal as they arrive, not into memory: the result files are written from it
    # at the end, so the driver stays flat however many claims a run has, and a resume can use them.
    totals = _Totals()
    journal = OutcomeJournal(run_dir)
    started = time.monotonic()
    stop_error: str | None = None

    def keep(outcome) -> None:
        journal.append(outcome.row, outcome.items)
        totals.add(outcome)

    timeline = TimelineWriter(run_dir / "timeline.jsonl")
    last_line = [time.monotonic()]
    view: Live | None = None

    def tick(final: bool = False) -> None:
        snapshot = fleet.snapshot()
        if snapshot is None:  # progress actor restarting: skip one frame, never the run
            return
        timeline.add(snapshot, inflight=fleet.inflight, claim_limit=fleet.admission.limit, force=final)
        if view is not None:
            view.update(render(snapshot))
        elif not quiet and (final or time.monotonic() - last_line[0] >= PLAIN_EVERY_S):
            last_line[0] = time.monotonic()
            console.print(plain_line(snapshot), highlight=False, soft_wrap=True)

    def on_signal(signum: int) -> None:
        message = "stopping: no new claims, cancelling those in flight, flushing the ledger (again to stop at once)"
        (view.console if view is not None else console).print(f"[yellow]{message}[/]", soft_wrap=True)

    with StopSignals(on_first=on_signal) as signals:
        try:
            if console.is_terminal and not quiet:
                view = Live("starting...", console=console, refresh_per_second=4)
                view.start()
            fleet.run(todo, keep, on_tick=tick, should_stop=lambda: signals.requested,
                      per_claim_task_names=per_claim_names)
        except StopRun as exc:
            stop_error = str(exc)
        finally:
            try:
                fleet.flush_progress()
                tick(final=True)
            finally:
                if view is not None:
                    view.stop()
                timeline.close()
                journal.close()
                height, checkpoint = fleet.close()
                if simulator is not None:
                    simulator.stop()

    wall = time.monotonic() - started
    # One pass over the journal writes the result files and tallies the summary.
    tally = SummaryTally()

    def tallied():
        for rows, items in journaled_outcomes(run_dir):
            for row in rows:
                tally.add(row)
            yield rows, items

    results_path, items_path = write_results_in_batches(run_dir, tallied())
    summary = tally.summary(
        run_id=settings.run_id,
        wall_seconds=wall,
        settings={**asdict(settings), "endpoint": base_url},
        llm=totals.as_dict(),
    )
    summary["ledger_height"] = height
    summary["checkpoint"] = asdict(checkpoint) if checkpoint is not None else None
    undecided = sum(1 for entry in entries if entry.claim_id not in tally.claim_ids)
    summary["complete"] = stop_error is None and undecided == 0
    summary["resumed"] = resuming
    if not summary["complete"]:
        summary["stopped"] = stop_error or f"{undecided} claims were not decided"
        summary["resume"] = settings.resume_command()
    summary_path = write_summary(run_dir, summary)
    summary["files"] = {
        "results": str(results_path),
        "line_items": str(items_path),
        "summary": str(summary_path),
        "ledger": str(ledger_dir),
    }
    from claim_assess.drivers.report import write_report

    try:
        summary["files"]["report"] = str(write_report(Path(settings.workspace), settings.run_id))
    except (ClaimAssessError, OSError) as exc:
        console.print(f"[yellow]report not written:[/] {exc}", soft_wrap=True)
    if signals.requested:
        return summary, signals.exit_code
    return summary, 0 if summary["complete"] else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # With --json the machine-readable summary owns stdout; people read stderr.
    console = Console(stderr=args.json)
    try:
        settings = settings_from(args)
        if args.dry_run:
            from claim_assess.drivers.plan import dry_run, print_plan

            dataset = read_dataset(settings.input)
            plan = dry_run(dataset, select_entries(dataset, settings), settings, price_input=args.price_input,
                           price_output=args.price_output, pricing_file=args.pricing)
            print_plan(plan, console, as_json=args.json)
            return 0
        summary, code = run(settings, console, quiet=args.quiet, resuming=args.resume is not None)
    except (ConfigError, InputError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except ClaimAssessError as exc:
        console.print(f"[red]the run could not complete:[/] {exc}", highlight=False, soft_wrap=True)
        return 1
    from claim_assess.drivers.display import summary_table

    files = summary["files"]
    console.print(
        summary_table(
            summary,
            [(label, files[key]) for label, key in (("results", "results"), ("line items", "line_items"),
                                                    ("summary", "summary"), ("report", "report"), ("ledger", "ledger"))
             if key in files],
        )
    )
    if not summary["complete"]:
        console.print(f"[red]run {settings.run_id} stopped before every claim was decided:[/] {summary['stopped']}",
                      soft_wrap=True)
        console.print(f"resume it with: {summary['resume']}", soft_wrap=True, highlight=False)
    checkpoint = summary.get("checkpoint")
    if checkpoint:
        console.print(
            f"newest signed checkpoint: {checkpoint['path']} (tree size {checkpoint['tree_size']}, root "
            f"{checkpoint['root'][:16]}…, key {checkpoint['key_id']}). Copy it, or {checkpoint['public_key_path']}, "
            "off this host: only an anchor the writer cannot change catches a rewritten ledger.",
            soft_wrap=True, highlight=False,
        )
    console.print(f"verify the audit trail: python -m drivers.verify --workspace {settings.workspace}", highlight=False)
    if args.json:
        print(json.dumps(summary, default=str, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
