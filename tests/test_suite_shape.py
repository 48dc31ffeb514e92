"""The suite's two speeds hold by construction: every test that starts Ray is marked `ray` and `slow`, every test
that asks for a slow fixture is `slow`, and every `ray` test is `slow`. So `pytest -m "not slow"` (the unit and
contract layer, in minutes on 2 cores) never starts Ray, and plain `pytest` (what .ci/run runs) runs everything.

The marks come from tests/conftest.py's collection hook; these tests read them back the way pytest sees them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import COLLECTED, RAY_FIXTURES, SLOW_FIXTURES

ROOT = Path(__file__).resolve().parent.parent

# (node id, fixtures it uses, names of its marks)
Shape = tuple[str, set[str], set[str]]


def broken_rules(tests: list[Shape]) -> list[str]:
    problems = []
    for nodeid, fixtures, marks in tests:
        if fixtures & RAY_FIXTURES and not {"ray", "slow"} <= marks:
            problems.append(f"{nodeid} uses {sorted(fixtures & RAY_FIXTURES)} but is marked {sorted(marks)}")
        elif fixtures & SLOW_FIXTURES and "slow" not in marks:
            problems.append(f"{nodeid} uses {sorted(fixtures & SLOW_FIXTURES)} but is not marked slow")
        elif "ray" in marks and "slow" not in marks:
            problems.append(f"{nodeid} is marked ray but not slow")
    return problems


def shape_of(item: pytest.Item) -> Shape:
    return item.nodeid, set(getattr(item, "fixturenames", ())), {mark.name for mark in item.iter_markers()}


def test_the_rules_catch_an_unmarked_ray_test():
    assert broken_rules([("t::a", {"ray_session", "tmp_path"}, set())]) == [
        "t::a uses ['ray_session'] but is marked []"]
    assert broken_rules([("t::b", {"s3"}, {"ray"})]) == ["t::b uses ['s3'] but is not marked slow"]
    assert broken_rules([("t::c", set(), {"ray"})]) == ["t::c is marked ray but not slow"]
    assert broken_rules([("t::d", {"ray_session"}, {"ray", "slow", "parametrize"})]) == []


def test_the_tests_this_session_collected_keep_the_rules(request):
    """Whatever -m deselects: the hook kept every collected test, so `pytest -m "not slow"` checks the slow ones too."""
    collected = request.config.stash[COLLECTED]
    if not any(RAY_FIXTURES & set(getattr(item, "fixturenames", ())) for item in collected):
        pytest.skip("this session collected no test that uses ray_session; the whole-suite check below does")
    assert broken_rules([shape_of(item) for item in collected]) == []


COLLECT = r"""
import json, sys
import pytest

class Record:
    def pytest_collection_finish(self, session):
        shapes = [[i.nodeid, sorted(getattr(i, "fixturenames", ())), sorted({m.name for m in i.iter_markers()})]
                  for i in session.items]
        with open(sys.argv[1], "w") as out:
            json.dump(shapes, out)

sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "tests"],
                     plugins=[Record()]))
"""


@pytest.mark.slow  # collects the whole suite in a fresh interpreter
def test_the_whole_suite_collected_afresh_keeps_the_rules(tmp_path):
    out = tmp_path / "shapes.json"
    done = subprocess.run([sys.executable, "-c", COLLECT, str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tests = [(nodeid, set(fixtures), set(marks)) for nodeid, fixtures, marks in json.loads(out.read_text())]
    uses_ray = [nodeid for nodeid, fixtures, _ in tests if fixtures & RAY_FIXTURES]
    assert len(uses_ray) >= 10, uses_ray  # the suite's Ray tier is there: the check below is not vacuous
    assert broken_rules(tests) == []
