"""Step 1 of a run: read and check the dataset, choose the claims, write settings.json. No Ray, no LLM.

Everything that can be wrong with the command or the dataset is found here, before anything starts: a dataset
that cannot be read (DatasetError), a --claim-id that names no claim, a run id already taken (ConfigError).
"""

from __future__ import annotations

from dataclasses import dataclass

from claim_assess.claims.dataset import ClaimEntry, Dataset, read_dataset
from claim_assess.errors import ConfigError
from claim_assess.run import settings as run_settings
from claim_assess.run.assessor import PolicyBook
from claim_assess.run.settings import RunSettings


@dataclass(frozen=True)
class PreparedRun:
    settings: RunSettings
    dataset: Dataset
    entries: tuple[ClaimEntry, ...]  # the claims this run assesses, in dataset order
    book: PolicyBook
    resuming: bool


def select_entries(dataset: Dataset, settings: RunSettings) -> tuple[ClaimEntry, ...]:
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
    return tuple(entries)


def prepare(settings: RunSettings, *, resuming: bool = False) -> PreparedRun:
    if settings.llm == "openai":
        run_settings.resolve_endpoint(settings)  # a missing key is named now, not after Ray has started
    dataset = read_dataset(settings.input)
    entries = select_entries(dataset, settings)
    if not resuming:
        run_settings.save(settings)
    settings.paths.dir.mkdir(parents=True, exist_ok=True)
    settings.ledger_dir.mkdir(parents=True, exist_ok=True)
    return PreparedRun(settings, dataset, entries, PolicyBook.of(dataset), resuming)
