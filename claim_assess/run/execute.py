"""Step 2 of a run: start (or join) Ray and the endpoint, run the claims through the fleet, shut down cleanly.

Claim outcomes go to the journal as they arrive, not into memory: the result files are written from it in
step 3, so the driver stays flat however many claims a run has, and a resume can use them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console

from claim_assess.actors.cluster import LOOPBACK, RayConnection, connect, disconnect
from claim_assess.actors.fleet import FleetConfig, RayFleet
from claim_assess.errors import RunError
from claim_assess.ledger.checkpoints import CheckpointInfo
from claim_assess.llm.concurrency import AdmissionController
from claim_assess.logs import guard_secret
from claim_assess.run import phases
from claim_assess.run.claim_loop import Tick, run_claims
from claim_assess.run.endpoint import OpenEndpoint, open_endpoint, preflight
from claim_assess.run.heap import HeapTrim
from claim_assess.run.journal import OutcomeJournal, journaled_outcomes
from claim_assess.run.learned import LearnedLimits
from claim_assess.run.live import LiveView
from claim_assess.run.loopback import listeners
from claim_assess.run.outcome import ClaimOutcome
from claim_assess.run.prepare import PreparedRun
from claim_assess.run.settings import RunSettings
from claim_assess.run.signals import StopSignals
from claim_assess.run.summary import prices_of
from claim_assess.run.timeline import TimelineWriter

if TYPE_CHECKING:  # the driver imports the openai client only to run a preflight (run.endpoint.preflight)
    from claim_assess.llm.preflight import PreflightResult

log = logging.getLogger(__name__)
# A small dataset is counted at once; a large one only after its first claims are on their way (run.selection), so
# one not counted yet is taken as large (its Ray tasks are not named per claim), and its total reaches the display
# when the count ends.
COUNT_WAIT_S = 1.0
UNCOUNTED = 10**9
STOPPING = "stopping: no new claims, cancelling those in flight, flushing the ledger (again to stop at once)"


@dataclass(frozen=True)
class ExecutedRun:
    stopped: str | None  # why the claim loop ended early (None: every claim came back)
    signal_exit_code: int | None  # 130 / 143 when Ctrl-C or SIGTERM stopped it
    wall_seconds: float
    ledger_height: int
    checkpoint: CheckpointInfo | None
    endpoint: str  # the LLM base URL without credentials
    settings: RunSettings  # the run's settings, with what the rate limiter learned
    limiter_pacing: tuple[str, ...] = ()  # how the limiter paced each budget at the end, and why


def execute(prepared: PreparedRun, console: Console, *, quiet: bool = False, log_level: str = "WARNING",
            check_endpoint: bool = True) -> ExecutedRun:
    """``check_endpoint``: run the preflight against a real endpoint (``--llm openai``) before Ray starts, so a wrong
    key, model or URL stops the run in seconds with nothing started (PreflightError). The built-in simulator is
    started by the run itself, with its own key and model: there is nothing to prove."""
    settings = prepared.settings
    opened, checked = None, None
    if settings.llm != "sim":
        opened = open_endpoint(settings, sim_host=LOOPBACK)  # no simulator: the host is not used
        guard_secret(opened.endpoint.api_key)
        if check_endpoint:
            checked = preflight(opened, settings)
            console.print(checked.summary, soft_wrap=True, highlight=False)
    connection = connect(settings.address, namespace=settings.namespace, dashboard=settings.dashboard,
                         log_level=log_level)
    try:
        if opened is None:
            opened = open_endpoint(settings, sim_host=LOOPBACK if connection.local else connection.node_ip)
            guard_secret(opened.endpoint.api_key)
        try:
            fleet, sockets = _start_fleet(prepared, connection, opened)
            _announce(console, connection, opened, settings.namespace, sockets)
            _log_preflight(fleet, checked)
            return _drive(prepared, fleet, _skip_decided(prepared, fleet, console), console, quiet, opened)
        finally:
            opened.close()
    finally:
        disconnect(connection)


def _log_preflight(fleet: RayFleet, checked: PreflightResult | None) -> None:
    """The preflight's attempts go to the ledger's call log like every attempt (about no claim, in no decision)."""
    if checked is not None and checked.attempts:
        fleet.log_calls([attempt.to_json() for attempt in checked.attempts])


def _start_fleet(prepared: PreparedRun, connection: RayConnection, opened: OpenEndpoint) -> tuple[RayFleet, int]:
    """The fleet, and (a local run) how many sockets its processes listen on, all checked to be loopback."""
    settings = prepared.settings
    config = FleetConfig(
        run_id=settings.run_id, namespace=settings.namespace, actors=settings.actors,
        claims_per_actor=settings.claims_per_actor, ledger_dir=str(settings.ledger_dir.resolve()),
        endpoint=opened.endpoint, rpm=settings.rpm, tpm=settings.tpm, driver_node_id=connection.node_id,
        per_claim_task_names=settings.per_claim_task_names(_expected(prepared, wait_s=COUNT_WAIT_S) or UNCOUNTED),
        learned_limits=settings.learned_limits,
    )
    fleet = RayFleet(config, prepared.book, prepared.reuse)
    try:
        return fleet, check_loopback() if connection.local else 0
    except RunError:
        fleet.close()
        raise


def check_loopback() -> int:
    """Every socket this run's processes listen on is on loopback (RunError naming the first that is not)."""
    found = listeners()
    exposed = [listener for listener in found if not listener.loopback]
    if exposed:
        raise RunError(f"a local run must listen on 127.0.0.1 only, but {len(exposed)} of its sockets do not: "
                       f"{', '.join(map(str, exposed[:5]))}; stopped before any claim was assessed")
    return len(found)


def _announce(console: Console, connection: RayConnection, opened: OpenEndpoint, namespace: str,
              sockets: int) -> None:
    say = lambda text: console.print(text, soft_wrap=True, highlight=False)  # noqa: E731
    say(f"LLM: {opened.description}")
    if connection.local:
        say(f"Ray: a local instance on 127.0.0.1; all {sockets} sockets this run listens on are on loopback")
    else:
        say(f"Ray: joined the cluster at {connection.address}")
    if connection.dashboard_url:
        say(f"Ray dashboard: {connection.dashboard_url}  (namespace {namespace})")


def _expected(prepared: PreparedRun, wait_s: float = 0.0) -> int | None:
    """How many claims the selection holds, as far as is known (None: the dataset is still being counted)."""
    return prepared.selection.expected(prepared.count.result(wait_s))


def _skip_decided(prepared: PreparedRun, fleet: RayFleet, console: Console) -> int:
    """Resume: skip what the ledger decided and the journal remembers. Returns how many claims were kept."""
    settings = prepared.settings
    kept: set[str] = set()
    if prepared.resuming:
        journaled = journaled_outcomes(settings.paths.journal)
        ledger = fleet.decided_claims()
        kept = {claim_id for claim_id, decided in journaled.items() if decided and claim_id in ledger}
        prepared.selection.skip(kept, journaled)
    expected = _expected(prepared, wait_s=COUNT_WAIT_S if prepared.resuming else 0.0)
    if prepared.resuming:
        left = f"{expected - len(kept):,}" if expected is not None else "the rest"
        console.print(f"resuming: {len(kept):,} claims already decided, {left} to assess", soft_wrap=True)
    if settings.task_names == "auto" and not settings.per_claim_task_names(expected or UNCOUNTED):
        shown = f"{expected:,} claims" if expected is not None else "a dataset still being counted"
        console.print(f"{shown}: Ray tasks are named 'assess' (not per claim) to keep the driver's "
                      "memory flat; --task-names per-claim overrides", soft_wrap=True)
    return len(kept)


class _Total:
    """The display's total (claims to assess in this invocation): estimated from the count, exact at the end."""

    def __init__(self, prepared: PreparedRun, kept: int, fleet: RayFleet) -> None:
        self._prepared, self._kept, self._fleet = prepared, kept, fleet
        self.shown = self.now()

    def now(self) -> int:
        expected = _expected(self._prepared)
        return max(0, (expected if expected is not None else self._prepared.selection.seen) - self._kept)

    def refresh(self) -> None:
        total = self.now()
        if total != self.shown:
            self.shown = total
            self._fleet.set_total(total)


def _journal(journal: OutcomeJournal, prepared: PreparedRun, outcome: ClaimOutcome) -> None:
    """The outcome goes to the journal (the result files are written from it), and the selection forgets the
    claim: it only keeps the ids of claims still to come back."""
    journal.append(outcome.row, outcome.items, outcome.usage, outcome.failure)
    prepared.selection.decided(outcome.row.claim_id)


def _drive(prepared: PreparedRun, fleet: RayFleet, kept: int, console: Console, quiet: bool,
           opened: OpenEndpoint) -> ExecutedRun:
    settings, paths = prepared.settings, prepared.settings.paths
    total = _Total(prepared, kept, fleet)
    fleet.begin(total.shown, endpoint=opened.endpoint.public_url, model=settings.model)
    admission = AdmissionController(minimum=settings.actors, maximum=settings.actors * settings.claims_per_actor)
    journal = OutcomeJournal(paths.journal)
    learned = LearnedLimits(settings)
    heap = HeapTrim()  # the driver's RSS stays flat through a long run (claim_assess.run.heap says why)
    started = time.monotonic()
    with LiveView(console, TimelineWriter(paths.timeline), quiet=quiet, prices=prices_of(settings)) as view, \
            StopSignals(on_first=lambda signum: view.say(f"[yellow]{STOPPING}[/]")) as signals:
        try:
            phases.enter("decide")
            stopped = run_claims(
                fleet, prepared.selection, admission=admission,
                on_outcome=lambda outcome: _journal(journal, prepared, outcome),
                on_tick=lambda tick: (prepared.count.start(), total.refresh(), learned.observe(tick.limiter),
                                      view.show(fleet.snapshot(tick), tick), heap.maybe()),
                should_stop=lambda: signals.requested,
            )
        finally:
            fleet.flush_progress()
            total.refresh()
            last = Tick(0, admission.limit, fleet.limiter_stats())
            learned.observe(last.limiter, final=True)
            view.show(fleet.snapshot(last), last, final=True)
            journal.close()
            phases.enter("checkpoint")
            height, checkpoint = fleet.close()
    if stopped:
        log.warning("run %s stopped before every claim was decided: %s", settings.run_id, stopped)
    return ExecutedRun(stopped, signals.exit_code if signals.requested else None, time.monotonic() - started,
                       height, checkpoint, opened.endpoint.public_url, learned.settings, learned.pacing)
