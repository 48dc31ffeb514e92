"""The house command line of every command: --version, plain-text help that ends with the exit codes and one
example, nothing in it that points outside the repository, and ``claim-assess COMMAND`` running the same code."""

from __future__ import annotations

import importlib

import pytest

from claim_assess import __version__

COMMANDS = ("assess", "verify", "report", "evaluate", "generate", "simulate", "bench")


def _help(name: str, capsys: pytest.CaptureFixture, *flags: str) -> str:
    command = importlib.import_module(f"claim_assess.drivers.{name}")
    assert command.main(list(flags)) == 0  # main returns its exit code, --help included
    return capsys.readouterr().out


@pytest.mark.parametrize("name", COMMANDS)
def test_help_is_plain_text_with_exit_codes_and_an_example(name, capsys):
    text = _help(name, capsys, "--help")
    assert text.startswith(f"usage: claim-assess {name} ")
    codes = text.split("exit codes:\n", 1)[1].split("\n\nexample:\n", 1)
    assert codes[0].lstrip().startswith("0") and "\n  2 " in codes[0]
    assert codes[1].strip().startswith(f"claim-assess {name} ")
    for outside in ("``", "§", "spec ", "../", "python -m"):
        assert outside not in text, (name, outside)


@pytest.mark.parametrize("name", COMMANDS)
def test_version(name, capsys):
    assert _help(name, capsys, "--version").strip() == f"claim-assess {__version__}"


def test_verify_lists_its_integrity_exit_code(capsys):
    assert "\n  1   integrity failure" in _help("verify", capsys, "--help")


def test_claim_assess_runs_each_command_and_says_what_they_are(capsys):
    from claim_assess.drivers import cli

    assert cli.main(["--version"]) == 0 and capsys.readouterr().out.strip() == f"claim-assess {__version__}"
    assert cli.main([]) == 2  # no command: the overview, as a usage error
    overview = capsys.readouterr().out
    assert all(f"  {name} " in overview for name in COMMANDS) and "exit codes:" in overview
    assert cli.main(["verify", "--version"]) == 0 and capsys.readouterr().out.strip() == f"claim-assess {__version__}"
    assert cli.main(["frobnicate"]) == 2 and "unknown command 'frobnicate'" in capsys.readouterr().err


@pytest.mark.parametrize("name", COMMANDS)
def test_a_usage_error_exits_2_and_says_so(name, capsys):
    command = importlib.import_module(f"claim_assess.drivers.{name}")
    assert command.main(["--no-such-flag"]) == 2
    assert "error:" in capsys.readouterr().err  # argparse names what is wrong (a required flag comes first)


def test_the_installed_command_points_at_the_same_code():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"claim-assess": "claim_assess.drivers.cli:main"}
