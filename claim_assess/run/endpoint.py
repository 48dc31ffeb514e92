"""The LLM endpoint a run talks to: the built-in simulator (``--llm sim``) or an OpenAI-compatible URL.

``LLMEndpoint`` is what every assessor is given; its repr hides the key, because Ray shows actor arguments in
logs and errors. The simulator runs in the driver's process; on a cluster it binds the driver node's IP so that
assessors on every node reach it (locally that is 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from claim_assess.credentials import public_endpoint
from claim_assess.ledger.filestore import FileLedger
from claim_assess.llm.attempts import AttemptRecord
from claim_assess.run.settings import SIM_API_KEY, RunSettings, resolve_endpoint

if TYPE_CHECKING:
    # The preflight's module is imported where it runs (see preflight). The simulator's (aiohttp, 0.2 s) where it
    # starts: every assessor unpickles an LLMEndpoint, so importing this module is on the way to the first call.
    from claim_assess.llm.preflight import PreflightResult
    from claim_assess.simulator import RunningSimulator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LLMEndpoint:
    base_url: str
    model: str
    api_key: str
    timeout_s: float = 60.0

    @property
    def public_url(self) -> str:
        return public_endpoint(self.base_url)

    def __repr__(self) -> str:
        return f"LLMEndpoint(base_url={self.public_url!r}, model={self.model!r}, api_key=<hidden>)"


@dataclass(frozen=True)
class OpenEndpoint:
    endpoint: LLMEndpoint
    simulator: RunningSimulator | None
    description: str  # what the run prints: which endpoint and model, never the key

    def close(self) -> None:
        if self.simulator is not None:
            self.simulator.stop()


def open_endpoint(settings: RunSettings, *, sim_host: str) -> OpenEndpoint:
    """Start the simulator on ``sim_host`` (``--llm sim``) or resolve the real endpoint and its key."""
    if settings.llm == "sim":
        from claim_assess.simulator import SimulatorConfig, start_simulator  # see TYPE_CHECKING above

        config = SimulatorConfig(rpm=settings.rpm, tpm=settings.tpm, model=settings.model)
        simulator = start_simulator(config, host=settings.sim_host or sim_host)
        endpoint = LLMEndpoint(simulator.url, settings.model, SIM_API_KEY, settings.timeout_s)
        return OpenEndpoint(endpoint, simulator,
                            f"built-in simulator at {simulator.url} (offline demo model {settings.model!r})")
    base_url, key = resolve_endpoint(settings)
    endpoint = LLMEndpoint(base_url, settings.model, key, settings.timeout_s)
    return OpenEndpoint(endpoint, None, f"{endpoint.public_url} model {settings.model!r} (key from OPENAI_API_KEY)")


def preflight(opened: OpenEndpoint, settings: RunSettings) -> PreflightResult:
    """The preflight of a real endpoint (claim_assess.llm.preflight). On failure its attempts are logged in the
    ledger's call log here, since no ledger actor will start; on success the fleet logs them.

    Imported here, not at the top: the preflight is the only part of the driver that makes an LLM call, and the
    openai client costs about a second of import, which a run against the simulator would otherwise pay before Ray
    even starts (its assessors import it themselves)."""
    from claim_assess.llm.preflight import PreflightError, check_endpoint

    endpoint = opened.endpoint
    try:
        return asyncio.run(check_endpoint(base_url=endpoint.base_url, api_key=endpoint.api_key, model=endpoint.model,
                                          run_id=settings.run_id, timeout_s=endpoint.timeout_s))
    except PreflightError as exc:
        log_calls_now(settings, getattr(exc, "attempts", ()))
        raise


def dry_run_preflight(settings: RunSettings) -> str:
    """The preflight of a dry run: the same request, its verdict returned as a line, nothing written (a failure
    raises PreflightError)."""
    from claim_assess.llm.preflight import check_endpoint  # see preflight

    if settings.llm == "sim":
        return "preflight: the built-in simulator is started by the run itself; there is no endpoint to check"
    endpoint = open_endpoint(settings, sim_host="127.0.0.1").endpoint  # no simulator: the host is not used
    return asyncio.run(check_endpoint(base_url=endpoint.base_url, api_key=endpoint.api_key, model=endpoint.model,
                                      run_id=settings.run_id, timeout_s=endpoint.timeout_s)).summary


def log_calls_now(settings: RunSettings, attempts: Sequence[AttemptRecord]) -> None:
    """Append ``attempts`` to the ledger's call log from the driver (no ledger actor is running)."""
    if not attempts:
        return
    try:
        with FileLedger.open(settings.ledger_dir) as ledger:
            ledger.append_calls([a.to_json() for a in attempts])
    except Exception as exc:  # noqa: BLE001 - the refusal is what the user must see; the log is secondary
        log.warning("the preflight's %d attempt(s) were not logged in the ledger: %s", len(attempts), exc)
