"""Step 1 of a run: open and check the dataset, choose the claims, write settings.json. No Ray, no LLM.

Everything that can be wrong with the command or the dataset as a whole is found here, before anything starts:
a dataset that cannot be opened (DatasetError), a --claim-id that names no claim, a run id already taken
(ConfigError). The claims themselves are not read here: the run streams them (``claim_assess.run.selection``),
so the first claim starts within seconds whatever the dataset's size.
"""

from __future__ import annotations

from dataclasses import dataclass

from claim_assess.claims.dataset import DatasetSource, open_dataset
from claim_assess.run import settings as run_settings
from claim_assess.llm.reuse import ReuseIndex
from claim_assess.run.assessor import PolicyBook
from claim_assess.run.reuse import build_reuse_index
from claim_assess.run.selection import BackgroundCount, Selection, wanted_entries
from claim_assess.run.settings import RunSettings


@dataclass(frozen=True)
class PreparedRun:
    settings: RunSettings
    dataset: DatasetSource
    selection: Selection  # the claims this run assesses, streamed in dataset order
    count: BackgroundCount  # the dataset's entries, counted beside the run
    book: PolicyBook
    resuming: bool
    reuse: ReuseIndex | None = None  # the recorded answers of --reuse-answers (a resume rebuilds it from settings)


def select_entries(dataset: DatasetSource, settings: RunSettings) -> Selection:
    """The claims this run assesses, in dataset order, as a stream; unknown --claim-id values are an error."""
    wanted = wanted_entries(dataset, settings.claim_ids) if settings.claim_ids else None
    return Selection(dataset, settings, wanted=wanted)


def prepare(settings: RunSettings, *, resuming: bool = False) -> PreparedRun:
    if settings.llm == "openai":
        run_settings.resolve_endpoint(settings)  # a missing key is named now, not after Ray has started
    dataset = open_dataset(settings.input)
    selection = select_entries(dataset, settings)
    # Before settings.json is written: an unknown run id is a usage error, and leaves no run behind.
    reuse = build_reuse_index(settings.workspace, settings.reuse_answers) if settings.reuse_answers else None
    if not resuming:
        run_settings.save(settings)
    settings.paths.dir.mkdir(parents=True, exist_ok=True)
    settings.ledger_dir.mkdir(parents=True, exist_ok=True)
    count = BackgroundCount(dataset, deferred=not dataset.cheap_to_count())  # a large one: once claims are going
    return PreparedRun(settings, dataset, selection, count, PolicyBook.of(dataset), resuming, reuse)
