"""The dry run of ``claim-assess assess --dry-run``: the plan for a run's own settings and prices."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from claim_assess.claims.dataset import ClaimEntry, Dataset
from claim_assess.llm.reuse import ReuseIndex
from claim_assess.plan.planner import DEFAULT_LATENCY_S, Plan, plan_run
from claim_assess.plan.pricing import resolve_prices
from claim_assess.run.settings import RunSettings


def dry_run(dataset: Dataset, entries: Iterable[ClaimEntry], settings: RunSettings, *, price_input: float | None,
            price_output: float | None, pricing_file: str | Path | None,
            latency_s: float = DEFAULT_LATENCY_S, reuse: ReuseIndex | None = None) -> Plan:
    """The plan for ``settings`` (model, limits, and actors x claims per actor in flight; ``reuse``: the index of
    its --reuse-answers, whose answers the plan takes as the run would).
    Raises ConfigError for bad prices or a pricing file without the model."""
    price_in, price_out = resolve_prices(settings.model, price_input=price_input, price_output=price_output,
                                         pricing_file=pricing_file)
    return plan_run(dataset, entries, rpm=settings.rpm, tpm=settings.tpm, model=settings.model, latency_s=latency_s,
                    concurrency=settings.actors * settings.claims_per_actor, price_in_per_m=price_in,
                    price_out_per_m=price_out, reuse=reuse)
