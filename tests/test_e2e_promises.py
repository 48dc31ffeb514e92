"""End to end: what the README promises, checked on the real CLI (``python -m drivers.assess`` as a subprocess, its own
local Ray on 127.0.0.1) against the simulator over HTTP.

Each test reads what the engine itself recorded (the ledger's decisions and ``llm_calls.jsonl`` attempts, the run's
``timeline.jsonl``, ``summary.json``, ``results.parquet``) rather than only the simulator's bookkeeping. Tests wait for
events (an output line, a journal line), never for time to pass.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from conftest import free_port
from claim_assess.claims.dataset import read_dataset
from claim_assess.claims.results import read_results
from claim_assess.drivers import verify
from claim_assess.run.settings import sample_dataset
from claim_assess.run.workspace import Workspace
from claim_assess.simulator import SimulatorConfig, start_simulator
from engine_records import assert_every_run_replays, attempts, moment, records

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-e2e-test-key"
FAST = dict(latency_median_ms=20, latency_p95_ms=60, api_key=KEY)
SLOWER = {**FAST, "latency_median_ms": 150, "latency_p95_ms": 400}  # claims stay in flight long enough to interrupt
DEADLINE_S = 120
SAMPLE_IDS = frozenset(e.claim_id for e in read_dataset(sample_dataset()).entries)


# --- helpers ------------------------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "OPENAI_API_KEY": KEY, "PYTHONUNBUFFERED": "1"}


def against(sim) -> list[str]:
    return ["--llm", "openai", "--base-url", sim.url, "--model", "sim-gpt"]


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drivers.assess", "--quiet", "--no-dashboard", *args], cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=timeout)


class Driver:
    """The CLI as a running process whose output lines can be waited for."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "drivers.assess", "--quiet", "--no-dashboard", *args],
                                     cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for_line(self, text: str, deadline_s: float = DEADLINE_S) -> str:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the driver ended before printing {text!r}:\n{self.output}")
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"timed out waiting for {text!r}:\n{self.output}")

    def finish(self, timeout: float = 120) -> int:
        code = self.proc.wait(timeout=timeout)
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def wait_for(condition, what: str, deadline_s: float = DEADLINE_S):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {deadline_s}s waiting for {what}")


def journaled(workspace: Path, run_id: str) -> int:
    path = Workspace(workspace).run(run_id).journal
    return path.read_bytes().count(b"\n") if path.exists() else 0


def decisions(workspace: Path, run_id: str) -> list[dict]:
    return records(workspace / "ledger" / "decisions.jsonl", run_id)


def sim_stats(sim) -> dict:
    """The simulator's own GET /stats, over HTTP (no proxy: loopback only)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(sim.url.removesuffix("/v1") + "/stats", timeout=5) as response:
        return json.loads(response.read())


def assert_every_claim_decided_once(workspace: Path, run_id: str, claim_ids=SAMPLE_IDS) -> dict[str, dict]:
    recorded = decisions(workspace, run_id)
    counts = Counter(d["claim_id"] for d in recorded)
    assert set(counts) == set(claim_ids), "every claim has a decision"
    assert set(counts.values()) == {1}, f"decided more than once: {[c for c, n in counts.items() if n > 1]}"
    assert not [d for d in recorded if d["decision"] == "FAILED"]
    rows, _ = read_results(workspace / "runs" / run_id)
    by_claim = {d["claim_id"]: d for d in recorded}
    assert sorted(r["claim_id"] for r in rows) == sorted(claim_ids)
    for row in rows:  # the result files agree with the ledger
        assert row["decision_id"] == by_claim[row["claim_id"]]["decision_id"]
    assert verify.main(["--workspace", str(workspace)]) == 0
    assert assert_every_run_replays(workspace) >= len(claim_ids)
    return by_claim


# --- 1. insufficient_quota stops the run; a resume completes it ---------------------------------------------------


def test_insufficient_quota_stops_the_run_leaves_the_rest_undecided_and_a_resume_completes(tmp_path):
    port, run_id = free_port(), "quota"
    quota_from = 30  # arrivals (the preflight is the first) answered normally before the account runs dry
    script = ("ok",) * quota_from + ("insufficient_quota",) * 10_000
    with start_simulator(SimulatorConfig(**FAST, fault_script=script), port=port) as sim:
        done = cli(*against(sim), "--actors", "2", "--workspace", str(tmp_path), "--run", run_id)
        served = sim_stats(sim)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert served["faults"]["insufficient_quota"] >= 1
    assert "You exceeded your current quota" in done.stdout  # the provider's own words
    assert f"--resume --run {run_id}" in done.stdout
    summary = json.loads((tmp_path / "runs" / run_id / "summary.json").read_text())
    assert summary["complete"] is False and "insufficient_quota" in summary["stopped"]
    assert 0 < summary["undecided"] < len(SAMPLE_IDS)
    recorded = decisions(tmp_path, run_id)
    assert [d for d in recorded if d["decision"] == "FAILED"] == [], "no claim paid for the account's quota"
    assert len(recorded) < len(SAMPLE_IDS)
    logged = attempts(tmp_path, run_id)
    quota_claims = {a["claim_id"] for a in logged if a["status"] == 429}
    assert quota_claims and not quota_claims & {d["claim_id"] for d in recorded}

    with start_simulator(SimulatorConfig(**FAST), port=port):  # credit bought: the same URL, healthy
        resumed = cli("--resume", "--run", run_id, "--workspace", str(tmp_path))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # The resume keeps what the run's journal and the ledger both hold; the ledger may hold one or two more, decided
    # as the stop cancelled them: the idempotency key hands those back, never a second decision.
    kept = int(re.search(r"resuming: (\d+) claims already decided", resumed.stdout).group(1))
    assert 0 < kept <= len(recorded)
    by_claim = assert_every_claim_decided_once(tmp_path, run_id)
    for before in recorded:  # what was decided before the stop is kept, not decided again
        assert by_claim[before["claim_id"]]["decision_id"] == before["decision_id"]
    # README: a claim cut short by a run-wide stop "gets no decision record; its attempts are still logged in
    # llm_calls.jsonl". Every request the simulator received in the first run is an attempt in the call log.
    assert len(logged) == served["requests"], "attempts of the stopped run are missing from llm_calls.jsonl"


# --- 2 and 6. one real run of the sample with one 429 in it -------------------------------------------------------

RETRY_AFTER_S = 2.0
LIMITED_AT = 25  # the arrival that gets the 429 (the preflight is arrival 0)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    workspace, run_id = tmp_path_factory.mktemp("e2e-sample"), "sample-429"
    config = SimulatorConfig(**FAST, fault_script=("ok",) * LIMITED_AT + ("rate_limit",),
                             scripted_retry_after_s=RETRY_AFTER_S)
    with start_simulator(config) as sim:
        done = cli(*against(sim), "--actors", "2", "--rpm", "1200", "--workspace", str(workspace), "--run", run_id)
        served = sim_stats(sim)
    assert done.returncode == 0, done.stdout + done.stderr
    return {"workspace": workspace, "run_id": run_id, "dir": workspace / "runs" / run_id, "served": served}


def test_a_429_pauses_every_assessor_until_its_retry_after(sample_run):
    workspace, run_id = sample_run["workspace"], sample_run["run_id"]
    logged = attempts(workspace, run_id)
    assert len(logged) == sample_run["served"]["requests"]
    (limited,) = [a for a in logged if a["status"] == 429]
    hit, heard = moment(limited["started_at"]), moment(limited["finished_at"])
    # The limiter is told of the 429 between these two moments. Attempts granted a permit before it was told may
    # still go out just after; none granted later may go before the hint has passed.
    already_on_their_way = hit + 0.25
    too_early = [a for a in logged if a is not limited and heard + 0.25 < moment(a["started_at"]) < hit + RETRY_AFTER_S]
    assert too_early == [], f"sent during the {RETRY_AFTER_S}s pause: {[a['started_at'] for a in too_early]}"
    on_their_way = [a for a in logged if a is not limited and hit <= moment(a["started_at"]) <= already_on_their_way]
    assert len(on_their_way) <= 2, on_their_way
    after = [a for a in logged if moment(a["started_at"]) >= hit + RETRY_AFTER_S]
    before = [a for a in logged if hit - 1.5 <= moment(a["started_at"]) < hit and a["claim_id"]]
    # Both assessors were working just before the 429 and both after the pause: the pause held the fleet.
    actor_of = {d["claim_id"]: d["actor"] for d in decisions(workspace, run_id)}
    assert {actor_of[a["claim_id"]] for a in before} == {"assessor-1", "assessor-2"}
    assert {actor_of[a["claim_id"]] for a in after} == {"assessor-1", "assessor-2"}
    # The call that got the 429 waited in that pause like every other request, not a second time for the hint.
    (retry,) = [a for a in logged if (a["claim_id"], a["purpose"], a["item_id"]) ==
                (limited["claim_id"], limited["purpose"], limited["item_id"]) and a["attempt"] == limited["attempt"] + 1]
    assert hit + RETRY_AFTER_S <= moment(retry["started_at"]) < hit + 2 * RETRY_AFTER_S - 0.5
    # The driver's own timeline saw the pause.
    timeline = [json.loads(line) for line in (sample_run["dir"] / "timeline.jsonl").read_text().splitlines()]
    paused = [line["paused_s"] for line in timeline if line["paused_s"] > 0]
    assert paused and max(paused) <= RETRY_AFTER_S + 0.1
    assert timeline[-1]["rate_limited"] == 1


TIMELINE_FIELDS = {"t", "at", "done", "requests", "tokens", "rate_limited", "retries", "paused_s", "inflight_claims",
                   "claim_limit", "rpm_limit", "tpm_limit"}


def test_a_real_run_writes_a_report_and_a_timeline_that_agree_with_its_results(sample_run):
    run_dir, run_id = sample_run["dir"], sample_run["run_id"]
    rows, _ = read_results(run_dir)
    assert len(rows) == len(SAMPLE_IDS)
    counts = Counter(r["decision"] for r in rows)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {k: v for k, v in summary["decisions"].items() if v} == dict(counts)
    page = (run_dir / "report.html").read_text()
    assert run_id in page
    for decision, count in counts.items():
        assert _shows_count(page, decision, count), f"report.html does not show {count} {decision}"

    lines = (run_dir / "timeline.jsonl").read_text().splitlines()
    timeline = [json.loads(line) for line in lines]  # every line parses on its own
    assert len(timeline) >= 2
    for line in timeline:
        assert set(line) == TIMELINE_FIELDS, set(line) ^ TIMELINE_FIELDS
        datetime.fromisoformat(line["at"].replace("Z", "+00:00"))
    for field in ("t", "done", "requests", "tokens", "rate_limited", "retries"):  # cumulative
        values = [line[field] for line in timeline]
        assert values == sorted(values), field
    last = timeline[-1]
    assert last["done"] == len(SAMPLE_IDS)
    assert last["requests"] == summary["llm"]["requests"] and last["rpm_limit"] == 1200
    assert last["requests"] == sum(r["llm_calls"] for r in rows)


def _shows_count(page: str, decision: str, count: int) -> bool:
    """The decision's name with its count within the next few hundred characters of markup."""
    start = 0
    while (index := page.find(decision, start)) >= 0:
        window = page[index:index + 400]
        if f">{count}<" in window or f">{count:,}<" in window or f" {count}<" in window:
            return True
        start = index + 1
    return False


# --- 3. the second Ctrl-C ----------------------------------------------------------------------------------------


def test_a_second_ctrl_c_stops_at_once_and_a_resume_decides_every_claim_once(tmp_path):
    run_id = "two-sigints"
    with start_simulator(SimulatorConfig(**SLOWER)) as sim:
        driver = Driver(*against(sim), "--actors", "2", "--rpm", "300", "--workspace", str(tmp_path), "--run", run_id)
        try:
            wait_for(lambda: journaled(tmp_path, run_id) >= 5 or driver.proc.poll() is not None, "5 decisions")
            assert driver.proc.poll() is None, driver.output
            driver.proc.send_signal(signal.SIGINT)
            driver.wait_for_line("stopping: no new claims")  # the graceful stop has begun
            driver.proc.send_signal(signal.SIGINT)
            code = driver.finish()
        finally:
            driver.kill()
        assert code == 130, driver.output
        assert "second signal: stopping at once" in driver.output
        acknowledged = {d["claim_id"]: d["decision_id"] for d in decisions(tmp_path, run_id)}
        assert 5 <= len(acknowledged) < len(SAMPLE_IDS)

        resumed = cli("--resume", "--run", run_id, "--workspace", str(tmp_path), "--rpm", "1200")  # quicker now
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    by_claim = assert_every_claim_decided_once(tmp_path, run_id)
    assert {c: by_claim[c]["decision_id"] for c in acknowledged} == acknowledged, "an acknowledged decision was lost"


# --- 4. a resume with other --actors and --rpm ---------------------------------------------------------------------


def test_a_resume_may_change_actors_and_rpm_and_keeps_the_rest_of_the_runs_settings(tmp_path):
    run_id = "other-settings"
    run_dir = tmp_path / "runs" / run_id
    with start_simulator(SimulatorConfig(**SLOWER)) as sim:
        driver = Driver(*against(sim), "--actors", "2", "--rpm", "300", "--workspace", str(tmp_path), "--run", run_id)
        try:
            wait_for(lambda: journaled(tmp_path, run_id) >= 8 or driver.proc.poll() is not None, "8 decisions")
            driver.proc.send_signal(signal.SIGTERM)
            code = driver.finish()
        finally:
            driver.kill()
        assert code == 143, driver.output
        first = {d["claim_id"]: d for d in decisions(tmp_path, run_id)}
        assert {d["actor"] for d in first.values()} == {"assessor-1", "assessor-2"}
        timeline_before = len((run_dir / "timeline.jsonl").read_text().splitlines())

        # What is the run's own may not change: refused before anything starts.
        refused = cli("--resume", "--run", run_id, "--workspace", str(tmp_path), "--model", "other-model")
        assert refused.returncode == 2 and "drop --model" in refused.stdout

        resumed = cli("--resume", "--run", run_id, "--workspace", str(tmp_path), "--actors", "1", "--rpm", "900")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    by_claim = assert_every_claim_decided_once(tmp_path, run_id)
    later = [d for c, d in by_claim.items() if c not in first]
    assert later and {d["actor"] for d in later} == {"assessor-1"}, "the resume ran one assessor"
    settings = json.loads((run_dir / "summary.json").read_text())["settings"]
    assert (settings["actors"], settings["rpm"]) == (1, 900)
    # The run's own settings stay: dataset, endpoint, model.
    assert (settings["input"], settings["base_url"], settings["model"]) == (str(sample_dataset()), sim.url, "sim-gpt")
    resumed_timeline = [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]
    assert {line["rpm_limit"] for line in resumed_timeline[timeline_before:]} == {900}, "the limiter used --rpm 900"


# --- 5. --dry-run from the command line ----------------------------------------------------------------------------


def test_a_dry_run_from_the_command_line_calls_no_llm_and_writes_no_ledger(tmp_path):
    workspace = tmp_path / "ws"
    with start_simulator(SimulatorConfig(**FAST)) as sim:
        done = cli(*against(sim), "--dry-run", "--json", "--workspace", str(workspace), "--price-input", "0.15",
                   "--price-output", "0.60", timeout=120)
        served = sim_stats(sim)
    assert done.returncode == 0, done.stdout + done.stderr
    plan = json.loads(done.stdout)
    assert plan["claims"] == len(SAMPLE_IDS) and plan["llm_calls"]["total"] > 0
    assert served["requests"] == 0, "a dry run sent a request to the LLM"
    assert not (workspace / "ledger").exists() and not workspace.exists()
