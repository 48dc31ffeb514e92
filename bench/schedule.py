"""Every run of the selected scenarios, in order, with the slow CPU-idle ones in the background.

Why a background at all: the sequential baseline of 200 claims at 800 ms takes about 9 minutes yet needs almost no
CPU, so it runs beside the other runs. The ceiling run measures the machine, so it waits for the background to
finish and runs alone. One broken run is recorded as broken; it never loses the other runs' figures.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from claim_assess.bench.datasets import Datasets
from claim_assess.bench.measure import measure
from claim_assess.bench.scenarios import RunSpec, Scenario


def run_all(selected: Sequence[Scenario], workdir: Path, *, keep: bool,
            log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Every run of the selected scenarios, in the order they are listed; background runs alongside the rest."""
    datasets = Datasets(workdir / "datasets")
    ordered = [(scenario, spec) for scenario in selected for spec in scenario.runs]
    results: dict[int, dict[str, Any]] = {}

    def guarded(index: int, scenario: Scenario, spec: RunSpec) -> None:
        try:
            results[index] = measure(spec, scenario, datasets, workdir, keep=keep, log=log)
        except Exception as exc:  # one broken run must not lose the others' numbers
            results[index] = {"scenario": scenario.name, "label": spec.label, "kind": spec.kind,
                              "workers": spec.workers, "claims": spec.claims, "error": f"{type(exc).__name__}: {exc}",
                              "one_decision_per_claim": False}
            log(f"[{scenario.name}] {spec.label}: BROKE: {exc}")

    background = []
    for index, (scenario, spec) in enumerate(ordered):
        if spec.background:
            datasets.get(spec.claims, scenario.seed)
            thread = threading.Thread(target=guarded, args=(index, scenario, spec), name=f"bench-{spec.label}",
                                      daemon=True)
            thread.start()
            background.append(thread)
    for index, (scenario, spec) in enumerate(ordered):
        if spec.background:
            continue
        if spec.sample_memory:
            # A memory/ceiling run measures the machine: nothing else may run beside it.
            for thread in background:
                thread.join()
        guarded(index, scenario, spec)
    for thread in background:
        thread.join()
    return [results[i] for i in range(len(ordered))]
