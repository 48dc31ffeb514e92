"""What a run was asked to do: ``RunSettings``, made from flags for a new run or read back for a resume.

The settings are written to ``runs/<run_id>/settings.json`` before the first claim starts (``--resume`` reads
them back) and into summary.json. They never hold a secret: the API key comes from ``OPENAI_API_KEY`` when the
run starts, and a base URL that carries credentials is only accepted from ``OPENAI_BASE_URL``, never as a flag
(flags show in process lists and in these files).

Endpoint rules, as the openai SDK has them: ``--base-url``, else ``OPENAI_BASE_URL``, else OpenAI's own URL;
the key from ``OPENAI_API_KEY``. With ``--llm sim`` (the default) the built-in simulator is used and both are
ignored.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from claim_assess.claims.dataset import check_input_location, is_uri
from claim_assess.credentials import has_credentials
from claim_assess.errors import ConfigError
from claim_assess.files import write_text
from claim_assess.run.workspace import RunPaths, Workspace, check_run_id

SIM_MODEL = "sim-gpt"
OPENAI_MODEL = "gpt-4o-mini"
OPENAI_BASE_URL = "https://api.openai.com/v1"
SIM_API_KEY = "sim-no-key"  # the simulator accepts any key
DEFAULT_ACTORS, DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT_S = 4, 8, 60.0
# Ray keeps about 11 KB of driver memory per distinct task name (measured), so "assess <claim_id>" names are
# for runs small enough to read in the dashboard; above this many claims a run names every task "assess".
PER_CLAIM_TASK_NAMES_UP_TO = 5_000
# What --resume may change; everything else (dataset, claim selection, endpoint, model) is the run's own.
RESUMABLE = ("actors", "claims_per_actor", "rpm", "tpm", "timeout_s", "address", "dashboard", "sim_host")


def sample_dataset() -> Path:
    """The bundled 50-claim sample (package data, so an installed wheel has it too)."""
    return Path(str(resources.files("claim_assess") / "data" / "sample"))


@dataclass(frozen=True)
class RunSettings:
    input: str
    workspace: str
    run_id: str
    actors: int = DEFAULT_ACTORS
    claims_per_actor: int = DEFAULT_CONCURRENCY
    llm: str = "sim"  # "sim" | "openai"
    base_url: str | None = None  # --base-url as given (credential-free); None: OPENAI_BASE_URL or OpenAI's
    model: str = SIM_MODEL
    rpm: int | None = None
    tpm: int | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    address: str | None = None
    claim_ids: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    limit: int | None = None
    dashboard: bool = True
    sim_host: str | None = None
    task_names: str = "auto"  # "auto" | "per-claim" | "fixed"
    # What the rate limiter learned of how the provider enforces (Enforcement.to_json each): a resume starts there.
    learned_limits: tuple[dict[str, Any], ...] = ()
    # Runs whose recorded answers this run reuses (--reuse-answers): kept here, so a --resume keeps reusing them.
    reuse_answers: tuple[str, ...] = ()
    # Prices per million tokens (decimal strings, --price-input / --price-output / --pricing): what the tokens a
    # reuse saved would have cost. None: the cost saved is not known.
    price_input_per_m: str | None = None
    price_output_per_m: str | None = None

    @property
    def paths(self) -> RunPaths:
        return Workspace(self.workspace).run(self.run_id)

    @property
    def ledger_dir(self) -> Path:
        return Workspace(self.workspace).ledger_dir

    @property
    def namespace(self) -> str:
        """The Ray namespace of the run's actors (the dashboard groups them by it)."""
        return f"claim-assess.{self.run_id}"

    def resume_command(self) -> str:
        return f"claim-assess assess --resume --run {self.run_id} --workspace {self.workspace}"

    def per_claim_task_names(self, claims: int) -> bool:
        return self.task_names == "per-claim" or (self.task_names == "auto" and claims <= PER_CLAIM_TASK_NAMES_UP_TO)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known})


def new_run_id(now: datetime | None = None) -> str:
    return f"run-{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def new_settings(*, workspace: str | Path, run_id: str | None = None, input: str | Path | None = None,
                 llm: str = "sim", base_url: str | None = None, model: str | None = None,
                 **values: Any) -> RunSettings:
    """Settings for a new run; ``values`` are the other RunSettings fields (None: the default)."""
    if llm not in ("sim", "openai"):
        raise ConfigError(f"--llm must be sim or openai, got {llm!r}")
    if llm == "sim" and base_url:
        raise ConfigError("--base-url goes with --llm openai (the simulator picks its own local URL)")
    if base_url and has_credentials(base_url):
        raise ConfigError("--base-url must not carry credentials (user:password@, a query such as ?api-key=): "
                          "flags show in process lists and in the run's settings; set OPENAI_BASE_URL instead")
    settings = RunSettings(
        input=_input_location(input),
        workspace=str(Path(workspace)),
        run_id=check_run_id(run_id) if run_id is not None else new_run_id(),
        llm=llm,
        base_url=base_url,
        model=model or (SIM_MODEL if llm == "sim" else OPENAI_MODEL),
        **{k: v for k, v in values.items() if v is not None},
    )
    return _checked(settings)


def _input_location(given: str | Path | None) -> str:
    """A local path as a path, a URI (s3://, gs://, file://) exactly as given: ``Path`` would fold its ``//``."""
    if given is None:
        return str(sample_dataset())
    text = os.fspath(given)
    return check_input_location(text) if is_uri(text) else str(Path(text))


def _checked(settings: RunSettings) -> RunSettings:
    if settings.timeout_s <= 0:
        raise ConfigError(f"--timeout must be positive, got {settings.timeout_s}")
    for name in ("actors", "claims_per_actor"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"{name} must be at least 1, got {getattr(settings, name)}")
    return settings


def resumed_settings(workspace: str | Path, run_id: str, **overrides: Any) -> RunSettings:
    """The interrupted run's own settings, with only the RESUMABLE ones taken from ``overrides`` (None: keep)."""
    path = Workspace(workspace).run(run_id).settings
    try:
        stored = RunSettings.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"--resume: {Workspace(workspace).unknown_run(run_id)} ({path} is missing)") from None
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"--resume --run {run_id}: cannot read {path}: {exc}") from exc
    refused = sorted(k for k, v in overrides.items() if v is not None and k not in RESUMABLE)
    if refused:
        raise ConfigError(f"--resume continues a run with its own dataset, claims, endpoint and model; drop "
                          f"{', '.join('--' + k.replace('_', '-') for k in refused)}")
    given = {k: v for k, v in overrides.items() if v is not None}
    return _checked(replace(stored, workspace=str(Path(workspace)), **given))


def save(settings: RunSettings) -> Path:
    """Write settings.json, refusing to overwrite another run's."""
    path = settings.paths.settings
    if path.exists():
        raise ConfigError(f"run {settings.run_id!r} already exists in {settings.workspace}; "
                          f"continue it with --resume --run {settings.run_id}")
    # Atomically (temp file, fsync, rename), like every other rewrite of it: a driver killed in the middle of a
    # plain write left an empty or half settings.json, and such a run could neither be resumed (unreadable) nor
    # started again under its id (it "already exists").
    return write_text(path, json.dumps(settings.to_json(), indent=2) + "\n")


def remember_learned_limits(settings: RunSettings, learned: tuple[dict[str, Any], ...]) -> RunSettings:
    """Rewrite settings.json with what the limiter learned (atomically: a crash leaves the old or the new file)."""
    updated = replace(settings, learned_limits=tuple(learned))
    write_text(settings.paths.settings, json.dumps(updated.to_json(), indent=2) + "\n")
    return updated


def resolve_endpoint(settings: RunSettings, environ: dict[str, str] | None = None) -> tuple[str, str]:
    """(base URL, API key) of a real endpoint, as the openai SDK resolves them; ConfigError without a key."""
    environ = os.environ if environ is None else environ
    key = environ.get("OPENAI_API_KEY")
    if not key:
        raise ConfigError("--llm openai needs the API key in the OPENAI_API_KEY environment variable")
    return settings.base_url or environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL, key
