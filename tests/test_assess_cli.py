"""claim-assess assess from the command line, where no Ray is needed: errors before anything starts, --json
always a JSON object, --dry-run writing nothing."""

from __future__ import annotations

import json

from claim_assess.drivers import assess


def test_json_is_a_json_object_even_when_the_run_cannot_start(tmp_path, capsys):
    code = assess.main(["--input", str(tmp_path / "missing"), "--workspace", str(tmp_path), "--json", "--run", "r1"])
    out = json.loads(capsys.readouterr().out)
    assert code == 2 and out["exit_code"] == 2 and out["run_id"] == "r1" and out["error_type"] == "DatasetError"
    assert str(tmp_path / "missing") in out["error"]


def test_a_real_endpoint_without_a_key_is_named_before_anything_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code = assess.main(["--llm", "openai", "--workspace", str(tmp_path), "--quiet"])
    assert code == 2 and "OPENAI_API_KEY" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # no settings.json, no ledger: the run id stays free


def test_resume_needs_the_run_it_continues(tmp_path, capsys):
    assert assess.main(["--resume", "--workspace", str(tmp_path)]) == 2
    assert "--resume needs --run RUN_ID" in capsys.readouterr().out


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    code = assess.main(["--dry-run", "--json", "--workspace", str(tmp_path / "ws"), "--price-input", "0.15",
                        "--price-output", "0.60"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0 and plan["claims"] == 50 and plan["llm_calls"]["total"] > 0 and plan["cost"] is not None
    assert not (tmp_path / "ws").exists()
