from __future__ import annotations

import json
from pathlib import Path

import pytest

from claim_assess.errors import DatasetError
from claim_assess.claims.dataset import raw_policy, read_dataset, write_claims_parquet
from test_claims_fixtures import claim_dict, doc, item, policy_dict


def _write_policies(root: Path, lines: list[str] | None = None) -> None:
    lines = lines if lines is not None else [json.dumps(policy_dict())]
    (root / "policies.jsonl").write_text("\n".join(lines) + "\n")


def _jsonl(root: Path, lines: list[str]) -> None:
    (root / "claims.jsonl").write_text("\n".join(lines) + "\n")


def test_reads_jsonl_with_per_entry_errors(tmp_path):
    _write_policies(tmp_path)
    _jsonl(tmp_path, [
        json.dumps(claim_dict(claim_id="C-1")),
        "{not json",
        "[1, 2]",
        json.dumps(claim_dict(claim_id="C-1")),
        json.dumps(claim_dict(claim_id="../x")),
        '{"claim_id": "C-5", "claim_id": "C-6"}',
        "",
        json.dumps(claim_dict(claim_id="C-8", narrative="y" * 10_000_000)),
        json.dumps({"policy_id": "P-1"}),
    ])
    ds = read_dataset(tmp_path)
    assert ds.claims_source == "claims.jsonl"
    assert set(ds.policies) == {"P-1"} and ds.policy_errors == {}
    assert raw_policy(ds, "P-1") == policy_dict()
    e = ds.entries
    assert [x.position for x in e] == list(range(8))
    assert e[0].claim_id == "C-1" and e[0].error is None and e[0].location == "claims.jsonl line 1"
    assert e[1].claim_id == "@claims.jsonl:2" and e[1].raw is None and "not valid JSON" in e[1].error
    assert e[2].error == "claims.jsonl line 3: expected a JSON object, got an array"
    assert e[3].claim_id == "@claims.jsonl:4"
    assert e[3].error == "claims.jsonl line 4: duplicate claim_id 'C-1' (first at claims.jsonl line 1)"
    assert "claim_id: invalid identifier, got '../x'" in e[4].error
    assert "duplicate key 'claim_id'" in e[5].error
    assert e[6].claim_id == "C-8" and e[6].error is None and len(e[6].raw["narrative"]) == 10_000_000
    assert e[7].location == "claims.jsonl line 9" and "claim_id: missing required field" in e[7].error
    assert len({x.claim_id for x in e}) == len(e)


def test_nan_is_not_json(tmp_path):
    _write_policies(tmp_path)
    _jsonl(tmp_path, ['{"claim_id": "C-1", "odometer_km": NaN}'])
    assert "NaN is not valid JSON" in read_dataset(tmp_path).entries[0].error


def test_bad_policy_lines_are_recorded_not_fatal(tmp_path):
    _write_policies(tmp_path, [
        json.dumps(policy_dict()),
        json.dumps(policy_dict(policy_id="P-2", max_payout=5000)),
        "garbage",
        json.dumps(policy_dict(policy_id="P-3")),
        json.dumps(policy_dict(policy_id="P-3")),
    ])
    _jsonl(tmp_path, [json.dumps(claim_dict())])
    ds = read_dataset(tmp_path)
    assert set(ds.policies) == {"P-1"}
    assert "policies.jsonl line 2: max_payout: expected a money string" in ds.policy_errors["P-2"]
    assert ds.policy_errors["policies.jsonl line 3"].startswith("policies.jsonl line 3: not valid JSON")
    assert ds.policy_errors["P-3"] == "duplicate policy_id 'P-3' (policies.jsonl lines 4 and 5)"


def test_reads_parquet(tmp_path):
    _write_policies(tmp_path)
    claims = [claim_dict(claim_id="C-1"), claim_dict(claim_id="C-2", documents=[doc("D1", "estimate", {"vin": "V"})]),
              claim_dict(claim_id="C-1")]
    write_claims_parquet(claims, tmp_path / "claims.parquet")
    ds = read_dataset(tmp_path)
    assert ds.claims_source == "claims.parquet"
    assert ds.entries[0].raw == claims[0]  # money stays a string, absent facts stay absent
    assert ds.entries[1].raw["documents"][0]["facts"] == {"vin": "V"}
    assert ds.entries[2].location == "claims.parquet row 3" and ds.entries[2].claim_id == "@claims.parquet:3"
    assert "duplicate claim_id 'C-1' (first at claims.parquet row 1)" in ds.entries[2].error


def test_reads_claims_directory(tmp_path):
    _write_policies(tmp_path)
    d = tmp_path / "claims"
    d.mkdir()
    (d / "C-1.json").write_text(json.dumps(claim_dict(claim_id="C-1")))
    (d / "C-2.json").write_text(json.dumps(claim_dict(claim_id="C-9")))
    (d / "C-3.json").write_text("nope")
    (d / "notes.txt").write_text("ignored")
    ds = read_dataset(tmp_path)
    assert [e.location for e in ds.entries] == ["claims/C-1.json", "claims/C-2.json", "claims/C-3.json"]
    assert ds.entries[0].claim_id == "C-1" and ds.entries[0].error is None
    assert ds.entries[1].claim_id == "@claims/C-2.json"
    assert ds.entries[1].error == "claims/C-2.json: claim_id 'C-9' does not match the file name"
    assert "not valid JSON" in ds.entries[2].error


def test_missing_directory(tmp_path):
    with pytest.raises(DatasetError, match="dataset directory does not exist") as info:
        read_dataset(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(info.value)


def test_missing_policies(tmp_path):
    _jsonl(tmp_path, [])
    with pytest.raises(DatasetError, match="policies.jsonl is missing"):
        read_dataset(tmp_path)


def test_unreadable_policies(tmp_path):
    (tmp_path / "policies.jsonl").mkdir()
    _jsonl(tmp_path, [])
    with pytest.raises(DatasetError, match="policies.jsonl"):
        read_dataset(tmp_path)


def test_no_claims_source(tmp_path):
    _write_policies(tmp_path)
    with pytest.raises(DatasetError, match="no claims source"):
        read_dataset(tmp_path)


def test_more_than_one_claims_source(tmp_path):
    _write_policies(tmp_path)
    _jsonl(tmp_path, [])
    (tmp_path / "claims").mkdir()
    with pytest.raises(DatasetError, match="more than one claims source: claims.jsonl, claims"):
        read_dataset(tmp_path)


def test_corrupt_parquet(tmp_path):
    _write_policies(tmp_path)
    (tmp_path / "claims.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DatasetError, match="cannot read parquet"):
        read_dataset(tmp_path)


def test_entries_with_line_items_round_trip_through_parquet(tmp_path):
    _write_policies(tmp_path)
    claims = [claim_dict(line_items=[item("L1", component=None), item("L2", quantity="1.5", unit_price="10.00",
                                                                       total="15.00")])]
    write_claims_parquet(claims, tmp_path / "claims.parquet")
    assert read_dataset(tmp_path).entries[0].raw == claims[0]


def test_claims_path_that_is_a_file(tmp_path):
    _write_policies(tmp_path)
    (tmp_path / "claims").write_text("x")
    with pytest.raises(DatasetError, match="expected a directory"):
        read_dataset(tmp_path)


def test_byte_order_mark_and_crlf(tmp_path):
    (tmp_path / "policies.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(policy_dict()).encode() + b"\r\n")
    _jsonl(tmp_path, [json.dumps(claim_dict())])
    ds = read_dataset(tmp_path)
    assert set(ds.policies) == {"P-1"} and ds.entries[0].error is None


def test_every_bad_entry_ends_failed_with_a_clear_error(tmp_path):
    import asyncio

    from claim_assess.claims.pipeline import assess_claim

    class NoLLM:
        async def ask(self, prompt, parse):  # pragma: no cover - must never be reached
            raise AssertionError("no LLM call for a bad claim")

    _write_policies(tmp_path)
    def c(n: int, **over) -> str:
        return json.dumps(claim_dict(claim_id=f"C-{n}", **over))

    lines = {
        "not valid JSON": "{oops",
        "expected a JSON object": '"a string"',
        "odometer_km: expected a non-negative integer, got 12.5": c(3, odometer_km=12.5),
        "reported_date: missing required field": json.dumps({k: v for k, v in claim_dict(claim_id="C-4").items()
                                                             if k != "reported_date"}),
        "line_items[0].total: expected a money string": c(5, line_items=[item(total="-1.00")]),
        "line_items[0].unit_price: expected a money string": c(6, line_items=[item(unit_price="1" * 20 + ".00")]),
        "narrative: text longer than 100000 characters": c(7, narrative="z" * 10_000_000),
        "claim_id: invalid identifier, got '../x'": json.dumps(claim_dict(claim_id="../x")),
        "duplicate claim_id 'C-1'": json.dumps(claim_dict()),
        "policy_id 'P-9' names no policy in policies.jsonl": c(10, policy_id="P-9"),
    }
    _jsonl(tmp_path, [json.dumps(claim_dict())] + list(lines.values()))
    ds = read_dataset(tmp_path)

    async def assess_all():
        return [await assess_claim(e, ds.policies, ds.policy_errors, NoLLM()) for e in ds.entries[1:]]

    results = asyncio.run(assess_all())
    for fragment, result in zip(lines, results):
        assert result.decision == "FAILED" and fragment in result.error, (fragment, result.error)
        assert len(result.error) < 500
