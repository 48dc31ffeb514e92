"""The shape of the code, enforced: who may import whom, the pure core free of Ray, short drivers and functions.

The design's layers, bottom up (a package may import the ones below it, never one above):

    claim_assess.{errors, strict_json, credentials, files, stats, logs}   shared base
    claims  ->  llm  ->  simulator, ledger (beside llm)                    the pure core: no Ray, ever
    run (settings, workspace, summary, ...; Ray only through actors)
    report, plan, replay (the run's data modules, never its orchestration)
    whatif (replay's reading and answers under new terms, the report's page style)
    actors (the Ray shells)  ->  drivers (entry points)                    bench/ is never imported by any of them
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "claim_assess"
BASE = {"errors", "strict_json", "credentials", "files", "stats", "logs"}
# What each package may import of claim_assess (besides itself and BASE).
ALLOWED = {
    "claims": set(),
    "llm": {"claims"},
    "simulator": {"claims", "llm"},
    "ledger": set(),
    "run": {"claims", "llm", "simulator", "ledger", "report", "plan", "actors"},
    "report": {"claims", "llm", "ledger", "run"},
    "plan": {"claims", "llm", "run"},
    "replay": {"claims", "llm", "ledger", "run"},
    "whatif": {"claims", "llm", "ledger", "run", "replay", "report"},
}
# The run's data: what report and plan may read of a run (its orchestration reaches Ray and writes the report).
RUN_DATA = {"settings", "workspace", "summary", "journal", "timeline", "progress", "outcome"}
PURE = ("claims", "llm", "simulator", "ledger", "report", "plan", "replay", "whatif")
MAX_DRIVER_LINES, MAX_FUNCTION_LINES = 150, 60


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(folder: Path) -> list[Path]:
    files = sorted(folder.rglob("*.py"))
    assert files, f"{folder} has no Python files"
    return files


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_the_layers_below_it(package):
    offenders = []
    for path in _files(PACKAGE / package):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] in ("ray", "bench") or name.startswith(("claim_assess.drivers", "claim_assess.bench")):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")  # run reaches Ray through actors only
                continue
            if parts[0] != "claim_assess" or len(parts) < 2 or parts[1] in BASE | {package}:
                continue
            if parts[1] not in ALLOWED[package]:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
            elif package in ("report", "plan", "replay", "whatif") and parts[1] == "run" and (len(parts) < 3 or parts[2] not in RUN_DATA):
                offenders.append(f"{path.relative_to(ROOT)} imports the run's orchestration ({name})")
    assert offenders == []


def test_the_shared_base_imports_nothing_of_the_packages():
    offenders = [f"{path.name} imports {name}" for path in sorted(PACKAGE.glob("*.py")) for name in _imports(path)
                 if (name.startswith("claim_assess.") and name.split(".")[1] not in BASE) or name.startswith("ray")]
    assert offenders == []


@pytest.fixture(scope="module")
def ray_loaded_after() -> dict[str, bool]:
    """One fresh interpreter imports every module of each pure package in turn and says, after each package,
    whether Ray is loaded: a package that pulled it in shows True where the packages before it showed False.
    (One interpreter, not one per package: starting Python is most of this test's cost.)"""
    code = "import sys\n"
    for package in PURE:
        modules = sorted(f"claim_assess.{package}." + p.relative_to(PACKAGE / package).with_suffix("").as_posix()
                         .replace("/", ".") for p in _files(PACKAGE / package) if p.name != "__init__.py")
        code += "".join(f"import {m}\n" for m in modules) + f"print({package!r}, 'ray' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    seen = dict(line.split() for line in out.stdout.splitlines())
    assert list(seen) == list(PURE), out.stdout
    return {package: value == "True" for package, value in seen.items()}


@pytest.mark.parametrize("package", PURE)
def test_importing_a_pure_package_loads_no_ray(package, ray_loaded_after):
    """Transitively: a pure package that imported the run's orchestration would pull Ray in through actors."""
    assert ray_loaded_after[package] is False


@pytest.mark.slow  # two fresh interpreters
def test_the_driver_does_not_import_the_openai_client_until_a_preflight_needs_it():
    """The openai client is about a second of import on the path to the first call: only the assessors (which call
    the model) and a preflight against a real endpoint import it. The driver's whole run path is imported here,
    the actors' modules included (the driver imports them to create the actors)."""
    code = ("import sys\nimport claim_assess.drivers.assess, claim_assess.run.execute, claim_assess.actors.fleet\n"
            "print(sorted(m for m in sys.modules if m == 'openai' or m.startswith('openai.'))[:3])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    preflight = subprocess.run([sys.executable, "-c", "import sys, claim_assess.llm.preflight\n"
                                "print('openai' in sys.modules)"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert preflight.stdout.strip() == "True"  # the check above would see it if the driver imported the preflight


@pytest.mark.slow  # a fresh interpreter
def test_an_assessor_does_not_import_the_simulator():
    """Every assessor imports its actor module and unpickles an LLMEndpoint before its first claim: the simulator
    (its aiohttp server, about 0.2 s of CPU per assessor) must not come with them; the driver imports it to start it."""
    code = ("import sys\nimport claim_assess.actors.assessor, claim_assess.run.endpoint, claim_assess.llm.client\n"
            "print(sorted(m for m in sys.modules if m.startswith(('claim_assess.simulator', 'aiohttp.web'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_actors_never_reach_for_the_drivers_or_the_benchmark():
    offenders = [f"{path.name} imports {name}" for path in _files(ROOT / "actors") for name in _imports(path)
                 if name.startswith(("claim_assess.drivers", "claim_assess.bench", "bench"))]
    assert offenders == []


def test_ledger_depends_only_on_stdlib_and_its_allowed_packages():
    allowed_roots = {"rfc8785", "cryptography", "claim_assess"}
    stdlib = set(sys.stdlib_module_names)
    offenders = [f"{path.relative_to(ROOT)} imports {name}" for path in _files(PACKAGE / "ledger")
                 for name in _imports(path) if name.split(".")[0] not in stdlib | allowed_roots]
    assert offenders == []


def test_drivers_are_short_entry_points():
    long = {path.name: n for path in _files(ROOT / "drivers")
            if (n := path.read_text(encoding="utf-8").count("\n")) > MAX_DRIVER_LINES}
    assert long == {}


def test_no_function_in_the_library_or_the_actors_is_long():
    long = []
    for path in [*_files(PACKAGE), *_files(ROOT / "actors")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def test_every_package_is_installed():
    """The wheel lists its packages explicitly (actors/ and drivers/ are mapped into the namespace)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    present = {"claim_assess", *(f"claim_assess.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")),
               "claim_assess.actors", "claim_assess.drivers"}
    assert listed == present
