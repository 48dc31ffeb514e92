"""cluster.yaml and the README's on-premises variant pass Ray's own cluster-config checks and carry token auth.

Ray's checks are the ones ``ray up`` runs: ``prepare_config`` (merge with the provider's defaults) then
``validate_config`` (the JSON schema plus cross-field rules). No Ray runtime is started.
"""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import ray
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_YAML = ROOT / "cluster.yaml"
README = ROOT / "README.md"
TOKEN_PATH = "~/.ray/auth_token"
# Fields that name things in someone's AWS account: never invented here (Ray picks or creates them).
ACCOUNT_IDS = {"ImageId", "SubnetId", "SubnetIds", "SecurityGroupIds", "KeyName", "IamInstanceProfile"}


def aws_config() -> dict:
    return yaml.safe_load(CLUSTER_YAML.read_text(encoding="utf-8"))


def onprem_config() -> dict:
    """The YAML block of README's "Run on a cluster" section that describes a `local` provider."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^#+ Run on a cluster\n(.*?)(?=^#{1,3} )", text, re.S | re.M)
    assert section, "README has no 'Run on a cluster' section"
    blocks = re.findall(r"```yaml\n(.*?)```", section.group(1), re.S)
    local = [yaml.safe_load(b) for b in blocks if re.search(r"^\s+type: local\s*$", b, re.M)]
    assert len(local) == 1, "README 'Run on a cluster' needs exactly one yaml block with provider type local"
    return local[0]


def ray_pin() -> str:
    """'2.60.' from pyproject's ray requirement (>=2.60,<2.61): the Ray every node must run."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    spec = next(d for d in deps if re.match(r"ray\b", d))
    low = re.search(r">=\s*(\d+)\.(\d+)", spec)
    high = re.search(r"<\s*(\d+)\.(\d+)", spec)
    assert low and high and (int(high.group(2)) == int(low.group(2)) + 1), f"ray is not pinned to one minor: {spec}"
    return f"{low.group(1)}.{low.group(2)}."


def start_commands(config: dict) -> list[str]:
    return [*config["head_start_ray_commands"], *config["worker_start_ray_commands"]]


CONFIGS = {"aws": aws_config, "onprem": onprem_config}


@pytest.mark.parametrize("name", CONFIGS)
def test_passes_rays_own_cluster_config_validation(name):
    config = CONFIGS[name]()
    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)  # raises jsonschema.ValidationError / ValueError on a bad config
    assert prepared["head_node_type"] in prepared["available_node_types"]


def test_the_validation_bites_on_a_bad_config():
    bad = aws_config()
    bad["worker_start_ray_command"] = bad.pop("worker_start_ray_commands")  # a typo ray up must reject
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(bad))
    bad = aws_config()
    bad["head_node_type"] = "no-such-type"
    with pytest.raises(ValueError):
        validate_config(prepare_config(bad))


def test_aws_provider_with_a_head_and_autoscaling_workers():
    config = prepare_config(aws_config())
    assert config["provider"]["type"] == "aws"
    workers = [t for name, t in config["available_node_types"].items() if name != config["head_node_type"]]
    assert workers and all(t["max_workers"] > t["min_workers"] >= 1 for t in workers)
    assert config["max_workers"] >= max(t["max_workers"] for t in workers)


def test_invents_no_account_ids():
    for node_type in aws_config()["available_node_types"].values():
        assert not ACCOUNT_IDS & set(node_type["node_config"]), node_type["node_config"]


@pytest.mark.parametrize("name", CONFIGS)
def test_token_auth_reaches_every_node_and_every_ray_process(name):
    config = CONFIGS[name]()
    # The token file goes to the same path on every node (the head copies file_mounts on to its workers).
    assert config["file_mounts"].get(TOKEN_PATH) == TOKEN_PATH
    # Every ray start/stop runs in token mode: what it starts (raylet, dashboard, job drivers) inherits it.
    ray_commands = [c for c in start_commands(config) if re.search(r"\bray (start|stop)\b", c)]
    assert any("--head" in c for c in ray_commands) and any("$RAY_HEAD_IP" in c for c in ray_commands)
    for command in ray_commands:
        assert re.search(r"RAY_AUTH_MODE=token \S*ray (start|stop)\b", command), command
    # Login and job shells (ray attach / exec / submit on the node) are in token mode too.
    assert any("export RAY_AUTH_MODE=token" in c and "bashrc" in c for c in config["setup_commands"])


@pytest.mark.parametrize("name", CONFIGS)
def test_dashboard_on_the_heads_loopback_only(name):
    head = [c for c in start_commands(CONFIGS[name]()) if "--head" in c]
    assert len(head) == 1 and "--dashboard-host=127.0.0.1" in head[0]
    assert "0.0.0.0" not in " ".join(start_commands(CONFIGS[name]()))


@pytest.mark.parametrize("name", CONFIGS)
def test_setup_installs_this_project_with_its_pinned_ray(name):
    config = CONFIGS[name]()
    project = next(remote for remote, local in config["file_mounts"].items() if local == ".")
    setup = " && ".join(config["setup_commands"])
    assert re.search(rf"pip install (-q )?-e {re.escape(project)}\b", setup), setup
    pin = ray_pin()
    assert f"startswith('{pin}')" in setup  # the node refuses a Ray the client cannot talk to
    assert ray.__version__.startswith(pin)  # ... and this client is that Ray
    # The nodes start the venv's ray, the one pip just installed.
    assert all("~/venv/bin/ray" in c for c in start_commands(config) if re.search(r"\bray (start|stop)\b", c))
