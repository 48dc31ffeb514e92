"""A simulated OpenAI-compatible model server, for offline runs, demos, tests and load tests.

It serves ``POST /v1/chat/completions``, ``GET /v1/models`` and ``GET /stats`` on a real HTTP
stack (aiohttp), and behaves as the provider does (its knobs: ``SimulatorConfig``; its model: docs/contracts.md section 2):
log-normal latency, RPM/TPM limits with up-front charging and OpenAI-shaped 429s and headers,
enforced per minute or per second (``limits``), optionally behind a gateway with a hidden lower limit
of its own (``gateway``), seeded faults, and schema-valid answers from the deterministic task model in
``tasks``.

A request goes: key check, body check, the gateway's limit (when there is one), a fault draw, the
provider's limits, then the answer (or the fault in its place).

Every random choice comes from its own seeded stream (faults, latency, headers, answer errors), so
changing one rate does not reshuffle the others and a run with the same seed and the same arrival
order behaves the same.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from aiohttp import web

from claim_assess.claims.prompts import extract_payload
from claim_assess.llm.limiter import estimate_completion_tokens, estimate_prompt_tokens
from claim_assess.simulator.gateway import GATEWAY_STYLES, Gateway
from claim_assess.simulator.limits import QUANTIZE_MODES, RateLimits, Rejection, format_duration
from claim_assess.simulator.stats import SimStats
from claim_assess.simulator.tasks import KNOWN_SCHEMAS, answer, break_schema, conform, perturb

FAULTS = ("insufficient_quota", "5xx", "hang", "drop", "invalid_json", "schema_violation")
# Faults only a ``fault_script`` forces (no rate of their own): "rate_limit" is a requests 429 with a fixed hint,
# ``scripted_retry_after_s`` in retry-after-ms, retry-after and the message, for tests that time a fleet's pause.
SCRIPTED_FAULTS = ("rate_limit",)
# What a provider answers when the run's configuration is wrong, as OpenAI words it; ``refusal`` makes every request
# from arrival ``refuse_after`` on get one (a key revoked, a model retired part-way through a run).
# "unreachable" drops every connection unanswered instead (the client sees what a refused connection looks like).
REFUSALS = ("invalid_api_key", "model_not_found", "response_format", "unexplained_400", "unreachable")
ORGANIZATION = "org-sim"


@dataclass(frozen=True)
class SimulatorConfig:
    """Every behaviour of the simulator. ``quantize`` (see ``limits``): "none" enforces the limits per
    minute, "aligned" a second's budget in a continuously refilled bucket (lets up to about twice limit/60
    through in some sliding second), "sliding" at most ceil(limit/60) in any 1-second window. A gateway
    (see ``gateway``) sits in front of the provider when ``gateway_rpm`` or ``gateway_tpm`` is set."""

    latency_median_ms: float = 300.0
    latency_p95_ms: float = 900.0
    per_output_token_ms: float = 0.0
    rpm: int | None = None  # None: unlimited
    tpm: int | None = None
    quantize: str = "none"  # "none" (per minute), "aligned" or "sliding" (per second): QUANTIZE_MODES
    omit_rate_limit_headers: bool = False  # as some gateways do
    gateway_rpm: int | None = None  # the gateway's own limits per fixed minute, in no header; None: none
    gateway_tpm: int | None = None
    gateway_style: str = "litellm"  # how the gateway answers: GATEWAY_STYLES
    rate_5xx: float = 0.0
    rate_hang: float = 0.0  # the request hangs for hang_s (past any sane client timeout)
    rate_drop: float = 0.0  # the connection is closed without a response
    rate_invalid_json: float = 0.0  # content that is not JSON
    rate_schema_violation: float = 0.0  # JSON that breaks the request's schema
    rate_insufficient_quota: float = 0.0
    hang_s: float = 120.0
    answer_error_rate: float = 0.0  # answers that are schema-valid but wrong
    retry_after_rate: float = 0.5  # share of 429s that carry retry-after / retry-after-ms
    seed: int = 0
    model: str = "sim-gpt"
    api_key: str | None = None  # when set, other bearer tokens get 401
    # Faults forced on the first requests in arrival order ("ok" for none), before the rates apply:
    # lets tests and demos script exact sequences such as ("5xx", "ok").
    fault_script: tuple[str, ...] = ()
    scripted_retry_after_s: float = 2.0  # the hint a scripted "rate_limit" 429 carries
    serve_any_model: bool = False  # False: another model name gets 404 model_not_found, as providers answer
    no_structured_outputs: bool = False  # a json_schema response_format gets 400, as models without it answer
    refusal: str | None = None  # one of REFUSALS: answered to every request from arrival ``refuse_after`` on
    refuse_after: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name.startswith("rate_") or f.name in ("answer_error_rate", "retry_after_rate"):
                value = getattr(self, f.name)
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{f.name} must be between 0 and 1, got {value}")
        if self.refusal is not None and self.refusal not in REFUSALS:
            raise ValueError(f"refusal must be one of {', '.join(REFUSALS)}; got {self.refusal!r}")
        unknown = set(self.fault_script) - set(FAULTS) - set(SCRIPTED_FAULTS) - {"ok"}
        if unknown:
            raise ValueError(f"fault_script has unknown faults {sorted(unknown)}; "
                             f"known: {FAULTS + SCRIPTED_FAULTS + ('ok',)}")
        if self.scripted_retry_after_s <= 0:
            raise ValueError("scripted_retry_after_s must be positive")
        if self.latency_median_ms < 0 or self.latency_p95_ms < 0 or self.per_output_token_ms < 0:
            raise ValueError("latencies must not be negative")
        for name, allowed in (("quantize", QUANTIZE_MODES), ("gateway_style", GATEWAY_STYLES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        for name in ("gateway_rpm", "gateway_tpm"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 (or unset for no gateway limit)")

    @property
    def has_gateway(self) -> bool:
        return self.gateway_rpm is not None or self.gateway_tpm is not None


def _error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


_LIMIT_NAMES = {"requests": "requests per min (RPM)", "tokens": "tokens per min (TPM)"}
_QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more information on "
    "this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
)
_SERVER_ERROR_MESSAGE = "The server had an error while processing your request. Sorry about that!"


def _masked(authorization: str) -> str:
    """The provider's way of naming a wrong key without repeating it: "sk-t*****************9c2e"."""
    key = authorization.removeprefix("Bearer ").strip()
    return key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 8 else "*" * len(key)


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


class SimulatedModel:
    """The request handlers and their state; one per server, used only on the server's loop."""

    def __init__(self, config: SimulatorConfig, *, clock=time.monotonic):
        self.config = config
        self.stats = SimStats(clock=clock)
        self.limits = RateLimits(config.rpm, config.tpm, mode=config.quantize, clock=clock)
        self.gateway = Gateway(style=config.gateway_style, rpm=config.gateway_rpm, tpm=config.gateway_tpm,
                               deployment=config.model, seed=config.seed, clock=clock) if config.has_gateway else None
        self.stopping = asyncio.Event()
        self._arrivals = itertools.count()
        self._served = itertools.count()  # every request, for ``refuse_after``
        self._ids = itertools.count(1)
        seed = config.seed
        self._fault_rng = random.Random(f"{seed}:faults")
        self._latency_rng = random.Random(f"{seed}:latency")
        self._header_rng = random.Random(f"{seed}:headers")
        self._answer_rng = random.Random(f"{seed}:answers")
        median = config.latency_median_ms
        self._sigma = math.log(config.latency_p95_ms / median) / 1.645 if 0 < median < config.latency_p95_ms else 0.0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat_completions)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/stats", self.stats_page)
        return app

    # --- small endpoints --------------------------------------------------------------------------

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": self.config.model, "object": "model", "created": 0, "owned_by": "claim-assess-simulator"}]})

    async def stats_page(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.snapshot())

    # --- chat completions -------------------------------------------------------------------------

    def _next_fault(self) -> str | None:
        n = next(self._arrivals)
        if n < len(self.config.fault_script):
            scripted = self.config.fault_script[n]
            return None if scripted == "ok" else scripted
        draw, edge = self._fault_rng.random(), 0.0
        for fault in FAULTS:
            edge += getattr(self.config, "rate_" + fault)
            if draw < edge:
                return fault
        return None

    def _latency_s(self, completion_tokens: int) -> float:
        median = self.config.latency_median_ms
        base = median * math.exp(self._sigma * self._latency_rng.gauss(0.0, 1.0)) if median > 0 else 0.0
        return (base + self.config.per_output_token_ms * completion_tokens) / 1000.0

    def _limit_headers(self) -> dict[str, str]:
        return {} if self.config.omit_rate_limit_headers else self.limits.headers()

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        self.stats.request()
        config = self.config
        if config.refusal is not None and next(self._served) >= config.refuse_after:
            if config.refusal == "unreachable":
                self.stats.fault("drop")
                return self._drop(request)
            return self._refusal(config.refusal, config.model)
        if config.api_key is not None and request.headers.get("Authorization", "") != f"Bearer {config.api_key}":
            self.stats.rejected(401)
            return web.json_response(_error_body(
                f"Incorrect API key provided: {_masked(request.headers.get('Authorization', ''))}. "
                "You can find your API key in the simulator's configuration.",
                "invalid_request_error", "invalid_api_key"), status=401)
        try:
            body, payload, schema_name, schema, max_tokens = await self._read(request)
        except _BadRequest as exc:
            self.stats.rejected(400)
            return web.json_response(_error_body(str(exc), "invalid_request_error", None, exc.param), status=400)

        model = body.get("model") or config.model
        if model != config.model and not config.serve_any_model:
            return self._refusal("model_not_found", model)
        prompt_tokens = estimate_prompt_tokens(body["messages"])
        refused = self._gateway_refusal(model, prompt_tokens)
        if refused is not None:
            return refused  # the provider never saw it: no fault drawn, nothing charged
        charged = prompt_tokens + max_tokens
        fault = self._next_fault()
        if fault == "insufficient_quota":
            self.stats.fault(fault)
            return web.json_response(_error_body(_QUOTA_MESSAGE, "insufficient_quota", "insufficient_quota"),
                                     status=429)
        if fault == "rate_limit":
            return self._scripted_rate_limit(model)
        rejection = self.limits.admit(charged)
        if rejection is not None:
            return self._rate_limited(rejection, model)
        self.stats.admitted(charged)
        failed = await self._fail_before_answering(fault, request)
        if failed is not None:
            return failed
        content, finish_reason = self._content(fault, schema_name, payload, schema, max_tokens)
        completion_tokens = estimate_completion_tokens(content)
        delay = self._latency_s(completion_tokens)
        if delay > 0:
            await asyncio.sleep(delay)
        self.stats.success(prompt_tokens, completion_tokens)
        headers = self._limit_headers()
        if self.gateway is not None:
            headers = self.gateway.answered(headers, prompt_tokens, completion_tokens)
        return web.json_response(
            self._completion(model, content, finish_reason, prompt_tokens, completion_tokens), headers=headers)

    def _refusal(self, kind: str, model: str) -> web.Response:
        """A provider's answer to a wrong configuration, in OpenAI's words and shape."""
        if kind == "invalid_api_key":
            status, body = 401, _error_body(
                "Incorrect API key provided: sk-revo*****************ked. You can find your API key at "
                "https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key")
        elif kind == "model_not_found":
            status, body = 404, _error_body(f"The model `{model}` does not exist or you do not have access to it.",
                                            "invalid_request_error", "model_not_found")
        elif kind == "response_format":
            status, body = 400, _error_body(
                "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model. Learn "
                "more about supported models at the Structured Outputs guide: "
                "https://platform.openai.com/docs/guides/structured-outputs", "invalid_request_error", None,
                "response_format")
        else:  # a 400 that names nothing, as some gateways answer
            status, body = 400, _error_body("Bad request.", "invalid_request_error", None)
        self.stats.rejected(status)
        return web.json_response(body, status=status)

    def _gateway_refusal(self, model: str, prompt_tokens: int) -> web.Response | None:
        """The gateway's own 429 when its hidden limit is reached; None when it lets the request through."""
        refusal = self.gateway.refuse(model, prompt_tokens) if self.gateway is not None else None
        if refusal is None:
            return None
        self.stats.rate_limited("gateway")
        return web.json_response(dict(refusal.body), status=429, headers=dict(refusal.headers))

    async def _fail_before_answering(self, fault: str | None, request: web.Request) -> web.StreamResponse | None:
        """The faults that take the place of an answer: a 5xx or a dropped connection; a hang delays one."""
        if fault == "5xx":
            self.stats.fault(fault)
            status = self._fault_rng.choice((500, 502, 503, 504))
            return web.json_response(_error_body(_SERVER_ERROR_MESSAGE, "server_error", None), status=status)
        if fault == "drop":
            self.stats.fault(fault)
            return self._drop(request)
        if fault == "hang":
            self.stats.fault(fault)
            try:  # ends early only when the server stops, so shutdown never waits for a hang
                await asyncio.wait_for(self.stopping.wait(), timeout=self.config.hang_s)
            except asyncio.TimeoutError:
                pass
        return None

    def _content(self, fault: str | None, schema_name: str, payload: dict, schema: Mapping,
                 max_tokens: int) -> tuple[str, str]:
        """The answer's text and finish reason: the task model's answer, perturbed or broken as configured."""
        if schema_name not in KNOWN_SCHEMAS:  # a request for another task (a client's preflight): a minimal answer
            return json.dumps(conform({}, schema), ensure_ascii=False), "stop"
        task, reply = answer(schema_name, payload)
        if self.config.answer_error_rate and self._answer_rng.random() < self.config.answer_error_rate:
            reply = perturb(task, reply, self._answer_rng)
        reply = conform(reply, schema)
        if fault == "schema_violation":
            self.stats.fault(fault)
            reply = break_schema(reply, schema)
        content = json.dumps(reply, ensure_ascii=False)
        if fault == "invalid_json":
            self.stats.fault(fault)
            content = content[: max(1, len(content) // 2)]  # cut mid-object: never parses
        if estimate_completion_tokens(content) > max_tokens:
            return content[: max_tokens * 4], "length"
        return content, "stop"

    def _completion(self, model: str, content: str, finish_reason: str, prompt_tokens: int,
                    completion_tokens: int) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-sim{next(self._ids):012d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_sim",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    async def _read(self, request: web.Request) -> tuple[dict, dict, str, Mapping, int]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise _BadRequest(f"We could not parse the JSON body of your request: {exc}") from exc
        if not isinstance(body, dict):
            raise _BadRequest("The request body must be a JSON object.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise _BadRequest("'messages' must be a non-empty array of objects.", "messages")
        response_format = body.get("response_format")
        json_schema = response_format.get("json_schema") if isinstance(response_format, dict) else None
        if (not isinstance(json_schema, dict) or response_format.get("type") != "json_schema"
                or not isinstance(json_schema.get("schema"), dict) or not isinstance(json_schema.get("name"), str)):
            raise _BadRequest("This simulator answers only Structured Outputs requests: 'response_format' must be "
                              "{'type': 'json_schema', 'json_schema': {'name': ..., 'schema': {...}}}.",
                              "response_format")
        if self.config.no_structured_outputs:
            raise _BadRequest("Invalid parameter: 'response_format' of type 'json_schema' is not supported with this "
                              "model. Learn more about supported models at the Structured Outputs guide: "
                              "https://platform.openai.com/docs/guides/structured-outputs", "response_format")
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))  # older clients send max_tokens
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            raise _BadRequest("'max_completion_tokens' must be a positive integer.", "max_completion_tokens")
        if json_schema["name"] not in KNOWN_SCHEMAS:
            return body, {}, json_schema["name"], json_schema["schema"], max_tokens  # any other task: see _content
        try:
            payload = extract_payload(messages)
        except ValueError as exc:
            raise _BadRequest(f"The simulator could not read the prompt's data block: {exc}", "messages") from exc
        return body, payload, json_schema["name"], json_schema["schema"], max_tokens

    def _rate_limited(self, rejection: Rejection, model: str) -> web.Response:
        self.stats.rate_limited(rejection.kind)
        wait = rejection.wait_s
        message = (
            f"Rate limit reached for {model} in organization {ORGANIZATION} on {_LIMIT_NAMES[rejection.kind]}: "
            f"Limit {rejection.limit}, Used {rejection.used}, Requested {rejection.requested}. "
            f"Please try again in {format_duration(wait)}. Visit https://platform.openai.com/account/rate-limits "
            f"to learn more."
        )
        headers = self._limit_headers()
        if self.gateway is not None:
            headers = self.gateway.provider_refused(headers)
        if self._header_rng.random() < self.config.retry_after_rate:
            # Real gateways differ: some send both hints, some only one.
            style = self._header_rng.choice(("both", "ms", "seconds"))
            if style in ("both", "ms"):
                headers["retry-after-ms"] = str(max(1, math.ceil(wait * 1000)))
            if style in ("both", "seconds"):
                headers["retry-after"] = str(max(1, math.ceil(wait)))
        return web.json_response(_error_body(message, rejection.kind, "rate_limit_exceeded"),
                                 status=429, headers=headers)

    def _scripted_rate_limit(self, model: str) -> web.Response:
        """A requests 429 forced by the script: both retry hints, always, and the same in the message."""
        self.stats.rate_limited("requests")
        wait = self.config.scripted_retry_after_s
        limit = self.config.rpm or 600
        message = (f"Rate limit reached for {model} in organization {ORGANIZATION} on {_LIMIT_NAMES['requests']}: "
                   f"Limit {limit}, Used {limit}, Requested 1. Please try again in {format_duration(wait)}. "
                   "Visit https://platform.openai.com/account/rate-limits to learn more.")
        headers = {**self._limit_headers(), "retry-after-ms": str(max(1, math.ceil(wait * 1000))),
                   "retry-after": str(max(1, math.ceil(wait)))}
        return web.json_response(_error_body(message, "requests", "rate_limit_exceeded"), status=429, headers=headers)

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        # Close the socket without a byte of response: the client sees a dropped connection.
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError


class RunningSimulator:
    """A simulator serving on its own event loop in a daemon thread; a context manager."""

    def __init__(self, config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0):
        self.config = config
        self.host = host
        self._requested_port = port
        self.port: int | None = None
        self._model: SimulatedModel | None = None
        self._runner: web.AppRunner | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="llm-simulator", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def start(self) -> "RunningSimulator":
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start())
        except BaseException as exc:  # reported to the thread that called start()
            self._error = exc
            self._ready.set()
            self._loop.close()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _start(self) -> None:
        self._model = SimulatedModel(self.config)
        # handler_cancellation: a client that gives up (timeout) frees its handler at once.
        self._runner = web.AppRunner(self._model.app(), handler_cancellation=True, access_log=None,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stats(self) -> dict[str, Any]:
        assert self._model is not None, "the simulator is not running"
        return self._model.stats.snapshot()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            assert self._model is not None and self._runner is not None
            self._model.stopping.set()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    def __enter__(self) -> "RunningSimulator":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_simulator(config: SimulatorConfig = SimulatorConfig(), host: str = "127.0.0.1",
                    port: int = 0) -> RunningSimulator:
    """Start a simulator on ``host:port`` (0: any free port) and return once it accepts connections."""
    return RunningSimulator(config, host, port).start()
