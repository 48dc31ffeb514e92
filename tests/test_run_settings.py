"""RunSettings: made from flags, written before the first claim, read back by a resume; never a secret."""

from __future__ import annotations

import json

import pytest

from claim_assess.errors import ConfigError
from claim_assess.run import settings as run_settings
from claim_assess.run.settings import (OPENAI_BASE_URL, RunSettings, new_settings, resolve_endpoint,
                                       resumed_settings, sample_dataset, save)


def test_defaults_are_the_bundled_sample_and_the_simulator(tmp_path):
    settings = new_settings(workspace=tmp_path)
    assert settings.input == str(sample_dataset()) and (sample_dataset() / "policies.jsonl").is_file()
    assert (settings.llm, settings.model, settings.actors, settings.claims_per_actor) == ("sim", "sim-gpt", 4, 8)
    assert settings.run_id.startswith("run-") and settings.paths.dir == tmp_path / "runs" / settings.run_id
    assert new_settings(workspace=tmp_path, llm="openai").model == "gpt-4o-mini"


@pytest.mark.parametrize(("values", "message"), [
    ({"base_url": "http://localhost:8000/v1"}, "--base-url goes with --llm openai"),
    ({"llm": "openai", "base_url": "https://user:secret@gw.example/v1"}, "must not carry credentials"),
    ({"llm": "openai", "base_url": "https://gw.example/v1?api-key=abc"}, "set OPENAI_BASE_URL instead"),
    ({"run_id": "../escape"}, "is not a run id"),
    ({"timeout_s": 0.0}, "--timeout must be positive"),
    ({"llm": "anthropic"}, "--llm must be sim or openai"),
])
def test_bad_settings_are_named(tmp_path, values, message):
    with pytest.raises(ConfigError, match=message):
        new_settings(workspace=tmp_path, **values)


def test_the_endpoint_is_resolved_as_the_openai_sdk_does(tmp_path):
    settings = new_settings(workspace=tmp_path, llm="openai")
    key = {"OPENAI_API_KEY": "sk-x"}
    assert resolve_endpoint(settings, key) == (OPENAI_BASE_URL, "sk-x")
    via_env = {**key, "OPENAI_BASE_URL": "https://user:pw@gateway.example/v1"}  # credentials allowed here only
    assert resolve_endpoint(settings, via_env) == ("https://user:pw@gateway.example/v1", "sk-x")
    flag = new_settings(workspace=tmp_path, llm="openai", base_url="http://127.0.0.1:9/v1")
    assert resolve_endpoint(flag, via_env)[0] == "http://127.0.0.1:9/v1"  # the flag wins over the variable
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        resolve_endpoint(settings, {"OPENAI_BASE_URL": "http://x/v1"})


def test_a_resume_keeps_the_runs_own_settings_and_takes_only_what_may_change(tmp_path):
    original = new_settings(workspace=tmp_path, run_id="r1", input="/data/set", actors=2, rpm=100,
                            claim_ids=("C-1", "C-2"))
    save(original)
    stored = json.loads(original.paths.settings.read_text())
    assert RunSettings.from_json(stored) == original and "key" not in json.dumps(stored).lower()
    resumed = resumed_settings(tmp_path, "r1", actors=6, rpm=None, tpm=900, input=None)
    assert (resumed.actors, resumed.rpm, resumed.tpm, resumed.input, resumed.claim_ids) == \
        (6, 100, 900, "/data/set", ("C-1", "C-2"))
    with pytest.raises(ConfigError, match="drop --input, --model"):
        resumed_settings(tmp_path, "r1", input="/other", model="m2")
    with pytest.raises(ConfigError, match=r"no run 'r9' in .* \(its newest runs: r1\)"):
        resumed_settings(tmp_path, "r9")
    with pytest.raises(ConfigError, match="already exists"):
        save(original)


def test_every_resumable_setting_is_a_field():
    fields = set(RunSettings.__dataclass_fields__)
    assert set(run_settings.RESUMABLE) <= fields
