"""The synthetic dataset generator (claims/synthetic.py) and its CLI (drivers/generate.py).

The strongest check runs the real claims pipeline over generated claims with an in-process advisor that
answers exactly like the simulator's deterministic model (llm.sim_tasks): every claim must land on the
decision, deciding reason and payout its label predicts. Claims in expected.jsonl must keep their outcome
whatever the LLM answers, so they are also run against deliberately contrary advisors.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from decimal import Decimal
from pathlib import Path

import pytest

from claim_assess.claims import synthetic
from claim_assess.claims.dataset import read_dataset
from claim_assess.claims.models import Claim, Policy, normalize_name
from claim_assess.claims.pipeline import assess_claim
from claim_assess.claims.prompts import ASSESSMENT_SCHEMA_NAME, FACTS_CHECK_SCHEMA_NAME, extract_payload
from claim_assess.claims.screening import find_injection
from claim_assess.drivers import generate as cli
from claim_assess.simulator import tasks as sim_tasks

DECISION_TABLE_REASONS = {
    "POLICY_INACTIVE", "MILEAGE_EXCEEDED", "NOT_COVERED", "RECONCILIATION_FAILED", "COVERAGE_REVIEW",
    "FLAG_SUSPECTED_INJECTION", "FLAG_POSSIBLE_FRAUD", "LLM_REFER", "LOW_CONFIDENCE", "LLM_DISAGREES",
    "HIGH_VALUE", "ZERO_PAYOUT", "PARTIALLY_COVERED", "COVERED",
}
CONFLICT_CODES = {"CONFLICT_LOSS_DATE", "CONFLICT_ODOMETER", "CONFLICT_REPORTED_BEFORE_LOSS",
                  "CONFLICT_LINE_TOTAL", "CONFLICT_UNKNOWN_DOCUMENT"}
OUTPUT_FILES = ("policies.jsonl", "claims.jsonl", "expected.jsonl", "scenarios.jsonl")


@pytest.fixture(scope="module")
def small() -> synthetic.GeneratedDataset:
    return synthetic.generate(30, seed=7)


@pytest.fixture(scope="module")
def book() -> synthetic.GeneratedDataset:
    return synthetic.generate(2000, seed=11)


# --- simulated LLM -----------------------------------------------------------------------------------


class SimulatorAdvisor:
    """Answers like llm/sim_tasks at error rate 0, in process (no HTTP)."""

    def __init__(self) -> None:
        self.calls = 0

    async def ask(self, prompt, parse):
        self.calls += 1
        _, answer = sim_tasks.answer(prompt.schema_name, extract_payload(prompt.messages))
        return parse(json.dumps(answer))


class ContraryAdvisor:
    """Answers a fixed, unhelpful way, to show an outcome does not depend on the LLM."""

    def __init__(self, coverage_status: str, recommendation: str, confidence: float, flags: list[str]):
        self.coverage_status, self.recommendation = coverage_status, recommendation
        self.confidence, self.flags = confidence, flags

    async def ask(self, prompt, parse):
        if prompt.schema_name in (ASSESSMENT_SCHEMA_NAME, FACTS_CHECK_SCHEMA_NAME):  # the same answer to both
            answer = {"recommendation": self.recommendation, "confidence": self.confidence,
                      "rationale": "contrary", "flags": self.flags}
        else:
            policy = extract_payload(prompt.messages)["policy"]
            first = policy["coverage"][0]
            covered = self.coverage_status == "covered"
            answer = {"status": self.coverage_status, "category": first["category"] if covered else None,
                      "component": first["components"][0] if covered else None, "confidence": 1.0,
                      "reason": "contrary"}
        return parse(json.dumps(answer))


def _assess_all(out_dir: Path, advisor_factory) -> dict[str, object]:
    dataset = read_dataset(out_dir)

    async def run():
        return [await assess_claim(entry, dataset.policies, dataset.policy_errors, advisor_factory())
                for entry in dataset.entries]

    return {a.claim_id: a for a in asyncio.run(run())}


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """A 120-claim dataset (every scenario at least twice) and its pipeline results under the simulator."""
    out = tmp_path_factory.mktemp("simulated")
    synthetic.write_dataset(synthetic.generate(120, seed=3), out)
    return out, _assess_all(out, SimulatorAdvisor)


# --- the pipeline agrees with the labels -------------------------------------------------------------


def test_every_claim_lands_on_its_predicted_outcome(simulated):
    out, results = simulated
    labels = _read_jsonl(out / "scenarios.jsonl")
    assert len(labels) == len(results) == 120
    misses = []
    for label in labels:
        got = results[label["claim_id"]]
        want = label["llm_expected"]
        if (got.decision, got.reasons[0], str(got.payout)) != (want["decision"], want["reason"], want["payout"]):
            misses.append((label["scenario"], label["claim_id"], got.decision, got.reasons, str(got.payout), want))
    assert misses == []


def test_scenario_claims_show_the_codes_they_were_built_for(simulated):
    out, results = simulated
    for label in _read_jsonl(out / "scenarios.jsonl"):
        reasons = set(results[label["claim_id"]].reasons)
        name = label["scenario"]
        if name.startswith("conflict_"):
            assert reasons & CONFLICT_CODES == {"CONFLICT_" + name.removeprefix("conflict_").upper()}, label
            assert results[label["claim_id"]].gate == "WARN"
        elif name == "gate_fail":
            assert len(reasons & CONFLICT_CODES) == 2 and results[label["claim_id"]].gate == "FAIL"
        elif name == "missing_invoice":
            assert "MISSING_INVOICE" in reasons
        elif name == "duplicate_line_item":
            assert "DUPLICATE_LINE_ITEM" in reasons
        elif name == synthetic.ORDINARY:
            # ordinary claims are clean: no conflict, duplicate, flag or other code besides the deciding one
            assert len(reasons) == 1, (label, reasons)


@pytest.mark.slow  # 120 claims through the pipeline three more times
def test_expected_outcomes_hold_whatever_the_llm_says(simulated):
    out, simulator_results = simulated
    expected = _read_jsonl(out / "expected.jsonl")
    assert expected
    contrary = [
        lambda: ContraryAdvisor("covered", "APPROVE", 1.0, []),
        lambda: ContraryAdvisor("review", "REJECT", 0.1, ["possible_fraud", "inconsistent_narrative"]),
        lambda: ContraryAdvisor("not_covered", "REFER", 0.9, []),
    ]
    for factory in contrary:
        results = _assess_all(out, factory)
        for record in expected:
            got = results[record["claim_id"]]
            assert (got.decision, got.reasons[0]) == (record["decision"], record["reason"]), record
            if "payout" in record:
                assert str(got.payout) == record["payout"], record
    for record in expected:
        got = simulator_results[record["claim_id"]]
        assert (got.decision, got.reasons[0]) == (record["decision"], record["reason"])


def test_expected_lists_exactly_the_rule_decided_claims(simulated):
    out, _ = simulated
    labels = {label["claim_id"]: label for label in _read_jsonl(out / "scenarios.jsonl")}
    expected = _read_jsonl(out / "expected.jsonl")
    assert {r["claim_id"] for r in expected} == {cid for cid, label in labels.items() if label["rule_decided"]}
    for record in expected:
        label = labels[record["claim_id"]]
        assert record["scenario"] == label["scenario"]
        assert (record["decision"], record["reason"]) == (label["llm_expected"]["decision"],
                                                          label["llm_expected"]["reason"])
        assert set(record) <= {"claim_id", "scenario", "decision", "reason", "payout"}
        if record["decision"] == "DENY":
            assert record["payout"] == "0.00"
        assert record["reason"] in {"POLICY_INACTIVE", "MILEAGE_EXCEEDED", "NOT_COVERED", "RECONCILIATION_FAILED",
                                    "FLAG_SUSPECTED_INJECTION"}


# --- coverage of the decision table ------------------------------------------------------------------


def test_thirty_claims_cover_every_scenario_row_and_conflict(tmp_path, small):
    assert {label["scenario"] for label in small.labels} >= {s.name for s in synthetic.SCENARIOS}
    assert {label["llm_expected"]["reason"] for label in small.labels} >= DECISION_TABLE_REASONS
    synthetic.write_dataset(small, tmp_path)
    results = _assess_all(tmp_path, SimulatorAdvisor)
    seen = {code for a in results.values() for code in a.reasons}
    assert seen >= DECISION_TABLE_REASONS | CONFLICT_CODES | {"DUPLICATE_LINE_ITEM", "MISSING_INVOICE"}
    assert {a.gate for a in results.values()} == {"PASS", "WARN", "FAIL"}
    assert {a.decision for a in results.values()} == {"APPROVE", "PARTIAL", "DENY", "REFER"}


def test_each_injection_phrase_is_caught_by_screening():
    for phrase in synthetic.INJECTIONS:
        assert find_injection(phrase), phrase


# --- the records themselves --------------------------------------------------------------------------


def test_every_record_validates_with_the_domain_models(book):
    for policy in book.policies:
        Policy.model_validate(policy)
    for claim in book.claims:
        Claim.model_validate(claim)
    assert len({c["claim_id"] for c in book.claims}) == len(book.claims)


def test_policies_look_like_a_warranty_book(small):
    policies = [Policy.model_validate(p) for p in small.policies]
    assert 5 <= len(policies) <= 7
    assert {p.holder_type for p in policies} == {"individual", "company"}
    assert {p.currency for p in policies} >= {"CHF", "EUR"}
    assert {str(p.vat_percent) for p in policies} >= {"8.1", "19"}
    assert any(p.max_odometer_km is None for p in policies) and any(p.max_odometer_km for p in policies)
    assert any(p.valid_to < synthetic.LATEST_REPORT for p in policies)  # one cover period has ended
    for p in policies:
        covered = {normalize_name(c) for cat in p.coverage for c in cat.components}
        excluded = {normalize_name(c) for e in p.exclusions for c in e.components}
        assert not covered & excluded
        # the simulator tries exclusions first, so no excluded name may hide inside a covered one
        for ex in excluded:
            assert not any(sim_tasks.names(c, ex) for c in covered), (p.policy_id, ex)


def test_line_arithmetic_is_exact_except_the_line_total_conflict(book):
    for claim, label in zip(book.claims, book.labels):
        wrong = [i for i in claim["line_items"]
                 if Decimal(i["quantity"]) * Decimal(i["unit_price"]) != Decimal(i["total"])]
        if label["scenario"] == "conflict_line_total":
            assert len(wrong) == 1
        elif label["scenario"] == "gate_fail":
            assert len(wrong) <= 1
        else:
            assert wrong == [], claim["claim_id"]


@pytest.mark.slow  # 2,000 claims' components resolved one by one
def test_unknown_components_are_about_a_quarter_and_resolvable(book):
    items = [i for c in book.claims for i in c["line_items"]]
    unknown = [i for i in items if i["component"] is None]
    assert 0.18 <= len(unknown) / len(items) <= 0.35
    policies = {p["policy_id"]: p for p in book.policies}
    for claim, label in zip(book.claims, book.labels):
        policy = policies[claim["policy_id"]]
        for item in claim["line_items"]:
            if item["component"] is None:
                answer = sim_tasks.answer_coverage({"policy": policy, "item": item})
                if label["scenario"] != "coverage_review":
                    assert answer["status"] != "review", (claim["claim_id"], item)
            else:
                names = {c for cat in policy["coverage"] for c in cat["components"]}
                names |= {c for e in policy["exclusions"] for c in e["components"]}
                assert item["component"] in names


def test_amounts_follow_the_book_distribution(book):
    ordinary_like = [c for c, label in zip(book.claims, book.labels)]
    totals = sorted(sum(Decimal(i["total"]) for i in c["line_items"]) for c in ordinary_like)
    counts = sorted(len(c["line_items"]) for c in ordinary_like)
    median = statistics.median(totals)
    p95 = totals[int(0.95 * len(totals))]
    assert Decimal(700) <= median <= Decimal(1400), median
    assert Decimal(3500) <= p95 <= Decimal(7000), p95
    assert counts[0] >= 3 and counts[-1] <= 25
    assert 7 <= statistics.median(counts) <= 9


def test_documents_agree_with_the_claim_unless_a_conflict_is_intended(book):
    conflict_scenarios = {"conflict_loss_date", "conflict_odometer", "gate_fail"}
    for claim, label in zip(book.claims, book.labels):
        types = [d["doc_type"] for d in claim["documents"]]
        assert "fnol" in types
        if label["scenario"] != "missing_invoice":
            assert {"invoice", "estimate"} & set(types)
        if label["scenario"] in conflict_scenarios:
            continue
        for doc in claim["documents"]:
            facts = doc["facts"]
            assert facts.get("loss_date", claim["loss_date"]) == claim["loss_date"]
            assert abs(facts.get("odometer_km", claim["odometer_km"]) - claim["odometer_km"]) <= \
                claim["odometer_km"] // 100


@pytest.mark.slow  # 2,000 claims' texts through the injection screen
def test_texts_outside_their_scenarios_are_benign(book):
    for claim, label in zip(book.claims, book.labels):
        texts = [claim["narrative"], *(d["text"] for d in claim["documents"]),
                 *(i["description"] for i in claim["line_items"])]
        if not label["scenario"].startswith("injection_"):
            assert not any(find_injection(t) for t in texts), claim["claim_id"]
        if label["scenario"] != "llm_disagrees":
            assert not any(w in claim["narrative"].lower() for w in ("collision", "crash", "accident"))
        if label["scenario"] != "low_confidence":
            assert len(claim["narrative"]) >= 25


# --- determinism and writing -------------------------------------------------------------------------


def _bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["jsonl", "files", "parquet"])
def test_same_seed_same_bytes_different_seed_different(tmp_path, fmt):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        assert cli.main(["--claims", "40", "--seed", str(seed), "--out", str(tmp_path / name),
                         "--format", fmt]) == 0
    a, b, c = (_bytes(tmp_path / n) for n in "abc")
    assert a == b
    assert a != c
    claims_file = {"jsonl": "claims.jsonl", "files": "claims", "parquet": "claims.parquet"}[fmt]
    assert (tmp_path / "a" / claims_file).exists()


@pytest.mark.parametrize("fmt", ["jsonl", "files", "parquet"])
def test_written_formats_read_back_as_the_same_claims(tmp_path, small, fmt):
    synthetic.write_dataset(small, tmp_path, fmt)
    dataset = read_dataset(tmp_path)
    assert [e.error for e in dataset.entries] == [None] * len(small.claims)
    assert set(dataset.policies) == {p["policy_id"] for p in small.policies}
    got = [Claim.model_validate(e.raw) for e in dataset.entries]
    assert got == [Claim.model_validate(c) for c in small.claims]


def test_cli_rejects_fewer_than_one_claim(tmp_path, capsys):
    assert cli.main(["--claims", "0", "--seed", "1", "--out", str(tmp_path / "x")]) == 2
    assert "at least 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cli_rejects_a_non_numeric_seed(tmp_path, capsys):
    assert cli.main(["--claims", "3", "--seed", "abc", "--out", str(tmp_path / "x")]) == 2
    assert "seed" in capsys.readouterr().err


def test_cli_refuses_a_non_empty_directory_without_force(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep me")
    assert cli.main(["--claims", "3", "--seed", "1", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_cli_io_error_exits_2_and_names_the_path(tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a directory")
    out = tmp_path / "a-file" / "dataset"
    assert cli.main(["--claims", "3", "--seed", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(out) in err
    assert (tmp_path / "a-file").read_text() == "not a directory"


def test_cli_force_replaces_generated_files_and_keeps_others(tmp_path):
    (tmp_path / "README.md").write_text("how this was made")
    assert cli.main(["--claims", "5", "--seed", "1", "--out", str(tmp_path), "--format", "files", "--force"]) == 0
    assert len(list((tmp_path / "claims").glob("*.json"))) == 5
    assert cli.main(["--claims", "4", "--seed", "2", "--out", str(tmp_path), "--force"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", *sorted(OUTPUT_FILES)]
    assert len(_read_jsonl(tmp_path / "claims.jsonl")) == 4
    read_dataset(tmp_path)  # exactly one claims source is left


def test_generate_rejects_fewer_than_one_claim():
    with pytest.raises(synthetic.ConfigError):
        synthetic.generate(0, seed=1)


# --- the committed sample ----------------------------------------------------------------------------

SAMPLE = Path(__file__).resolve().parent.parent / "claim_assess" / "data" / "sample"


def test_committed_sample_is_what_its_readme_command_makes(tmp_path):
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    assert "python -m drivers.generate --claims 50 --seed 7" in readme
    assert cli.main(["--claims", "50", "--seed", "7", "--out", str(tmp_path)]) == 0
    assert _bytes(tmp_path) == {k: v for k, v in _bytes(SAMPLE).items() if k != "README.md"}
    assert sum(len(v) for v in _bytes(SAMPLE).values()) < 1_000_000
