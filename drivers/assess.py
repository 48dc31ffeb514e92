"""claim-assess assess (python -m drivers.assess): assess a dataset of claims on Ray actors.

Reads and checks the dataset, starts (or joins) Ray and the LLM endpoint (the built-in simulator unless
--llm openai), runs the claims through the assessors with a live display, and writes the result files,
summary.json and report.html to WORKSPACE/runs/RUN_ID/. Every decision goes to the ledger in WORKSPACE/ledger/.
--resume --run RUN_ID continues an interrupted run: claims already decided are kept, the rest are assessed.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.logging import RichHandler

from claim_assess.claims.dataset import open_dataset
from claim_assess.errors import ClaimAssessError, ConfigError, InputError
from claim_assess.logs import use_handler
from claim_assess.plan import dry_run, print_plan
from claim_assess.run.display import show_summary
from claim_assess.run.endpoint import dry_run_preflight
from claim_assess.run.lifecycle import run_assessment
from claim_assess.run.prepare import select_entries
from claim_assess.run.reuse import build_reuse_index, with_prices
from claim_assess.run.settings import PER_CLAIM_TASK_NAMES_UP_TO, RunSettings, new_settings, resumed_settings
from claim_assess.drivers.options import (EXIT_FAILED, EXIT_USAGE, add_log_level, add_run, add_workspace,
                                          command_parser, positive_float, positive_int, returns_exit_code)
from claim_assess.drivers.options import run_id as run_id_flag

EXIT_CODES = [(0, "every claim got a decision; none FAILED but for its input (bad input is FAILED, the field named)"),
              (1, "the run stopped before every claim was decided (quota, a key or model refused part-way, an "
                  "endpoint that stayed unreachable, a broken ledger...): resume it"),
              (2, "bad flags or configuration, a dataset that cannot be read, or an endpoint that failed the "
                  "preflight (wrong key, unknown model, no Structured Outputs, unreachable): nothing was assessed"),
              (3, "every claim got a decision, but some FAILED for the model's answers, a refused request or the "
                  "engine: resume to assess them again"),
              (130, "stopped by Ctrl-C (143: by SIGTERM); resume it")]


def build_parser() -> argparse.ArgumentParser:
    p = command_parser("assess", __doc__.split("\n\n")[1], exit_codes=EXIT_CODES,
                       example="claim-assess assess --actors 4 --input DIR --workspace ws")
    add = p.add_argument
    # Flags a resume may override default to None here, so a resume can tell "not given".
    add("--input", help="dataset directory or URI (s3://bucket/dir, gs://, hdfs://, file://): policies.jsonl + "
                        "claims.jsonl|claims.parquet|claims/, streamed (default: the bundled sample)")
    add_workspace(p)
    add_run(p, "name of a new run (default: generated from the time), or with --resume the run to continue")
    add("--resume", action="store_true", help="continue the run named by --run with its own settings")
    add("--actors", type=positive_int("--actors"), help="assessor actors (default 4)")
    add("--concurrency", type=positive_int("--concurrency"), help="claims in flight per assessor, at most (default 8)")
    add("--llm", choices=("sim", "openai"), help="the built-in simulator (default) or an OpenAI-compatible endpoint")
    add("--base-url", help="OpenAI-compatible base URL for --llm openai (default: $OPENAI_BASE_URL, else OpenAI's)")
    add("--model", help="model name (default sim-gpt for sim, gpt-4o-mini for openai); the key is $OPENAI_API_KEY")
    add("--rpm", type=positive_int("--rpm"), help="the endpoint's requests per minute (default: learned from headers)")
    add("--tpm", type=positive_int("--tpm"), help="the endpoint's tokens per minute (default: learned from headers)")
    add("--timeout", type=positive_float("--timeout"), help="seconds per HTTP attempt (default 60)")
    add("--claim-id", action="append", default=[], help="assess only this claim (repeatable)")
    add("--exclude", action="append", default=[], help="skip this claim (repeatable)")
    add("--limit", type=positive_int("--limit"), help="assess at most N claims")
    add("--address", help="Ray cluster to join: auto, ray://HOST:PORT or HOST:PORT (default: a local Ray on 127.0.0.1)")
    add("--sim-host", help="address the built-in simulator binds (default 127.0.0.1, or the driver node's IP on a cluster)")
    add("--task-names", choices=("auto", "per-claim", "fixed"), help="Ray task names 'assess <claim_id>' or "
        f"'assess' (auto: per claim up to {PER_CLAIM_TASK_NAMES_UP_TO:,} claims; Ray keeps memory per name)")
    add("--no-dashboard", action="store_true", help="do not start the Ray dashboard (local Ray only)")
    add("--dry-run", action="store_true", help="check the dataset and print the LLM calls, tokens, time and cost; "
        "start nothing, call no LLM (unless --preflight)")
    add("--preflight", action="store_true", help="with --dry-run: also make the one preflight request to the "
        "--llm openai endpoint (key, model, Structured Outputs); writes no ledger")
    add("--no-preflight", action="store_true", help="skip the preflight request a run makes to an --llm openai "
        "endpoint before starting (for endpoints that bill every call)")
    add("--reuse-answers", nargs="+", action="extend", type=run_id_flag, metavar="RUN_ID", help="answer requests "
        "byte-identical to ones these runs recorded from the ledger, not the network (one or more; repeatable)")
    add("--price-input", type=float, metavar="PER_M", help="price per million input tokens (--dry-run's cost; a "
        "run's cost saved by --reuse-answers)")
    add("--price-output", type=float, metavar="PER_M", help="price per million output tokens (as --price-input)")
    add("--pricing", metavar="FILE", help='prices per model: {"MODEL": {"input_per_m": X, "output_per_m": Y}}')
    add("--quiet", action="store_true", help="no live display, only the summary")
    add("--json", action="store_true", help="print a JSON object on stdout: the summary, or the error")
    add_log_level(p)
    return p


def settings_from(args: argparse.Namespace) -> RunSettings:
    common = dict(actors=args.actors, claims_per_actor=args.concurrency, rpm=args.rpm, tpm=args.tpm,
                  timeout_s=args.timeout, address=args.address, sim_host=args.sim_host,
                  dashboard=False if args.no_dashboard else None)
    selection = dict(input=args.input, llm=args.llm, base_url=args.base_url, model=args.model,
                     claim_ids=tuple(args.claim_id) or None, exclude=tuple(args.exclude) or None, limit=args.limit,
                     task_names=args.task_names, reuse_answers=tuple(args.reuse_answers or ()) or None)
    if args.resume:
        if args.run is None:
            raise ConfigError("--resume needs --run RUN_ID: the run to continue")
        return resumed_settings(args.workspace, args.run, **common, **selection)
    settings = new_settings(workspace=args.workspace, run_id=args.run, **{**common, **selection, "llm": args.llm or "sim"})
    return with_prices(settings, price_input=args.price_input, price_output=args.price_output, pricing_file=args.pricing)


@returns_exit_code
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=args.json)  # with --json, stdout holds the JSON object and nothing else
    use_handler(RichHandler(console=console, show_path=False), args.log_level)
    run_id = args.run
    try:
        settings = settings_from(args)
        run_id = settings.run_id
        if args.preflight and not args.dry_run:
            raise ConfigError("--preflight goes with --dry-run (a run makes the preflight anyway; --no-preflight "
                              "skips it)")
        if args.dry_run:
            dataset = open_dataset(settings.input)
            reuse = build_reuse_index(settings.workspace, settings.reuse_answers) if settings.reuse_answers else None
            plan = dry_run(dataset, select_entries(dataset, settings), settings, price_input=args.price_input,
                           price_output=args.price_output, pricing_file=args.pricing, reuse=reuse)
            if args.preflight:
                console.print(dry_run_preflight(settings), soft_wrap=True, highlight=False)
            print_plan(plan, console, as_json=args.json)
            return 0
        summary, code = run_assessment(settings, console, resuming=args.resume, quiet=args.quiet,
                                       log_level=args.log_level, preflight=not args.no_preflight)
    except (ConfigError, InputError) as exc:
        return _failed(console, args, run_id, exc, EXIT_USAGE, "error")
    except ClaimAssessError as exc:
        return _failed(console, args, run_id, exc, EXIT_FAILED, "the run could not complete")
    show_summary(console, summary)
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    return code


def _failed(console: Console, args: argparse.Namespace, run_id: str | None, exc: Exception, code: int,
            label: str) -> int:
    console.print(f"[red]{label}:[/] {exc}", highlight=False, soft_wrap=True)
    if args.json:
        print(json.dumps({"run_id": run_id, "error": str(exc), "error_type": type(exc).__name__, "exit_code": code}))
    return code


if __name__ == "__main__":
    sys.exit(main())
