"""The scale benchmark's own pieces: the tiled dataset, the per-claim memory figure, a dry run through the real CLI."""

from __future__ import annotations

import json

import pytest

from claim_assess.bench import scale
from claim_assess.bench.scale import checks, dry_run, per_claim, tile
from claim_assess.claims.dataset import open_dataset
from claim_assess.claims.synthetic import generate, write_dataset


def test_a_tiled_dataset_repeats_the_claims_under_ids_that_never_collide(tmp_path):
    write_dataset(generate(7, seed=5), tmp_path / "unique")
    tiled = tile(tmp_path / "unique", 30, tmp_path / "tiled")
    source = open_dataset(tiled)
    entries = list(source.stream())
    assert len(entries) == 30 and all(e.error is None for e in entries)
    assert len({e.claim_id for e in entries}) == 30
    unique = [json.loads(line) for line in (tmp_path / "unique" / "claims.jsonl").read_text().splitlines()]
    assert entries[8].raw == {**unique[1], "claim_id": f"T0000008-{unique[1]['claim_id']}"}
    assert tile(tmp_path / "unique", 30, tmp_path / "tiled") == tiled  # reused, not rewritten


def test_bytes_per_claim_count_the_rise_while_claims_are_decided_not_the_end():
    # (s, RSS kB, decided): warm-up below 5 of 100, a rise of 100 kB over 90 claims, then the end's spike.
    series = [(0, 50_000, 0), (1, 60_000, 5), (2, 60_050, 50), (3, 60_100, 95), (4, 90_000, 100)]
    figure = per_claim(series, 100)
    assert figure["bytes_per_claim"] == round(100 * 1024 / 90, 1)
    assert figure["end_peak_mb"] == round(90_000 / 1024, 1)
    assert per_claim(series[:2], 100)["bytes_per_claim"] is None


@pytest.mark.slow  # the CLI in a subprocess
def test_a_dry_run_through_the_cli_reports_its_throughput_and_peak(tmp_path):
    write_dataset(generate(40, seed=9), tmp_path / "d")
    result = dry_run(tmp_path / "d", 40, tmp_path, one_core=True)
    assert result["exit_code"] == 0 and result["selected"] == 40, result["error"]
    assert result["peak_mb"] > 10 and result["claims_per_s"] > 0
    assert result["read_validate_claims_per_cpu_s"] > 0 and result["plan_claims_per_cpu_s"] > 0
    report = {"dry_run_unique": result, "dry_run_big": {**result, "peak_mb": 700.0},
              "first_call": {"big_s": 4.0, "sample_s": 3.9, "big_runs_s": [4.0], "sample_runs_s": [3.9]}}
    met = {row["measure"].split(",")[0]: row["met"] for row in checks(report)}
    assert met["dry run peak memory"] is False and met["driver memory per claim"] is None


@pytest.mark.slow  # a child process measured
def test_a_child_s_peak_is_its_own_not_the_bench_s(tmp_path):
    """wait4's ru_maxrss counts the parent's high-water mark at the fork: a bench holding 400 MB would report at
    least that for any child. The bench reads the child's own VmHWM instead."""
    write_dataset(generate(10, seed=3), tmp_path / "d")
    ballast = bytearray(400 << 20)  # touched: resident in this process when the child is forked
    ballast[:: 4096] = b"x" * len(ballast[:: 4096])
    result = dry_run(tmp_path / "d", 10, tmp_path, one_core=False)
    del ballast
    assert result["exit_code"] == 0, result["error"]
    assert 20 < result["peak_mb"] < 350


def test_first_calls_alternate_the_datasets_and_take_the_median(monkeypatch, tmp_path):
    order, times = [], iter([9.0, 8.0, 12.5, 8.4, 9.4, None])
    monkeypatch.setattr(scale, "first_call", lambda dataset, workdir, name: order.append(name) or next(times))
    figure = scale.first_calls(tmp_path / "big", tmp_path / "sample", tmp_path, runs=3)
    assert order == ["big", "sample"] * 3
    assert figure["big_s"] == 9.4 and figure["big_runs_s"] == [9.0, 12.5, 9.4]
    assert figure["sample_s"] is None  # a run that made no call leaves no median to report
