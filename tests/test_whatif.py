"""What-if (issue 14): a real recorded run of the bundled sample, decided again under changed policy terms.

The run is recorded without Ray (about two seconds): the assessors' own core (``run.assessor.ClaimAssessor``) with
the real LLM client against the simulator, writing a real file ledger through the group-commit writer, and the run's
settings.json, as ``drivers.assess`` leaves them; the Ray fleet adds nothing the what-if reads. Every test copies the
recorded workspace and dataset and changes the terms. The expectations are computed here from the policy terms and
the claims (spec 2.3-2.6), never with the code under test.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from conftest import edit_claim
from claim_assess.claims.dataset import open_dataset, read_dataset
from claim_assess.drivers import whatif as whatif_driver
from claim_assess.ledger.group_commit import GroupCommitWriter
from claim_assess.ledger.store import FileLedger
from claim_assess.llm.client import LLMClient
from claim_assess.llm.limiter import NoLimit
from claim_assess.run.assessor import ClaimAssessor, PolicyBook
from claim_assess.run.progress import ProgressReporter
from claim_assess.run.settings import new_settings, sample_dataset, save
from claim_assess.simulator import SimulatorConfig, start_simulator
from claim_assess.whatif.analysis import what_if
from claim_assess.whatif.terms import with_new_policies

RUN_ID = "whatif-run-1"
ROOT = Path(__file__).resolve().parent.parent


class _Metrics:
    def attempt(self, record) -> None:
        pass

    def claim_decided(self, decision: str) -> None:
        pass

    def flush(self) -> None:
        pass


def record_sample_run(base: Path) -> dict:
    """Assess the sample (copied to base/data) into workspace base/ws; each claim's result row by claim id."""
    shutil.copytree(sample_dataset(), base / "data")
    dataset = read_dataset(base / "data")
    settings = new_settings(workspace=base / "ws", run_id=RUN_ID, input=base / "data")
    save(settings)

    async def go():
        writer = GroupCommitWriter(FileLedger.open(settings.ledger_dir, fsync=lambda fd: None))
        with start_simulator(SimulatorConfig(latency_median_ms=1, latency_p95_ms=2)) as sim:
            async with LLMClient(base_url=sim.url, api_key="sim", model="sim-gpt", limiter=NoLimit()) as client:
                core = ClaimAssessor(name="assessor-1", run_id=RUN_ID, book=PolicyBook.of(dataset), client=client,
                                     append=writer.append, reporter=ProgressReporter("assessor-1", lambda b: None),
                                     metrics=_Metrics())
                outcomes = await asyncio.gather(*(core.assess(e) for e in dataset.entries))
                core.flush()
        await writer.close()
        return outcomes

    return {o.row.claim_id: o.row for o in asyncio.run(go())}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("whatif-recorded")
    return base, record_sample_run(base)


@pytest.fixture
def case(recorded, tmp_path) -> Path:
    """A copy of the recorded run whose settings name the copy's dataset (as a run made there would)."""
    shutil.copytree(recorded[0], tmp_path / "case")
    settings = tmp_path / "case" / "ws" / "runs" / RUN_ID / "settings.json"
    values = json.loads(settings.read_text())
    settings.write_text(json.dumps({**values, "input": str(tmp_path / "case" / "data"),
                                    "workspace": str(tmp_path / "case" / "ws")}))
    return tmp_path / "case"


@pytest.fixture
def rows(recorded) -> dict:
    return recorded[1]


def policies(case: Path) -> list[dict]:
    return [json.loads(line) for line in (case / "data" / "policies.jsonl").read_text().splitlines()]


def claims(case: Path) -> dict[str, dict]:
    return {c["claim_id"]: c for c in map(json.loads, (case / "data" / "claims.jsonl").read_text().splitlines())}


def decisions(case: Path) -> dict[str, dict]:
    lines = (case / "ws" / "ledger" / "decisions.jsonl").read_text().splitlines()
    return {d["claim_id"]: d for d in map(json.loads, lines)}


def calls(case: Path) -> dict[str, dict]:
    lines = (case / "ws" / "ledger" / "llm_calls.jsonl").read_text().splitlines()
    return {c["call_id"]: c for c in map(json.loads, lines)}


def write_policies(case: Path, values: list[dict]) -> Path:
    path = case / "new-policies.jsonl"
    path.write_text("".join(json.dumps(v) + "\n" for v in values), encoding="utf-8")
    return path


def run_what_if(case: Path, new_policies: Path, jobs: int = 1):
    dataset = open_dataset(case / "data")
    return what_if(case / "ws" / "ledger", dataset, RUN_ID, book=with_new_policies(dataset, new_policies),
                   policies_file=str(new_policies), jobs=jobs)


def cli(case: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved, sys.stderr = sys.stderr, err
    try:
        code = whatif_driver.main(["--run", RUN_ID, "--workspace", str(case / "ws"), *extra], out=out)
    finally:
        sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


# --- the payout of spec 2.4, written again here from the terms -------------------------------------------------


def payout(policy: dict, covered_total: Decimal, odometer_km: int) -> Decimal:
    rate = next(Decimal(r["percent"]) for r in policy["reimbursement_scale"]
                if r["up_to_km"] is None or odometer_km <= r["up_to_km"])
    capped = min(covered_total * rate / 100, Decimal(policy["max_payout"]))
    gross = capped * (1 + Decimal(policy["vat_percent"]) / 100) if policy["holder_type"] == "individual" else capped
    deductible = max(gross * Decimal(policy["deductible"]["percent"]) / 100, Decimal(policy["deductible"]["minimum"]))
    return max(Decimal(0), gross - deductible).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def name(component: str | None) -> str | None:
    return " ".join(component.split()).lower() if component is not None else None


def hard_check_fails(policy: dict, claim: dict) -> bool:
    limit = policy["max_odometer_km"]
    return not (policy["valid_from"] <= claim["loss_date"] <= policy["valid_to"]) or (
        limit is not None and claim["odometer_km"] > limit)


# --- the tests ---------------------------------------------------------------------------------------------------


def test_an_unchanged_policy_book_changes_nothing_and_answers_every_question_exactly(case):
    report = run_what_if(case, write_policies(case, policies(case)))
    cited = sum(len(d["llm_calls"]) for d in decisions(case).values())
    assert report.changed_policies == ()
    assert report.claims == {"exact": 50, "approximate": 0, "needs_new_calls": 0, "not_comparable": 0}
    assert report.questions["assumed"] == report.questions["needs_new_call"] == 0
    assert 0 < report.questions["exact"] <= cited  # retries are several attempts of one question
    assert all(a == b for a, b, _ in report.transitions) and report.lists["changed"]["count"] == 0
    assert {t["delta"] for t in report.totals} == {"0.00"}
    assert report.lists["into_refer"]["count"] == report.lists["out_of_refer"]["count"] == 0


def test_a_raised_deductible_lowers_each_kept_payout_by_what_the_terms_say(case, rows):
    old = {p["policy_id"]: p for p in policies(case)}
    new = [{**p, "deductible": {"percent": str(Decimal(p["deductible"]["percent"]) + 5),
                                "minimum": f"{Decimal(p['deductible']['minimum']) + 100:.2f}"}} for p in old.values()]
    report = run_what_if(case, write_policies(case, new))
    terms, claim_of, recorded = {p["policy_id"]: p for p in new}, claims(case), decisions(case)
    after = {x["claim_id"]: x for x in report.lists["changed"]["listed"]}
    checked, expected_assumed, expected_claims = 0, 0, 0
    purpose = {c["call_id"]: c["purpose"] for c in calls(case).values()}
    for claim_id, d in recorded.items():
        row, claim = rows[claim_id], claim_of[claim_id]
        if d["decision"] in ("DENY", "FAILED"):
            continue  # no payout to lower (and a lower one cannot move a claim out of DENY)
        before = payout(old[d["policy_id"]], row.covered_total, claim["odometer_km"])
        assert f"{before:.2f}" == d["payout"]  # this test's formula is the run's
        expected = payout(terms[d["policy_id"]], row.covered_total, claim["odometer_km"])
        # the assessment's and the facts check's prompts show the payout: a changed payout changes both
        shown = {purpose[r["call_id"]] for r in d["llm_calls"]} & {"assessment", "facts_check"}
        asked_assessment = "assessment" in shown
        # (a payout lowered to 0 is DENY by rule 9 before rule 7b: that claim's facts check is no longer asked)
        expected_assumed += (asked_assessment + ("facts_check" in shown and expected > 0)) if expected != before else 0
        expected_claims += bool(shown) and expected != before
        change = after.get(claim_id)
        if change is None:
            assert expected == before
        elif change["to"] == d["decision"]:
            assert change["payout_after"] == f"{expected:.2f}" and change["approximate"] == asked_assessment
            checked += 1
    assert checked >= 10
    assert report.questions["assumed"] == expected_assumed > 0
    assert {x["purpose"] for x in report.lists["assumed"]["listed"]} == {"assessment", "facts_check"}
    assert report.claims["approximate"] == expected_claims and report.claims["needs_new_calls"] == 0
    kept = [x for x in after.values() if x["from"] == x["to"]]
    delta = sum(Decimal(x["payout_after"]) - Decimal(x["payout_before"]) for x in after.values())
    assert delta < 0 and len(kept) == checked
    assert sum(Decimal(t["delta"]) for t in report.totals) == delta
    assert sum(Decimal(p["delta"]) for p in report.policies_delta) == delta
    assert sorted(report.changed_policies) == sorted(terms)


def test_worker_processes_give_the_same_report_as_one_process(case):
    new = [{**p, "deductible": {**p["deductible"], "percent": "20"}} for p in policies(case)]
    path = write_policies(case, new)
    one, two = run_what_if(case, path), run_what_if(case, path, jobs=2)
    assert one.lists["changed"]["count"] > 0 and two == one


def test_the_auto_approve_limit_moves_claims_into_and_out_of_refer_and_nothing_else(case):
    recorded = decisions(case)
    paid = sorted(c for c, d in recorded.items() if d["decision"] in ("APPROVE", "PARTIAL"))
    lowered = [{**p, "auto_approve_limit": "0.01"} for p in policies(case)]
    report = run_what_if(case, write_policies(case, lowered))
    assert paid and sorted(report.lists["into_refer"]["listed"]) == paid  # rule 8: every payout is above 0.01
    assert report.lists["out_of_refer"]["count"] == 0 and report.claims["exact"] == 50  # no prompt shows the limit
    high = sorted(c for c, d in recorded.items() if d["decision"] == "REFER" and d["reasons"][0] == "HIGH_VALUE")
    raised = [{**p, "auto_approve_limit": "99999999.00"} for p in policies(case)]
    report = run_what_if(case, write_policies(case, raised))
    # Out of HIGH_VALUE they would be paid automatically, so rule 7b asks their facts check: never asked in the run,
    # it has no recorded answer, and nothing is sent: they need new calls, and leave the figures.
    needing = sorted(x["claim_id"] for x in report.lists["needs_new_calls"]["listed"])
    assert high and needing == high and report.claims["needs_new_calls"] == len(high)
    assert report.lists["out_of_refer"]["count"] == report.lists["into_refer"]["count"] == 0
    assert {t["delta"] for t in report.totals} == {"0.00"}


def test_a_coverage_exclusion_added_denies_the_claims_it_leaves_with_nothing_covered(case):
    values = policies(case)
    target = max(values, key=lambda p: sum(c["policy_id"] == p["policy_id"] for c in claims(case).values()))
    covered = sorted({name(c) for category in target["coverage"] for c in category["components"]})
    excluded = {name(c) for e in target["exclusions"] for c in e["components"]}
    target["exclusions"] = [*target["exclusions"], {"clause": "X.9", "description": "what-if", "components": covered}]
    report = run_what_if(case, write_policies(case, values))
    recorded = decisions(case)
    # Every item a rule placed (covered or excluded) is now excluded: a claim whose every item a rule places has
    # nothing covered and nothing in review, so rule 1 or 2 denies it.
    ruled = [cid for cid, c in claims(case).items() if c["policy_id"] == target["policy_id"]
             and c["line_items"] and all(name(i["component"]) in set(covered) | excluded for i in c["line_items"])]
    moved = {x["claim_id"]: x for x in report.lists["changed"]["listed"]}
    assert ruled
    for claim_id in ruled:
        was = recorded[claim_id]["decision"]
        if was in ("DENY", "FAILED"):
            assert claim_id not in moved
        else:
            assert moved[claim_id]["to"] == "DENY" and moved[claim_id]["payout_after"] == "0.00"
    assert sum(n for a, b, n in report.transitions if b == "DENY" and a != "DENY") >= sum(
        recorded[c]["decision"] not in ("DENY", "FAILED") for c in ruled) > 0
    assert report.changed_policies == (target["policy_id"],)


def test_a_component_the_rules_no_longer_place_needs_a_new_call_and_stays_out(case):
    values = policies(case)

    def needing(target: dict, dropped: dict) -> list[str]:
        gone = {name(c) for c in dropped["components"]} - {name(c) for e in target["exclusions"] for c in e["components"]}
        return sorted(cid for cid, c in claims(case).items() if c["policy_id"] == target["policy_id"]
                      and not hard_check_fails(target, c) and any(name(i["component"]) in gone for i in c["line_items"]))

    # The policy and coverage category whose removal leaves the most claims with an item no rule places any more.
    need, target, dropped = max(((needing(p, c), p, c) for p in values for c in p["coverage"]), key=lambda t: len(t[0]))
    target["coverage"] = [c for c in target["coverage"] if c is not dropped]
    report = run_what_if(case, write_policies(case, values))
    listed = sorted(x["claim_id"] for x in report.lists["needs_new_calls"]["listed"])
    assert need and listed == need and report.claims["needs_new_calls"] == len(need)
    assert report.questions["needs_new_call"] >= len(need)
    compared = sum(n for _, _, n in report.transitions)
    assert compared == 50 - len(need) == report.claims["exact"] + report.claims["approximate"]


def test_the_cli_writes_no_ledger_byte_and_a_page_with_the_figures(case):
    new = [{**p, "deductible": {**p["deductible"], "minimum": f"{Decimal(p['deductible']['minimum']) + 50:.2f}"}}
           for p in policies(case)]
    path = write_policies(case, new)
    ledger = case / "ws" / "ledger"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(ledger.iterdir())}
    page = case / "page.html"
    code, out, err = cli(case, "--policies", str(path), "--json", "--html", str(page))
    assert code == 0, err
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(ledger.iterdir())}
    assert after == before
    data = json.loads(out)
    assert data["ok"] and data["run_id"] == RUN_ID and data["html"] == str(page)
    assert set(data) >= {"claims", "questions", "transitions", "payout", "changed", "into_refer", "out_of_refer",
                         "assumed", "needs_new_calls", "not_comparable", "changed_policies"}
    assert data["claims"]["total"] == 50 == sum(t["count"] for t in data["transitions"])
    assert {"from", "to", "count"} == set(data["transitions"][0])
    assert {"policy_id", "currency", "claims", "before", "after", "delta"} == set(data["payout"]["per_policy"][0])
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and RUN_ID in html
    assert re.findall(r"<th[^>]*></th>", html) == []  # every column of every table is named
    for total in data["payout"]["per_currency"]:
        assert f"{Decimal(total['delta']):+,.2f}" in html and f"{Decimal(total['after']):,.2f}" in html
    code, text, _ = cli(case, "--policies", str(path))  # the terminal table; the default page goes to the workspace
    assert code == 0 and "payout of the compared claims" in text and "POL-" in text
    assert len(list((case / "ws" / "whatif").glob(f"{RUN_ID}-*.html"))) == 1


def test_a_bad_policies_line_or_an_unknown_policy_id_is_a_usage_error_naming_it(case):
    values = policies(case)
    values[1] = {**values[1], "deductible": {"percent": "ten", "minimum": "150.00"}}
    code, _, err = cli(case, "--policies", str(write_policies(case, values)))
    assert code == 2 and "line 2" in err and "deductible" in err
    values = policies(case)
    values[0] = {**values[0], "policy_id": "POL-XX-9999"}
    code, out, _ = cli(case, "--policies", str(write_policies(case, values)), "--json")
    assert code == 2 and json.loads(out)["ok"] is False and "POL-XX-9999" in json.loads(out)["error"]
    assert cli(case, "--policies", str(case / "missing.jsonl"))[0] == 2
    assert cli(case)[0] == 2  # neither --policies nor --input
    code, _, err = cli(case, "--policies", str(write_policies(case, policies(case))), "--run", "no-such-run")
    assert code == 2 and "no-such-run" in err


def test_a_claim_changed_since_the_run_is_compared_only_when_the_dataset_is_named(case):
    original = json.loads((case / "data" / "claims.jsonl").read_text().splitlines()[4])
    claim = edit_claim(case / "data", 4, odometer_km=original["odometer_km"] + 1)
    same = str(write_policies(case, policies(case)))
    code, out, _ = cli(case, "--policies", same, "--json")  # the run's own dataset, edited behind its back
    data = json.loads(out)
    assert code == 0 and data["claims"]["not_comparable"] == 1
    assert data["not_comparable"]["listed"][0]["claim_id"] == claim["claim_id"]
    code, out, _ = cli(case, "--input", str(case / "data"), "--json")  # named on purpose: compared, and said so
    data = json.loads(out)
    assert code == 0 and data["claims"]["not_comparable"] == 0 and data["changed_input"]["listed"] == [claim["claim_id"]]


@pytest.mark.slow  # a fresh interpreter
def test_the_cli_runs_with_the_openai_client_unimportable_and_no_socket_and_loads_no_ray(case):
    path = write_policies(case, policies(case))
    code = ("import socket, sys\n"
            "sys.modules['openai'] = None  # any import of it raises ImportError\n"
            "def refuse(*a, **k):\n    raise OSError('network use in a what-if')\n"
            "socket.socket.connect = socket.socket.connect_ex = refuse\nsocket.create_connection = refuse\n"
            "from claim_assess.drivers.whatif import main\n"
            f"rc = main(['--run', {RUN_ID!r}, '--workspace', {str(case / 'ws')!r}, '--policies', {str(path)!r},"
            " '--json'])\n"
            "print('LOADED', sorted(m for m in ('ray', 'openai', 'aiohttp') if sys.modules.get(m) is not None))\n"
            "sys.exit(rc)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "LOADED []"
    assert '"exact": 50' in done.stdout
