"""Run the built-in simulated model on its own: an OpenAI-compatible server for offline runs, demos, tests and
load tests (not a real model).

Every behaviour of the simulator is a flag: its limits (--rpm, --tpm) and how they are enforced (--quantize
none: per minute; aligned: a second's share, refilled continuously; sliding: at most a 60th of the limit in any
one-second window), whether it sends rate-limit headers (--no-headers), a gateway in front of it with a lower
limit of its own that no header shows (--gateway-rpm, --gateway-tpm, --gateway-style litellm|bare), its latency
(--latency-median-ms, ...) and the faults it injects (--rate-5xx, --fault-script, ...). It binds 127.0.0.1
unless --host says otherwise, and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading
import typing
from collections.abc import Sequence

from claim_assess.drivers.options import EXIT_OK, EXIT_USAGE, command_parser, returns_exit_code
from claim_assess.simulator.gateway import GATEWAY_STYLES
from claim_assess.simulator.limits import QUANTIZE_MODES
from claim_assess.simulator.server import REFUSALS, SimulatorConfig, start_simulator

_HELP = {
    "latency_median_ms": "median latency of an answer, ms",
    "latency_p95_ms": "95th percentile latency of an answer, ms (log-normal between the two)",
    "per_output_token_ms": "extra latency per completion token, ms",
    "rpm": "requests per minute limit (default: unlimited)",
    "tpm": "tokens per minute limit, charging prompt + max_completion_tokens on arrival (default: unlimited)",
    "quantize": "how the limits are enforced: none = per minute (a full minute's budget to start with); "
                "aligned = a second's share (limit/60) refilled continuously, which lets up to about twice "
                "that through in some one-second stretch; sliding = strictly at most limit/60 (rounded up) in "
                "any one-second window",
    "omit_rate_limit_headers": "send no x-ratelimit-* headers, as some gateways do",
    "gateway_rpm": "put a gateway in front with its own requests-per-minute limit, counted per whole minute "
                   "since start and shown in no header (default: no gateway)",
    "gateway_tpm": "put a gateway in front with its own tokens-per-minute limit: it counts the answers' usage "
                   "per whole minute since start and refuses a prompt that would pass it (default: no gateway)",
    "gateway_style": "how the gateway (when --gateway-rpm or --gateway-tpm is set) answers: litellm = copies "
                     "the rate-limit headers with an llm_provider- prefix, adds x-litellm-* headers, refuses with "
                     "LiteLLM's 429 and llm_provider-retry-after: 60; bare = passes headers through, refuses with "
                     "a plain 429 and no hint",
    "hang_s": "how long a hanging request hangs, s",
    "answer_error_rate": "share of answers that are schema-valid but wrong",
    "retry_after_rate": "share of 429s that carry retry-after / retry-after-ms",
    "seed": "seed of every random choice",
    "model": "model name served by /v1/models",
    "api_key": "accept only this bearer token (default: any)",
    "fault_script": "comma-separated faults forced on the first requests, e.g. 5xx,ok,drop (rate_limit: a "
                    "requests 429 with the hint --scripted-retry-after-s)",
    "scripted_retry_after_s": "retry-after of a scripted rate_limit 429, s",
    "serve_any_model": "answer any model name (default: another name than --model gets 404 model_not_found)",
    "no_structured_outputs": "refuse a json_schema response_format with 400, as a model without Structured "
                             "Outputs does",
    "refusal": "answer every request from the --refuse-after'th on with this refusal: invalid_api_key (401), "
               "model_not_found (404), response_format (400), unexplained_400, unreachable (every connection "
               "dropped unanswered) (default: none)",
    "refuse_after": "requests answered normally before --refusal starts",
}

_CHOICES = {"quantize": QUANTIZE_MODES, "gateway_style": GATEWAY_STYLES, "refusal": REFUSALS}
_ALIASES = {"omit_rate_limit_headers": ("--no-headers",)}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "simulate", __doc__,
        exit_codes=[(EXIT_OK, "stopped with Ctrl-C"),
                    (EXIT_USAGE, "usage: bad flags, or HOST:PORT cannot be bound (in use, or not this host's)")],
        example="claim-assess simulate --port 8000 --rpm 600 --rate-5xx 0.05",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (0: any free port)")
    hints = typing.get_type_hints(SimulatorConfig)
    for field in dataclasses.fields(SimulatorConfig):
        hint, default = hints[field.name], field.default
        help_text = _HELP.get(field.name, field.name.replace("_", " ").replace("rate ", "rate of ") + " (0..1)")
        if hint is bool:
            parser.add_argument(_flag(field.name), *_ALIASES.get(field.name, ()), action="store_true",
                                help=help_text)
        elif field.name in _CHOICES:
            parser.add_argument(_flag(field.name), choices=_CHOICES[field.name], default=default,
                                help=f"{help_text} (default {default})")
        elif field.name == "fault_script":
            parser.add_argument(_flag(field.name), default="", help=help_text)
        else:
            kind = next(t for t in typing.get_args(hint) or (hint,) if t is not type(None))
            shown = "" if default is None else f" (default {default})"
            parser.add_argument(_flag(field.name), type=kind, default=default, help=help_text + shown)
    return parser


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(SimulatorConfig)}
    values["fault_script"] = tuple(s.strip() for s in values["fault_script"].split(",") if s.strip())
    return SimulatorConfig(**values)


@returns_exit_code
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        sim = start_simulator(config, host=args.host, port=args.port)
    except OSError as exc:
        print(f"error: cannot bind {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    limits = f"rpm={config.rpm or 'unlimited'} tpm={config.tpm or 'unlimited'}"
    print("claim-assess LLM simulator: a simulated model for offline runs, demos, tests and load tests "
          "(not a real model).", flush=True)
    print(f"serving model {config.model!r} at {sim.url} ({limits}); stats at "
          f"{sim.url.removesuffix('/v1')}/stats; Ctrl-C to stop", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        print(f"stopped; served {sim.stats()['requests']} requests", flush=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
