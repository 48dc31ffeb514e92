"""Hostile input (issue 5, point 5): bad lines cost only themselves, and each one's error names its field.

One dataset mixes good generated claims with every kind of bad line: not JSON, a JSON array, wrong types,
missing fields, negative and absurd amounts, 10 MB text fields, unicode of every kind, path-traversal and
duplicate claim ids, unknown policies and a claim whose policy line is itself invalid. The unit tests run
it through ``claims.pipeline.assess_claim`` with the simulator's task model as the advisor (no HTTP, no
Ray); the integration test runs the real driver over it on the shared local Ray.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from claim_assess.claims.dataset import read_dataset
from claim_assess.claims.pipeline import assess_claim
from claim_assess.claims.prompts import extract_payload
from claim_assess.claims.synthetic import generate, policies
from engine_records import assert_every_run_replays

TEN_MB = 10 * 1024 * 1024
BAD_POLICY_ID = "POL-BROKEN-1"


@dataclass(frozen=True)
class Line:
    text: str  # the exact line written to claims.jsonl (without the newline)
    expect: str | None  # None: a good claim; else a fragment the FAILED claim's error must contain


class TaskModelAdvisor:
    """Answers like the simulator's deterministic model, in process: the pipeline's real parse functions."""

    def __init__(self) -> None:
        self.calls = 0

    async def ask(self, prompt, parse):
        from claim_assess.simulator.tasks import answer

        self.calls += 1
        _, reply = answer(prompt.schema_name, extract_payload(prompt.messages))
        return parse(json.dumps(reply))


def _dumps(obj: Any) -> str:
    # ensure_ascii=True: lone surrogates go to the file as the escape "\ud800", as a hostile exporter would.
    return json.dumps(obj, ensure_ascii=True)


def hostile_lines(*, huge: int = TEN_MB) -> tuple[list[dict], list[Line]]:
    """(policies, lines): good generated claims interleaved with bad ones, each bad one labelled."""
    data = generate(6, seed=21)
    good = [dict(c) for c in data.claims]
    # A plain, rule-covered claim is the template every bad line changes in exactly one place.
    base = next(c for c in good if all(i["component"] for i in c["line_items"]) and c["documents"])
    n = iter(range(1, 1000))

    def bad(**over: Any) -> dict:
        claim = copy.deepcopy(base)
        claim["claim_id"] = f"BAD-{next(n):03d}"
        claim.update(over)
        return claim

    def with_item(**over: Any) -> dict:
        claim = bad()
        claim["line_items"][0] = {**claim["line_items"][0], **over}
        return claim

    def with_doc(**over: Any) -> dict:
        claim = bad()
        claim["documents"][0] = {**claim["documents"][0], **over}
        return claim

    def without(key: str) -> dict:
        claim = bad()
        del claim[key]
        return claim

    item_without_total = bad()
    del item_without_total["line_items"][0]["total"]
    weird_key = bad()
    weird_key["\udc80\u202e" + "k" * 200] = 1

    # Text that is odd but valid Unicode must NOT fail the claim: RTL, combining marks, emoji, NUL, controls.
    odd_text = ("\u202eRTL override \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 "
                "e\u0301\u0302\u0303 Z\u0351\u0352\u0353 \U0001F697\U0001F525\u200d\U0001F9EF "
                "nul\u0000 bell\u0007 esc\u001b[31m tab\t cr\r del\u007f \ufeff\u2028\u2029 "
                "full-width \uff11\uff12\uff13")
    odd_good = copy.deepcopy(base)
    odd_good["claim_id"] = "ODD-UNICODE-1"
    odd_good["narrative"] = base["narrative"] + " " + odd_text
    odd_good["documents"][0] = {**odd_good["documents"][0], "text": odd_text}

    lines = [
        Line(_dumps(good[0]), None),
        Line("this is not JSON {", "claims.jsonl line 2: not valid JSON"),
        Line(_dumps([good[1]["claim_id"], 1, 2]), "claims.jsonl line 3: expected a JSON object, got an array"),
        Line(_dumps(good[1]), None),
        # wrong types
        Line(_dumps(bad(odometer_km="12000")), "odometer_km: expected a non-negative integer"),
        Line(_dumps(bad(narrative=42)), "narrative: expected a string"),
        Line(_dumps(bad(documents={"doc_id": "D1"})), "documents: expected a list"),
        Line(_dumps(with_item(quantity=1)), "line_items[0].quantity: expected a decimal string"),
        Line(_dumps(with_item(unit_price=420.0)), "line_items[0].unit_price: expected a money string"),
        Line(_dumps(bad(odometer_km=True)), "odometer_km: expected a non-negative integer"),
        # missing fields
        Line(_dumps(without("loss_date")), "loss_date: missing required field"),
        Line(_dumps(item_without_total), "line_items[0].total: missing required field"),
        Line(_dumps(without("claim_id")), "claim_id: missing required field"),
        # negative and absurd amounts
        Line(_dumps(with_item(total="-100.00")), "line_items[0].total: expected a money string"),
        Line(_dumps(with_item(unit_price="99999999999999.00")), "line_items[0].unit_price: expected a money string"),
        Line(_dumps(bad(odometer_km=-5)), "odometer_km: expected a non-negative integer"),
        Line(_dumps(bad(odometer_km=10**20)), "odometer_km: integer larger than"),
        Line(_dumps(with_item(quantity="1e9")), "line_items[0].quantity: expected a decimal string"),
        Line(_dumps(bad(line_items=[base["line_items"][0]] * 1001)), "line_items: more than 1000 entries"),
        # 10 MB text fields
        Line(_dumps(bad(narrative="n" * huge)), "narrative: text longer than 100000 characters"),
        Line(_dumps(with_item(description="d" * huge)), "line_items[0].description: text longer than 100000"),
        # unicode of every kind
        Line(_dumps(odd_good), None),
        Line(_dumps(bad(narrative="broken \ud800 text")), "narrative: text is not valid Unicode"),
        Line(_dumps(with_doc(text="\udfff")), "documents[0].text: text is not valid Unicode"),
        Line(_dumps(with_item(unit_price="\uff11\uff10\uff10.\uff10\uff10")),
             "line_items[0].unit_price: expected a money string"),
        Line(_dumps(bad(loss_date="\uff12\uff10\uff12\uff16-03-01")), "loss_date: expected a date string"),
        Line(_dumps(with_item(total=base["line_items"][0]["total"] + "\n")),
             "line_items[0].total: expected a money string"),
        Line(_dumps(weird_key), "a field name is not valid Unicode"),
        Line(_dumps(bad(approve_now=True)), "approve_now: unexpected field"),
        Line(_dumps(bad(claim_id="\uff23\uff2c\uff2d-1")), "claim_id: invalid identifier"),
        Line(_dumps(bad(claim_id="CLM-1\n")), "claim_id: invalid identifier"),
        # path traversal and duplicate ids
        Line(_dumps(bad(claim_id="../../etc/passwd")), "claim_id: invalid identifier, got '../../etc/passwd'"),
        Line(_dumps(bad(claim_id="a/b")), "claim_id: invalid identifier"),
        Line(_dumps(bad(claim_id=".")), "claim_id: invalid identifier"),
        Line(_dumps(bad(claim_id="..")), "claim_id: invalid identifier"),
        Line(_dumps(bad(policy_id="../../etc/passwd")), "policy_id: expected an identifier"),
        Line(_dumps(with_doc(doc_id="../D1")), "documents[0].doc_id: expected an identifier"),
        Line(_dumps({**good[0]}), f"duplicate claim_id {good[0]['claim_id']!r}"),
        # policies
        Line(_dumps(bad(policy_id="POL-NOBODY")), "policy_id 'POL-NOBODY' names no policy in policies.jsonl"),
        Line(_dumps(bad(policy_id=BAD_POLICY_ID)), f"policy_id {BAD_POLICY_ID!r}: invalid policy"),
        Line(_dumps(good[2]), None),
    ]
    bad_policy = {**policies()[0], "policy_id": BAD_POLICY_ID, "currency": "chf", "max_payout": "-1.00"}
    return [*data.policies, bad_policy], lines


def write_hostile_dataset(root: Path, *, huge: int = TEN_MB) -> list[Line]:
    policy_rows, lines = hostile_lines(huge=huge)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "policies.jsonl", "w", encoding="ascii") as fh:
        for row in policy_rows:
            fh.write(_dumps(row) + "\n")
        fh.write("[not, a, policy\n")  # a broken policy line that names no policy must cost nothing
    with open(root / "claims.jsonl", "w", encoding="ascii") as fh:
        for line in lines:
            assert "\n" not in line.text
            fh.write(line.text + "\n")
    return lines


def _check_error(error: str | None, expect: str) -> None:
    assert error is not None and expect in error, (expect, error and error[:300])
    error.encode("utf-8")  # strict: no lone surrogate may reach results or the ledger
    assert len(error) < 2_000, "an error must quote a short excerpt, never the 10 MB input"
    assert "\x00" not in error and "pydantic" not in error.lower()


# --- unit level: the pipeline, no Ray ------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    lines = write_hostile_dataset(root)
    dataset = read_dataset(root)
    advisor = TaskModelAdvisor()

    async def assess_all():
        return [await assess_claim(e, dataset.policies, dataset.policy_errors, advisor) for e in dataset.entries]

    return lines, dataset, asyncio.run(assess_all()), advisor


def test_reading_keeps_one_entry_per_line_and_records_the_broken_policy(hostile_results):
    lines, dataset, _, _ = hostile_results
    assert len(dataset.entries) == len(lines)
    assert BAD_POLICY_ID not in dataset.policies
    assert "currency" in dataset.policy_errors[BAD_POLICY_ID] and "max_payout" in dataset.policy_errors[BAD_POLICY_ID]
    assert any("not valid JSON" in e for e in dataset.policy_errors.values())
    ids = [e.claim_id for e in dataset.entries]
    assert len(ids) == len(set(ids)), "entry ids stay unique even with duplicate and invalid claim ids"
    assert all(".." not in i and "/" not in i for i in ids)


def test_every_bad_claim_fails_with_an_error_naming_its_field(hostile_results):
    lines, _, results, _ = hostile_results
    bad = [(line, result) for line, result in zip(lines, results) if line.expect is not None]
    assert len(bad) > 30
    for line, result in bad:
        assert result.decision == "FAILED", (line.expect, result.decision)
        assert result.payout == 0 and result.confidence is None and result.items == ()
        _check_error(result.error, line.expect)


def test_every_good_claim_is_assessed(hostile_results):
    lines, _, results, advisor = hostile_results
    good = [result for line, result in zip(lines, results) if line.expect is None]
    assert len(good) == 4
    assert all(r.decision in {"APPROVE", "PARTIAL", "DENY", "REFER"} and r.error is None for r in good), good
    assert advisor.calls > 0


def test_odd_but_valid_unicode_reaches_the_prompt_fenced_and_ascii(hostile_results):
    lines, dataset, results, _ = hostile_results
    from claim_assess.claims.models import parse_claim
    from claim_assess.claims.prompts import assessment_prompt
    from claim_assess.claims.reconcile import reconcile
    from claim_assess.claims.screening import screen
    from claim_assess.claims.payout import compute_payout

    entry = next(e for e in dataset.entries if e.claim_id == "ODD-UNICODE-1")
    claim = parse_claim(entry.raw)
    policy = dataset.policies[claim.policy_id]
    result = next(r for r in results if r.claim_id == "ODD-UNICODE-1")
    payout = compute_payout(result.covered_total, claim.odometer_km, policy)
    prompt = assessment_prompt(claim, policy, reconcile(claim), screen(claim, policy), result.items, payout)
    user = prompt.messages[1]["content"]
    assert user.isascii() and "\x00" not in user and user.count("</data>") == 1
    assert extract_payload(prompt.messages)["claim"]["narrative"] == claim.narrative


def test_a_claims_directory_with_undecodable_and_traversal_file_names(tmp_path):
    """claims/<id>.json: file names are untrusted too; odd ones are shown escaped, never used as ids."""
    data = generate(2, seed=4)
    (tmp_path / "policies.jsonl").write_text("".join(_dumps(p) + "\n" for p in data.policies))
    folder = tmp_path / "claims"
    folder.mkdir()
    good = data.claims[0]
    (folder / f"{good['claim_id']}.json").write_text(_dumps(good))
    odd = os.fsencode(folder) + b"/\xff\xfe-odd.json"
    with open(odd, "w") as fh:
        fh.write(_dumps({**data.claims[1], "claim_id": "X-1"}))
    (folder / "evil.json").write_text(_dumps({**data.claims[1], "claim_id": "../evil"}))
    dataset = read_dataset(tmp_path)

    async def assess_all():
        return [await assess_claim(e, dataset.policies, dataset.policy_errors, TaskModelAdvisor())
                for e in dataset.entries]

    results = {r.claim_id: r for r in asyncio.run(assess_all())}
    assert results[good["claim_id"]].decision != "FAILED"
    failed = [r for r in results.values() if r.decision == "FAILED"]
    assert len(failed) == 2
    for r in failed:
        r.claim_id.encode("utf-8")
        r.error.encode("utf-8")
    assert any("does not match the file name" in r.error and "\\udcff" in r.error for r in failed)
    assert any("claim_id: invalid identifier, got '../evil'" in r.error for r in failed)


# --- integration: the real driver on the shared Ray ----------------------------------------------------


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.ray
def test_the_driver_completes_a_hostile_dataset(ray_session, tmp_path, monkeypatch, capsys):
    from claim_assess.claims.results import read_results
    from claim_assess.drivers import assess, verify

    sandbox = tmp_path / "a" / "b" / "c"  # deep enough that ../../ from any run folder stays inside tmp_path
    data, workspace, cwd = sandbox / "data", sandbox / "ws", sandbox / "cwd"
    lines = write_hostile_dataset(data)
    workspace.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # relative writes would land here
    before = _tree(tmp_path)

    run_id = "hostile-run-1"
    code = assess.main(["--input", str(data), "--workspace", str(workspace), "--quiet", "--no-dashboard",
                        "--actors", "2", "--run", run_id])
    assert code == 0

    rows, _ = read_results(workspace / "runs" / run_id)
    dataset = read_dataset(data)
    assert len(rows) == len(lines) == len(dataset.entries)
    by_id = {r["claim_id"]: r for r in rows}
    assert set(by_id) == {e.claim_id for e in dataset.entries}
    for entry, line in zip(dataset.entries, lines):
        row = by_id[entry.claim_id]
        if line.expect is None:
            assert row["decision"] != "FAILED" and row["error"] is None, (entry.claim_id, row["error"])
        else:
            assert row["decision"] == "FAILED", (line.expect, row["decision"])
            _check_error(row["error"], line.expect)

    assert verify.main(["--workspace", str(workspace)]) == 0
    assert assert_every_run_replays(workspace) > 0
    new = _tree(tmp_path) - before
    outside = sorted(p for p in new if not p.startswith(str(workspace.relative_to(tmp_path))))
    assert outside == [], f"files written outside the workspace: {outside}"
    assert not any("passwd" in p or p.endswith("/etc") for p in new)
