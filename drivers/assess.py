"""python -m drivers.assess: assess a dataset of claims on Ray actors.

Reads and checks the dataset, starts (or joins) Ray and the simulator, spawns the run's actors,
streams claims through them with a live display, and writes the result files at the end.
Exit codes: 0 every claim got a decision (FAILED for bad input counts as one); 1 the run could not
complete; 2 bad usage, configuration or dataset; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.live import Live

from claim_assess.errors import ClaimAssessError, ConfigError, InputError
from claims.dataset import Dataset, read_dataset
from claims.results import build_summary, write_results, write_summary
from drivers.timeline import TimelineWriter
from ledger.canonical import digest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = PROJECT_ROOT / "data" / "sample"
SIM_MODEL = "sim-gpt"
OPENAI_MODEL = "gpt-4o-mini"
PLAIN_EVERY_S = 5.0
RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class RunSettings:
    """Everything a run was asked to do (written to summary.json; holds no secret)."""

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


def _positive(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m drivers.assess", description=__doc__.split("\n\n")[0])
    p.add_argument("--actors", type=_positive("--actors"), default=4, help="assessor actors (default 4)")
    p.add_argument(
        "--concurrency", type=_positive("--concurrency"), default=8, help="claims in flight per assessor (default 8)"
    )
    p.add_argument("--input", default=str(DEFAULT_INPUT), help="dataset directory (default: the bundled sample)")
    p.add_argument("--workspace", default="workspace", help="where the ledger and runs/ live (default ./workspace)")
    p.add_argument("--llm", choices=("sim", "openai"), default="sim", help="built-in simulator or a real endpoint")
    p.add_argument("--base-url", help="OpenAI-compatible base URL (with --llm openai; default: the client's)")
    p.add_argument("--model", help=f"model name (default {SIM_MODEL} for sim, {OPENAI_MODEL} for openai)")
    p.add_argument("--rpm", type=_positive("--rpm"), help="requests per minute limit of the endpoint")
    p.add_argument("--tpm", type=_positive("--tpm"), help="tokens per minute limit of the endpoint")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP attempt (default 60)")
    p.add_argument("--run-id", help="name of this run (default: generated from the time)")
    p.add_argument("--claim-id", action="append", default=[], help="assess only this claim (repeatable)")
    p.add_argument("--exclude", action="append", default=[], help="skip this claim (repeatable)")
    p.add_argument("--limit", type=_positive("--limit"), help="assess at most N claims")
    p.add_argument("--address", help="Ray cluster: auto, ray://HOST:PORT or HOST:PORT (default: local on 127.0.0.1)")
    p.add_argument("--no-dashboard", action="store_true", help="do not start the Ray dashboard (local Ray only)")
    p.add_argument("--quiet", action="store_true", help="no live display, only the summary")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    return p


def settings_from(args: argparse.Namespace) -> RunSettings:
    if args.run_id is not None and (not RUN_ID.match(args.run_id) or args.run_id in {".", ".."}):
        raise ConfigError(f"--run-id {args.run_id!r} must be 1-64 letters, digits, '.', '_' or '-'")
    if args.timeout <= 0:
        raise ConfigError(f"--timeout must be positive, got {args.timeout}")
    if args.llm == "sim" and args.base_url:
        raise ConfigError("--base-url goes with --llm openai (the simulator picks its own local URL)")
    if args.llm == "openai" and not os.environ.get("OPENAI_API_KEY"):
        raise ConfigError("--llm openai needs the API key in the OPENAI_API_KEY environment variable")
    run_id = args.run_id or f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
    return RunSettings(
        input=str(Path(args.input)),
        workspace=str(Path(args.workspace)),
        run_id=run_id,
        actors=args.actors,
        claims_per_actor=args.concurrency,
        llm=args.llm,
        base_url=args.base_url,
        model=args.model or (SIM_MODEL if args.llm == "sim" else OPENAI_MODEL),
        rpm=args.rpm,
        tpm=args.tpm,
        timeout_s=args.timeout,
        address=args.address,
        claim_ids=tuple(args.claim_id),
        exclude=tuple(args.exclude),
        limit=args.limit,
        dashboard=not args.no_dashboard,
    )


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
    from actors.assessor import PolicyBook

    return PolicyBook(
        policies=dict(dataset.policies),
        policy_errors=dict(dataset.policy_errors),
        policy_digests={pid: digest(raw) for pid, raw in dataset.raw_policies.items()},
    )


class _Totals:
    """LLM use summed over the claims' outcomes (what summary.json reports)."""

    def __init__(self) -> None:
        self.requests = self.rate_limited = self.retries = self.prompt_tokens = self.completion_tokens = 0

    def add(self, outcome) -> None:
        self.requests += outcome.requests
        self.rate_limited += outcome.rate_limited
        self.retries += outcome.retries
        self.prompt_tokens += outcome.row.prompt_tokens
        self.completion_tokens += outcome.row.completion_tokens

    def as_dict(self) -> dict:
        return dict(vars(self))


def run(settings: RunSettings, console: Console, *, quiet: bool) -> tuple[dict, int]:
    from actors.assessor import LLMSettings
    from actors.cluster import connect
    from actors.fleet import Fleet, FleetConfig, StopRun
    from drivers.display import plain_line, render

    dataset = read_dataset(settings.input)
    entries = select_entries(dataset, settings)
    run_dir = Path(settings.workspace) / "runs" / settings.run_id
    ledger_dir = Path(settings.workspace) / "ledger"
    run_dir.mkdir(parents=True, exist_ok=True)
    ledger_dir.mkdir(parents=True, exist_ok=True)

    simulator = None
    if settings.llm == "sim":
        from llm.simulator import SimulatorConfig, start_simulator

        simulator = start_simulator(SimulatorConfig(rpm=settings.rpm, tpm=settings.tpm, model=settings.model))
        base_url, api_key = simulator.url, "sim-no-key"
        console.print(f"LLM: built-in simulator at {base_url} (offline demo model {settings.model!r})", soft_wrap=True)
    else:
        base_url = settings.base_url or "https://api.openai.com/v1"
        api_key = os.environ["OPENAI_API_KEY"]
        console.print(f"LLM: {base_url} model {settings.model!r} (key from OPENAI_API_KEY)", soft_wrap=True)

    namespace = f"claim-assess.{settings.run_id}"
    connection = connect(settings.address, namespace=namespace, dashboard=settings.dashboard)
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
    fleet.begin(len(entries), endpoint=base_url, model=settings.model)

    rows, items, totals = [], [], _Totals()
    started = time.monotonic()
    stop_error: str | None = None

    def keep(outcome) -> None:
        rows.append(outcome.row)
        items.extend(outcome.items)
        totals.add(outcome)

    live = console.is_terminal and not quiet
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

    try:
        if live:
            view = Live("starting...", console=console, refresh_per_second=4)
            view.start()
        fleet.run(entries, keep, on_tick=tick)
    except StopRun as exc:
        stop_error = str(exc)
    except KeyboardInterrupt:
        stop_error = "interrupted"
    finally:
        try:
            fleet.flush_progress()
            tick(final=True)
        finally:
            if view is not None:
                view.stop()
            timeline.close()
            height = fleet.close()
            if simulator is not None:
                simulator.stop()

    wall = time.monotonic() - started
    rows.sort(key=lambda r: r.claim_id)
    results_path, items_path = write_results(run_dir, rows, items)
    summary = build_summary(
        rows,
        run_id=settings.run_id,
        wall_seconds=wall,
        settings={**asdict(settings), "endpoint": base_url},
        llm=totals.as_dict(),
    )
    summary["ledger_height"] = height
    summary["complete"] = stop_error is None and len(rows) == len(entries)
    if stop_error:
        summary["stopped"] = stop_error
    summary_path = write_summary(run_dir, summary)
    summary["files"] = {
        "results": str(results_path),
        "line_items": str(items_path),
        "summary": str(summary_path),
        "ledger": str(ledger_dir),
    }
    if stop_error == "interrupted":
        return summary, 130
    return summary, 0 if summary["complete"] else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # With --json the machine-readable summary owns stdout; people read stderr.
    console = Console(stderr=args.json)
    try:
        settings = settings_from(args)
        summary, code = run(settings, console, quiet=args.quiet)
    except (ConfigError, InputError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except ClaimAssessError as exc:
        console.print(f"[red]the run could not complete:[/] {exc}", highlight=False, soft_wrap=True)
        return 1
    from drivers.display import summary_table

    files = summary["files"]
    console.print(
        summary_table(
            summary,
            [("results", files["results"]), ("line items", files["line_items"]), ("summary", files["summary"]),
             ("ledger", files["ledger"])],
        )
    )
    if code != 0:
        console.print(f"[red]run {settings.run_id} stopped before every claim was decided:[/] {summary.get('stopped')}")
    console.print(f"verify the audit trail: python -m drivers.verify --workspace {settings.workspace}", highlight=False)
    if args.json:
        print(json.dumps(summary, default=str, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
