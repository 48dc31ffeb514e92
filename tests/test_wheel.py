"""The installable product: a wheel that adds one name to site-packages, carries the sample, and runs from anywhere.

Built from this checkout with the project's own build backend, installed into a fresh target folder and run from a
directory outside the repository, so nothing of the checkout can be picked up by accident.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # a pip build and install (the wheel fixture is slow too: tests/conftest.py)
# PyPI has distributions with each of these names; installing beside them must not overwrite them.
GENERIC = {"llm", "ledger", "claims", "actors", "drivers", "bench"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True, timeout=300)
    (built,) = out.glob("claim_assess-*.whl")
    return built


def test_the_wheel_installs_one_top_level_name_and_carries_the_sample(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"claim_assess"} and not top & GENERIC
    for needed in ("claim_assess/data/sample/policies.jsonl", "claim_assess/data/sample/claims.jsonl",
                   "claim_assess/actors/assessor.py", "claim_assess/drivers/cli.py", "claim_assess/run/execute.py"):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("claim_assess/bench", "tests/"))]  # the benchmark stays home
    meta = next(n for n in names if n.endswith("entry_points.txt"))
    assert "claim-assess = claim_assess.drivers.cli:main" in zipfile.ZipFile(wheel).read(meta).decode()


def test_the_installed_command_runs_from_anywhere(wheel, tmp_path):
    target, cwd = tmp_path / "site", tmp_path / "elsewhere"
    cwd.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}  # the installed copy first: this checkout is not on the path
    run = lambda *args: subprocess.run([sys.executable, "-c", "import sys; from claim_assess.drivers.cli import main;"
                                        " sys.exit(main(sys.argv[1:]))", *args], cwd=cwd, env=env,
                                       capture_output=True, text=True, timeout=120)  # noqa: E731
    where = subprocess.run([sys.executable, "-c", "import claim_assess; print(claim_assess.__file__)"], cwd=cwd,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(target))
    plan = run("assess", "--dry-run", "--json")
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["claims"] == 50  # the bundled sample, found inside the installed package
    bench = run("bench")
    assert bench.returncode == 2 and "ships with the source repository" in bench.stderr
