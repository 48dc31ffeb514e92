"""kill -9 anywhere: the driver killed at points drawn at random per run, in every phase, then resumed to the end.

The slow test runs ``python -m drivers.assess`` on the bundled 50-claim sample (built-in simulator, 2 assessors)
as real processes, each with its own local Ray on 127.0.0.1, and kills the driver's process group with SIGKILL
(as a crash would) at ``POINTS`` points drawn from a seed: ``CLAIM_ASSESS_KILL_SEED`` if set, else os.urandom.
The seed is printed and named in every assertion message; ``CLAIM_ASSESS_KILL_SEED=<seed> pytest -m slow
tests/test_kill_anywhere.py`` replays a failure's plan.

Where it kills, without betting on timing: the driver marks each phase it enters in a file and can be held at
the start of one (claim_assess.run.phases). A kill point is a phase and either "held" (killed while waiting at
the phase's start: certain to be in it) or a fraction (released, then killed that far into the shortest length
of the phase seen on earlier drivers of this test; a driver that finishes first is killed held instead); a
``decide`` point kills once the journal holds a drawn number of outcomes. Every phase gets at least one held (or,
for decide, counted) kill: results, summary and report take milliseconds to a second, so only the hold lands a
kill in them for certain (a drawn moment often lands in the next phase; each kill prints where it landed).

The points form two chains (two runs in one workspace): each is a new run, then resumes, each killed in turn,
and a last resume that must exit 0. After every kill (no Ray needed): no claim has two decisions in the ledger,
no decision seen before is gone, the journal reads. After each chain: every claim of the dataset has exactly one
decision for that run, the result files cover every claim exactly once and agree with the ledger, summary.json
says complete, and ``claim-assess verify`` passes with the whole ledger under a signed checkpoint.
"""

from __future__ import annotations

import datetime as dt
import errno
import io
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psutil
import pytest

from claim_assess.claims.results import ItemRow, ResultRow, read_results
from claim_assess.drivers import verify
from claim_assess.errors import RunError
from claim_assess.ledger.verify import verify_ledger
from claim_assess.llm.accounting import LLMUsage
from claim_assess.run import phases
from claim_assess.run.journal import OutcomeJournal, journaled_claims, journaled_outcomes
from claim_assess.run.progress import ProgressSnapshot
from claim_assess.run.settings import new_settings, resumed_settings, save
from claim_assess.run.timeline import TimelineWriter
from claim_assess.run.workspace import Workspace
from test_resilience import ledger_decisions  # tests/ is on sys.path (pytest inserts the rootdir of a test file)
from engine_records import assert_every_run_replays

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "claim_assess" / "data" / "sample"
SEED_VARIABLE = "CLAIM_ASSESS_KILL_SEED"
POINTS_VARIABLE = "CLAIM_ASSESS_KILL_POINTS"
# The soak is 20 points in 2 chains (22+ drivers, 6-16 min here); the suite draws 8 in one chain, a new
# seed each run, every phase at least once (CLAIM_ASSESS_KILL_POINTS=20 runs the soak: README, "kill -9 anywhere").
POINTS = int(os.environ.get(POINTS_VARIABLE) or 8)
CHAINS = 2 if POINTS >= 16 else 1
LATE = ("checkpoint", "results", "summary", "report")  # every claim is back: the phases a run ends with
TARGETS = ("start", "resume-start", "decide", *LATE)
SIBLING = {"start": "resume-start", "resume-start": "start"}  # the same work (Ray starting): either's length
DEADLINE_S = 600  # one driver, on a loaded 2-core machine (Ray alone takes 10-40 s to start here)
POLL_S = 0.005
RAY_DID_NOT_START, RAY_ATTEMPTS = "cannot start or join Ray", 3  # actors.cluster.connect's RunError
FINISHED = "finished before the kill"


@dataclass(frozen=True)
class KillPoint:
    phase: str
    claims: int = 0  # decide: kill once the journal holds this many outcomes
    fraction: float | None = None  # None: kill while held at the phase's start; else that far into the phase

    def __str__(self) -> str:
        if self.phase == "decide":
            return f"decide@{self.claims} claims"
        return f"{self.phase}@" + ("held" if self.fraction is None else f"{self.fraction:.2f}")


def draw_plan(rng: random.Random, *, points: int = POINTS, chains: int = CHAINS, claims: int = 50) -> list[list[KillPoint]]:
    """``points`` kill points in ``chains`` runs, every phase of TARGETS at least once, in an order a run can meet
    them: a new run's start first, then decide points at growing claim counts, then the late phases; kills right
    after a resume starts anywhere after the first driver of a chain."""
    starts = rng.randint(1, chains)
    others = [*TARGETS[1:], *(rng.choice(TARGETS[1:]) for _ in range(points - starts - len(TARGETS) + 1))]
    rng.shuffle(others)
    chain_phases: list[list[str]] = [["start"] if i < starts else [] for i in range(chains)]
    for phases_of in chain_phases:  # every chain needs a first driver: a new run, which never has "resume-start"
        if not phases_of:
            phases_of.append(others.pop(next(i for i, p in enumerate(others) if p != "resume-start")))
    for phase in others:
        rng.choice(chain_phases).append(phase)
    seen: set[str] = set()
    plan = []
    for phases_of in chain_phases:
        decides = sorted(rng.sample(range(1, claims - 2), phases_of.count("decide")))
        lates = [p for p in phases_of if p in LATE]
        rng.shuffle(lates)
        ordered = [*(["start"] if "start" in phases_of else []), *(["decide"] * len(decides)), *lates]
        for _ in range(phases_of.count("resume-start")):
            ordered.insert(rng.randint(1, len(ordered)), "resume-start")
        chain = []
        for phase in ordered:
            if phase == "decide":
                chain.append(KillPoint("decide", claims=decides.pop(0)))
            else:  # the first of each phase is held (certain); the others land at a random moment within it
                chain.append(KillPoint(phase, fraction=None if phase not in seen else rng.random()))
            seen.add(phase)
        plan.append(chain)
    return plan


def _marks(path: Path) -> list[tuple[str, float]]:
    """(phase, monotonic time) of each whole line "<phase> <pid> <time>" (one being written is not one yet)."""
    if not path.exists():
        return []
    whole = path.read_text().split("\n")[:-1]
    return [(name, float(at)) for name, _, at in (line.split() for line in whole)]


def _journal_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@dataclass
class Driver:
    """One ``python -m drivers.assess`` process in its own session (its process group is the crash's blast radius)."""

    args: list[str]
    folder: Path
    hold: str | None = None
    process: subprocess.Popen = field(init=False)

    def __post_init__(self) -> None:
        self.phase_file, self.gate, self.output = (self.folder / "phases", self.folder / "gate",
                                                   self.folder / "output")
        self.folder.mkdir(parents=True)
        env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", phases.PHASE_FILE: str(self.phase_file)}
        if self.hold:
            os.mkfifo(self.gate)
            env.update({phases.PHASE_HOLD: self.hold, phases.PHASE_GATE: str(self.gate)})
        with self.output.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "drivers.assess", "--quiet", "--no-dashboard", *self.args], cwd=ROOT,
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.started, self.orphans_s = time.monotonic(), 0.0

    def marks(self) -> list[tuple[str, float]]:
        return _marks(self.phase_file)

    def wait_until(self, condition, what: str, context: str) -> bool:
        """Poll until ``condition()``; False if the driver exited first."""
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end:
            if condition():
                return True
            if self.process.poll() is not None:
                return bool(condition())
            time.sleep(POLL_S)
        raise AssertionError(f"timed out after {DEADLINE_S}s waiting for {what} {context}\n{self.tail()}")

    def release(self, context: str) -> None:
        """Let the driver go on from its hold: open the gate's FIFO for writing and close it (EOF for the reader)."""
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end:
            try:
                os.close(os.open(self.gate, os.O_WRONLY | os.O_NONBLOCK))
                return
            except OSError as exc:  # ENXIO: the driver has marked the phase but not opened the gate yet
                if exc.errno != errno.ENXIO or self.process.poll() is not None:
                    raise AssertionError(f"cannot release the driver {context}: {exc}\n{self.tail()}") from exc
            time.sleep(POLL_S)
        raise AssertionError(f"the driver never waited at its gate {context}\n{self.tail()}")

    def kill(self, context: str) -> None:
        """SIGKILL to the driver's process group (the driver, GCS, raylet, agents), as a crash would; then wait for
        the Ray workers, which sit in process groups of their own, to die of it (they follow their raylet)."""
        try:
            tree = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it ended (and every process of its group) just before
            pass
        self.process.wait(timeout=60)
        killed = time.monotonic()
        _, alive = psutil.wait_procs(tree, timeout=120)
        self.orphans_s = time.monotonic() - killed  # how long the workers outlived it (the next driver waits)
        for orphan in alive:  # only processes this driver started, by pid
            orphan.kill()
        assert not alive, f"{len(alive)} Ray processes outlived their killed driver by 2 min {context}"

    def ray_did_not_start(self) -> str | None:
        """The driver's own message when Ray failed to start (not the run's doing), else None."""
        if self.process.poll() is None:
            return None
        found = [line for line in self.output.read_text(errors="replace").splitlines() if RAY_DID_NOT_START in line]
        return found[0].strip() if found else None

    def finish(self) -> int:
        return self.process.wait(timeout=DEADLINE_S)

    def tail(self, chars: int = 3000) -> str:
        return f"--- driver output ({self.output}) ---\n" + self.output.read_text(errors="replace")[-chars:]


class KillRun:
    """The plan, carried out in one workspace: drivers started, killed and resumed, checks after each kill."""

    def __init__(self, seed: int, tmp_path: Path, claim_ids: set[str]):
        self.seed, self.tmp, self.claim_ids = seed, tmp_path, claim_ids
        self.workspace = tmp_path / "ws"
        self.lengths: dict[str, list[float]] = {}  # phase -> lengths observed on drivers not held in it
        self.landed: list[tuple[KillPoint, str]] = []
        self.drivers = 0

    def why(self, what: str) -> str:
        return f"{what} [replay: {SEED_VARIABLE}={self.seed}]"

    def driver(self, run_id: str, fresh: bool, hold: str | None = None) -> Driver:
        self.drivers += 1
        args = ["--run", run_id, "--actors", "2"] if fresh else ["--resume", "--run", run_id]
        return Driver([*args, "--workspace", str(self.workspace)], self.tmp / f"driver-{self.drivers:02d}", hold)

    def learn(self, driver: Driver, held: str | None) -> None:
        marks = driver.marks()
        for (name, at), (_, after) in zip(marks, marks[1:]):
            if name != held:
                self.lengths.setdefault(name, []).append(after - at)

    def typical(self, phase: str) -> float | None:
        """The shortest length seen of ``phase``: a kill drawn within it then lands inside the phase as a rule
        (lengths vary with the machine's load: Ray starts in 8 s or 40 s here)."""
        seen = self.lengths.get(phase) or self.lengths.get(SIBLING.get(phase, ""))
        return min(seen) if seen else None

    def kill_at(self, run_id: str, fresh: bool, point: KillPoint) -> str:
        """Start a driver, kill it at ``point``; returns the phase it died in (its last mark). Said and done again:
        a driver whose Ray could not start (an overloaded machine: Ray's own startup timeout), and a driver that
        finished (exit 0) before a kill drawn late in a phase came: that point is then killed held."""
        for _ in range(RAY_ATTEMPTS):
            landed = self._kill_one(run_id, fresh and not self._exists(run_id), point)
            if landed == FINISHED:
                point = KillPoint(point.phase)
            elif landed is not None:
                return landed
        raise AssertionError(self.why(f"no kill at {point} in {RAY_ATTEMPTS} drivers in a row (run {run_id})"))

    def _exists(self, run_id: str) -> bool:
        return Workspace(self.workspace).run(run_id).settings.exists()

    def _kill_one(self, run_id: str, fresh: bool, point: KillPoint) -> str | None:
        context = self.why(f"(run {run_id}, kill point {point})")
        journal = Workspace(self.workspace).run(run_id).journal
        hold = None if point.phase == "decide" else point.phase
        driver = self.driver(run_id, fresh, hold)
        try:
            if hold is None:
                reached = driver.wait_until(lambda: "decide" in dict(driver.marks()) and
                                            _journal_lines(journal) >= point.claims, f"{point.claims} outcomes", context)
            else:
                reached = driver.wait_until(lambda: hold in dict(driver.marks()), f"phase {hold}", context)
            if not reached and driver.ray_did_not_start():
                print(f"  kill {point}: {driver.ray_did_not_start()}; starting the driver again", flush=True)
                return None
            assert reached, self.why(f"the driver exited ({driver.process.returncode}) before {point}\n{driver.tail()}")
            delay = None if point.fraction is None or hold is None else self.typical(hold)
            if delay is not None:
                driver.release(context)
                time.sleep(point.fraction * delay)  # the kill's moment, drawn within the phase (not a wait for work)
            finished = driver.process.poll() is not None
            if not finished:
                driver.kill(context)
        finally:
            if driver.process.poll() is None:
                driver.kill(context)
        self.learn(driver, hold)
        landed = driver.marks()[-1][0]
        note = f" (it exited {driver.process.returncode} before the kill: killed held next)" if finished else ""
        print(f"  kill {point}: landed in {landed}, journal {_journal_lines(journal)} lines, "
              f"{time.monotonic() - driver.started:.1f}s (workers gone {driver.orphans_s:.1f}s after){note}",
              flush=True)
        assert not finished or driver.process.returncode == 0, self.why(f"driver failed {context}\n{driver.tail()}")
        if finished:
            return FINISHED
        self.landed.append((point, landed))
        return landed

    def resume_to_the_end(self, run_id: str) -> Driver:
        for _ in range(RAY_ATTEMPTS):
            final = self.driver(run_id, fresh=False)
            code = final.finish()
            print(f"  resume to the end: exit {code}, {time.monotonic() - final.started:.1f}s", flush=True)
            if code == 0 or not final.ray_did_not_start():
                self.learn(final, None)
                assert code == 0, self.why(f"the last resume of run {run_id} exited {code}\n{final.tail()}")
                return final
            print(f"  {final.ray_did_not_start()}; resuming again", flush=True)
        raise AssertionError(self.why(f"Ray did not start in {RAY_ATTEMPTS} drivers in a row (run {run_id})"))

    def check_after_kill(self, run_id: str, acknowledged: set[str], point: KillPoint) -> set[str]:
        """What must hold at any moment, even right after a crash: checked from the files, no Ray."""
        decisions = ledger_decisions(self.workspace, run_id)
        decided = Counter(d["claim_id"] for d in decisions if d["decision"] != "FAILED")
        twice = sorted(c for c, n in decided.items() if n > 1)
        assert not twice, self.why(f"after kill {point}: claims decided twice in the ledger: {twice}")
        lost = sorted(acknowledged - set(decided))
        assert not lost, self.why(f"after kill {point}: decisions gone from the ledger: {lost}")
        try:
            journaled_outcomes(Workspace(self.workspace).run(run_id).journal)
        except ValueError as exc:
            raise AssertionError(self.why(f"after kill {point}: the journal a resume reads is broken: {exc}"))
        return set(decided)

    def chain(self, run_id: str, points: list[KillPoint]) -> None:
        acknowledged: set[str] = set()
        for number, point in enumerate(points):
            self.kill_at(run_id, number == 0, point)
            acknowledged = self.check_after_kill(run_id, acknowledged, point)
        final = self.resume_to_the_end(run_id)
        assert "resuming:" in final.output.read_text(), self.why(final.tail())
        self.check_complete(run_id, acknowledged)

    def check_complete(self, run_id: str, acknowledged: set[str]) -> None:
        why = lambda what: self.why(f"run {run_id}, after {len(self.landed)} kills: {what}")  # noqa: E731
        decisions = ledger_decisions(self.workspace, run_id)
        final = Counter(d["claim_id"] for d in decisions if d["decision"] != "FAILED")
        assert set(final) == self.claim_ids, why(f"claims without a decision: {sorted(self.claim_ids - set(final))}")
        assert max(final.values()) == 1, why(f"decided twice: {sorted(c for c, n in final.items() if n > 1)}")
        assert acknowledged <= set(final), why("a decision seen after a kill is gone")
        rows, items = read_results(self.workspace / "runs" / run_id)
        assert sorted(r["claim_id"] for r in rows) == sorted(self.claim_ids), why("results.parquet: not each claim once")
        by_claim = {d["claim_id"]: d for d in decisions if d["decision"] != "FAILED"}
        for row in rows:  # the result files agree with the ledger, the truth
            ledger = by_claim[row["claim_id"]]
            assert (row["decision_id"], f"{row['payout']:.2f}") == (ledger["decision_id"], ledger["payout"]), \
                why(f"results.parquet disagrees with the ledger on {row['claim_id']}")
        keys = Counter((i["claim_id"], i["item_id"]) for i in items)
        assert {c for c, _ in keys} <= self.claim_ids and max(keys.values()) == 1, why("line_items.parquet repeats items")
        summary = json.loads((self.workspace / "runs" / run_id / "summary.json").read_text())
        assert (summary["complete"], summary["claims"], summary["undecided"]) == (True, len(self.claim_ids), 0), \
            why(f"summary.json: {summary['complete']=}, {summary['claims']=}, {summary['undecided']=}")
        assert (self.workspace / "runs" / run_id / "report.html").stat().st_size > 0, why("no report.html")
        out = io.StringIO()
        assert verify.main(["--workspace", str(self.workspace)], out=out) == 0, why(f"verify failed:\n{out.getvalue()}")
        report = verify_ledger(self.workspace / "ledger")
        assert report.unanchored == 0, why(f"{report.unanchored} decisions after the last signed checkpoint")
        assert assert_every_run_replays(self.workspace) >= len(self.claim_ids), why("replay checked too few")


def kill_seed() -> int:
    value = os.environ.get(SEED_VARIABLE)
    return int(value) if value else int.from_bytes(os.urandom(4), "big")


@pytest.mark.slow
@pytest.mark.ray  # Ray of its own, in each driver process
def test_kill_9_anywhere_then_resume_decides_every_claim_exactly_once(tmp_path):
    seed = kill_seed()
    plan = draw_plan(random.Random(seed))
    claim_ids = {json.loads(line)["claim_id"] for line in (SAMPLE / "claims.jsonl").read_text().splitlines() if line}
    print(f"\n{SEED_VARIABLE}={seed}: " + " | ".join(", ".join(map(str, chain)) for chain in plan), flush=True)
    run = KillRun(seed, tmp_path, claim_ids)
    started = time.monotonic()
    for number, chain in enumerate(plan, 1):
        print(f"run kill-anywhere-{number}:", flush=True)
        run.chain(f"kill-anywhere-{number}", chain)
    landed = {phase for _, phase in run.landed}
    lengths = ", ".join(f"{phase} {statistics.median(run.lengths[phase]):.3f}s" for phase in phases.PHASES
                        if phase in run.lengths)
    print(f"{len(run.landed)} kills, {run.drivers} drivers, {time.monotonic() - started:.0f}s; phases killed in: "
          f"{sorted(landed)}; median phase lengths: {lengths} [{SEED_VARIABLE}={seed}]", flush=True)
    assert len(run.landed) == POINTS, run.why("every point was a kill")
    assert set(TARGETS) <= landed, run.why(f"no kill landed in {sorted(set(TARGETS) - landed)}")


# --- fast tests of the pieces (no Ray) --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(50))
def test_every_plan_covers_every_phase_in_an_order_a_run_can_meet(seed):
    plan = draw_plan(random.Random(seed))
    points = [point for chain in plan for point in chain]
    assert len(points) == POINTS and {p.phase for p in points} == set(TARGETS)
    assert {p.phase for p in points if p.fraction is None} == set(TARGETS)  # each phase once for certain
    for chain in plan:
        assert chain[0].phase != "resume-start"  # the first driver of a chain is a new run
        assert all(p.phase != "start" for p in chain[1:])
        stages = [0 if p.phase == "start" else 1 if p.phase == "decide" else 2 for p in chain
                  if p.phase != "resume-start"]  # the late phases come in any order: each resume meets them all
        assert stages == sorted(stages), chain
        counts = [p.claims for p in chain if p.phase == "decide"]
        assert counts == sorted(counts) and all(0 < c < 48 for c in counts)


def test_the_same_seed_draws_the_same_plan():
    assert draw_plan(random.Random(7)) == draw_plan(random.Random(7))
    assert draw_plan(random.Random(7)) != draw_plan(random.Random(8))


def test_phase_marks_are_written_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.delenv(phases.PHASE_FILE, raising=False)
    monkeypatch.delenv(phases.PHASE_HOLD, raising=False)
    phases.enter("results")  # unset: nothing happens, nothing is written
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(phases.PHASE_FILE, str(tmp_path / "phases"))
    phases.enter("results")
    phases.enter("summary")
    assert [name for name, _ in _marks(tmp_path / "phases")] == ["results", "summary"]


def test_a_held_phase_waits_at_its_gate_until_released(tmp_path, monkeypatch):
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    monkeypatch.setenv(phases.PHASE_FILE, str(tmp_path / "phases"))
    monkeypatch.setenv(phases.PHASE_HOLD, "checkpoint,report")
    monkeypatch.setenv(phases.PHASE_GATE, str(gate))
    phases.enter("results")  # not held: returns at once
    entered = threading.Thread(target=phases.enter, args=("checkpoint",))
    entered.start()
    deadline = time.monotonic() + 30
    while len(_marks(tmp_path / "phases")) < 2 and time.monotonic() < deadline:  # it marks, then waits at the gate
        time.sleep(POLL_S)
    assert [name for name, _ in _marks(tmp_path / "phases")] == ["results", "checkpoint"]
    entered.join(timeout=0.2)
    assert entered.is_alive()  # held: nobody has opened the gate yet
    with open(gate, "wb"):
        pass
    entered.join(timeout=10)
    assert not entered.is_alive()


def test_a_journal_torn_by_a_crash_takes_new_outcomes_after_its_last_whole_line(tmp_path):
    """A kill -9 inside the write of a journal line leaves part of it. The resume that follows appends its
    outcomes: glued to that part, the first would make a line that is not JSON, and every later read of the
    journal (the result files, the next resume) would fail: the run could never complete."""
    path = tmp_path / "outcomes.jsonl"
    journal = OutcomeJournal(path)
    for number in range(4):
        journal.append(*_outcome(f"C-{number}"))
    journal.close()
    data = path.read_bytes()
    path.write_bytes(data[:data.rindex(b"\n", 0, len(data) - 1) + 1 + 40])  # the 4th line torn after 40 bytes
    assert set(journaled_outcomes(path)) == {"C-0", "C-1", "C-2"}
    resumed = OutcomeJournal(path)  # the resume: C-3 is assessed again, then C-4
    resumed.append(*_outcome("C-3"))
    resumed.append(*_outcome("C-4"))
    resumed.close()
    assert list(journaled_outcomes(path)) == ["C-0", "C-1", "C-2", "C-3", "C-4"]
    assert [c.row.claim_id for c in journaled_claims(path)] == ["C-0", "C-1", "C-2", "C-3", "C-4"]


def test_a_timeline_torn_by_a_crash_is_cut_back_before_a_resume_appends(tmp_path):
    path = tmp_path / "timeline.jsonl"
    path.write_text('{"t": 0.0, "done": 1}\n{"t": 1.0, "do')  # a killed driver's half line
    writer = TimelineWriter(path)
    snapshot = ProgressSnapshot(total=3, done=2, by_decision=(), actors=(), llm=LLMUsage(), requests_per_min=0.0,
                                tokens_per_min=0.0, ledger_height=0, elapsed_s=1.0, claims_per_s=0.0, eta_s=None,
                                rpm_limit=None, tpm_limit=None, limiter_paused_s=0.0, endpoint="sim", model="m")
    writer.add(snapshot, inflight=0, claim_limit=1)
    writer.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and [json.loads(line)["done"] for line in lines] == [1, 2]


def _outcome(claim_id: str) -> tuple[ResultRow, tuple[ItemRow, ...], LLMUsage]:
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    row = ResultRow("r", claim_id, "P-1", "APPROVE", ("covered",), Decimal("12.50"), "CHF", Decimal("12.50"),
                    Decimal("12.50"), 0.9, None, 1, 100, 20, now, now, 0, "assessor-1", f"d-{claim_id}", None)
    item = ItemRow("r", claim_id, "I-1", "COVERED", "llm", "battery", "2.1", Decimal("12.50"), 0.9)
    return row, (item,), LLMUsage()


def test_a_driver_killed_while_writing_settings_json_leaves_a_run_it_can_start_again(tmp_path, monkeypatch):
    settings = new_settings(workspace=tmp_path, run_id="r1")
    write = Path.write_text

    def killed_part_way(self, data, *args, **kwargs):  # part of the file reaches the disk, then the process dies
        write(self, data[:10], *args, **kwargs)
        raise SystemExit("killed")

    monkeypatch.setattr(Path, "write_text", killed_part_way)
    with pytest.raises(SystemExit):
        save(settings)
    monkeypatch.undo()
    # a half settings.json would make the run neither resumable (unreadable) nor new (its id "already exists")
    assert not settings.paths.settings.exists()
    save(settings)
    assert resumed_settings(tmp_path, "r1") == settings


def test_a_ray_that_times_out_starting_is_a_run_error_not_a_traceback(monkeypatch):
    """Seen by the kill test on an overloaded machine: ray.init raised a bare Exception, and the driver died with a
    traceback instead of saying that Ray did not start (exit 1 either way)."""
    from claim_assess.actors import cluster

    def timed_out(**kwargs):
        raise Exception("The current node timed out during startup. This could happen because some of the raylet "
                        "failed to startup or the GCS has become overloaded.")

    monkeypatch.setattr(cluster.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(cluster.ray, "init", timed_out)
    with pytest.raises(RunError, match="cannot start or join Ray at a new local instance: .* timed out during startup"):
        cluster.connect(None, namespace="kill-anywhere")
