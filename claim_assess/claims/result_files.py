"""The names of a run's result files (their format is ``claim_assess.claims.results``).

A module of its own, with no import: the workspace layout needs the names, and every command line reads the
layout, so the names must not pull in pyarrow and pydantic (``claim-assess verify`` would carry them for nothing).
"""

RESULTS_FILE, LINE_ITEMS_FILE = "results.parquet", "line_items.parquet"
