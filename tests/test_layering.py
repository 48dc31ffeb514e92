"""The pure core never imports Ray: it must stay testable without it and runnable under another executor."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE_PACKAGES = ("claim_assess/claims", "claim_assess/llm", "claim_assess/simulator", "claim_assess/ledger")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_package_does_not_import_ray(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in _imported_modules(path)
        if name == "ray" or name.startswith("ray.")
    ]
    assert offenders == []


def test_ledger_depends_only_on_stdlib_and_its_allowed_packages():
    allowed_roots = {"rfc8785", "cryptography", "claim_assess", "ledger"}
    import sys

    stdlib = set(sys.stdlib_module_names)
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "claim_assess" / "ledger").rglob("*.py"))
        for name in _imported_modules(path)
        if name.split(".")[0] not in stdlib | allowed_roots
    ]
    assert offenders == []
