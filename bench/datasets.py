"""The benchmark's synthetic datasets (``claims.synthetic``), written once per invocation and shared by its runs."""

from __future__ import annotations

import threading
from pathlib import Path


class Datasets:
    """Synthetic datasets by (size, seed), written once per bench invocation."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()  # a background run asks for its dataset beside the foreground ones
        self._made: dict[tuple[int, int], Path] = {}

    def get(self, claims: int, seed: int) -> Path:
        from claim_assess.claims import synthetic

        with self._lock:
            key = (claims, seed)
            if key not in self._made:
                path = self.root / f"claims-{claims}-seed-{seed}"
                synthetic.write_dataset(synthetic.generate(claims, seed), path)
                self._made[key] = path
            return self._made[key]
