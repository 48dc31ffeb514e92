"""The cluster path end to end: a Ray head on 127.0.0.1 with token auth, the run submitted with
``ray job submit --working-dir``, its actors read back through the state API and its custom metrics through
the metrics export while it runs, then the result files and the ledger checked.

The head is ``ray start --head --block`` in a session of its own; it is stopped by signalling that process
(it drains and stops everything it started) and then ending, by id, whatever of its session outlived it.
Never ``ray stop``: that ends every Ray on the machine, other people's included.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from claim_assess.claims.results import read_results
from claim_assess.claims.synthetic import generate, write_dataset
from claim_assess.drivers import verify
from claim_assess.simulator.server import SimulatedModel, SimulatorConfig

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.ray  # a Ray head of its own and a submitted job
VENV_BIN = Path(sys.executable).parent
RAY_CLI = VENV_BIN / "ray"
RAY_WORKER_PORTS = range(10002, 20000)  # Ray refuses a head port inside its worker-port range
RUN_ID = "job-1"
NAMESPACE = f"claim-assess.{RUN_ID}"
CLAIMS = 60
ACTORS = {"assessor-1": "AssessorActor", "assessor-2": "AssessorActor", "ledger": "LedgerActor",
          "rate-limiter": "RateLimiterActor", "progress": "ProgressActor"}
DECISIONS = {"APPROVE", "PARTIAL", "DENY", "REFER", "FAILED"}
# Ray packs --working-dir twice (to name it, then to upload it); a file edited in between in a shared
# checkout makes the two differ and the job fails to find its package. Nothing is wrong with the run then.
PACKAGE_RACE = "Failed to download runtime_env file package"


def free_ports(count: int) -> list[int]:
    """Ports the OS hands out on 127.0.0.1, none inside Ray's worker-port range, all different."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in RAY_WORKER_PORTS and port not in ports:
            ports.append(port)
    return ports


def poll(probe: Callable[[], object], deadline_s: float, every_s: float = 0.25):
    """probe() until it returns something truthy or the deadline passes; its last value either way."""
    end = time.monotonic() + deadline_s
    while True:
        value = probe()
        if value or time.monotonic() >= end:
            return value
        time.sleep(every_s)


def ray_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token",
           "RAY_USAGE_STATS_ENABLED": "0", "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}
    env.pop("RAY_ADDRESS", None)  # only the head started here, never a cluster this shell happened to name
    return env


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@dataclass(frozen=True)
class Head:
    dashboard: str
    metrics: str
    temp_dir: Path
    log: Path
    env: dict[str, str]

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def session_members(sid: int) -> list[int]:
    """Processes of the session ``sid`` (the head's ``ray start`` leads it; everything it started is in it)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and int(stat.parent.name) != os.getpid():
            members.append(int(stat.parent.name))
    return members


def stop_head(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)  # ray start --block drains the node and stops what it started
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pass
    for pid in session_members(proc.pid):  # whatever outlived it: by id, only this head's session
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        proc.wait(timeout=10)


@contextmanager
def local_head(num_cpus: int = 2) -> Iterator[Head]:
    gcs, dashboard, metrics, client, agent, dashboard_metrics = free_ports(6)
    # Short, own temp dir: Ray's socket paths must fit in 107 bytes, and its session stays apart from others'.
    temp_dir = Path(tempfile.mkdtemp(prefix="ca-ray-", dir="/tmp"))
    env = ray_env(DASHBOARD_METRIC_PORT=str(dashboard_metrics), RAY_metrics_report_interval_ms="2000")
    log = temp_dir / "head.log"
    command = [
        str(RAY_CLI), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--dashboard-host", "127.0.0.1",
        "--port", str(gcs), "--dashboard-port", str(dashboard), "--metrics-export-port", str(metrics),
        "--ray-client-server-port", str(client), "--dashboard-agent-listen-port", str(agent),
        "--num-cpus", str(num_cpus), "--temp-dir", str(temp_dir), "--disable-usage-stats",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=temp_dir)
    head = Head(f"http://127.0.0.1:{dashboard}", f"http://127.0.0.1:{metrics}/metrics", temp_dir, log, env)
    try:
        # /api/gcs_healthz answers without the token (the API routes want it) once the head is up.
        ready = poll(lambda: proc.poll() is not None or http_status(f"{head.dashboard}/api/gcs_healthz") == 200, 150)
        assert ready and proc.poll() is None, head.log_tail()
        yield head
    finally:
        stop_head(proc)
        shutil.rmtree(temp_dir, ignore_errors=True)


def run_metrics(url: str, run_id: str) -> dict[str, list[tuple[dict, float]]]:
    """This run's claim_assess samples in the Prometheus text at ``url``, by sample name ({} if unreachable)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return {}
    samples: dict[str, list[tuple[dict, float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("ray_claim_assess_") and sample.labels.get("run_id") == run_id:
                samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def total(samples: dict, name: str) -> float:
    return sum(value for _, value in samples.get(name, []))


# What a run must show while it goes on: claims decided, LLM requests made, the ledger growing.
LIVE_METRICS = ("ray_claim_assess_claims_decided_total", "ray_claim_assess_llm_requests_total",
                "ray_claim_assess_ledger_height")


def missing(samples: dict) -> list[str]:
    return [name for name in LIVE_METRICS if total(samples, name) < 1]


class HeldProvider:
    """The run's LLM endpoint: a simulator that, once the run has journaled a decision and had a request answered,
    holds every further request until release(). Both metrics then exist and the run cannot end before the test
    has watched it live, however slow this machine is today (a rate limit alone only made that likely). Its own
    loop, in a thread."""

    def __init__(self, journal: Path) -> None:
        self.journal, self.answered, self.held = journal, 0, 0
        self._loop = asyncio.new_event_loop()
        self._released = asyncio.Event()
        self._thread = threading.Thread(target=self._loop.run_forever, name="held-provider", daemon=True)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def decided(self) -> int:
        return self.journal.read_bytes().count(b"\n") if self.journal.exists() else 0

    @web.middleware
    async def _hold(self, request: web.Request, handler):
        if request.method == "POST" and self.answered and self.decided():
            self.held += 1
            await self._released.wait()
        response = await handler(request)
        self.answered += request.method == "POST" and response.status == 200
        return response

    async def _start(self) -> int:
        app = SimulatedModel(SimulatorConfig(latency_median_ms=5, latency_p95_ms=10)).app()
        app.middlewares.append(self._hold)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return self._runner.addresses[0][1]

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._released.set)

    def __enter__(self) -> "HeldProvider":
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        self.url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)


def submit(head: Head, data_dir: Path, workspace: Path, submission_id: str, out: Path,
           provider: HeldProvider) -> subprocess.Popen:
    # --timeout above the longest hold (actors, then metrics: 90 s each at most), below the 300 s a call may take;
    # --no-preflight: every request the provider answers is then an assessor's, counted in the run's metrics.
    command = [
        str(RAY_CLI), "job", "submit", "--address", head.dashboard, "--working-dir", str(ROOT),
        "--runtime-env-json", json.dumps({"env_vars": {"OPENAI_API_KEY": "sk-test-cluster-job"}}),
        "--submission-id", submission_id, "--",
        "python", "-m", "drivers.assess", "--actors", "2", "--workspace", str(workspace), "--quiet",
        "--run", RUN_ID, "--input", str(data_dir), "--llm", "openai", "--base-url", provider.url,
        "--model", "sim-gpt", "--timeout", "280", "--no-preflight", "--log-level", "INFO",
    ]
    with out.open("w") as log:
        return subprocess.Popen(command, env=head.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=ROOT)


def observe_actors(head: Head) -> dict:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "scenarios" / "list_actors.py"), head.dashboard, NAMESPACE, "90",
         *ACTORS],
        env={**head.env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=150,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def uploaded_dirs(head: Head) -> list[Path]:
    files = head.temp_dir / "session_latest" / "runtime_resources" / "working_dir_files"
    return [d for d in files.glob("_ray_pkg_*") if d.is_dir()]


def test_a_submitted_run_is_visible_while_it_runs_and_complete_after(tmp_path):
    data_dir, workspace = tmp_path / "data", tmp_path / "ws"
    data = generate(CLAIMS, seed=61)
    write_dataset(data, data_dir)
    with local_head() as head:
        # Token auth is on: the dashboard's API turns away a request without the token.
        assert http_status(f"{head.dashboard}/api/jobs/") == 401
        assert http_status(f"{head.dashboard}/api/version") == 401

        for attempt in (1, 2):
            output = tmp_path / f"submit-{attempt}.log"
            submission_id = f"claim-assess-{RUN_ID}-{attempt}"
            with HeldProvider(workspace / "runs" / RUN_ID / "outcomes.jsonl") as provider:
                job = submit(head, data_dir, workspace, submission_id, output, provider)
                try:
                    seen = observe_actors(head)
                    # Ray reports metrics every few seconds: wait for the first decisions, requests and ledger
                    # height. The provider holds the run's requests once it has one of each, so it is still
                    # running whenever they come; release() lets it finish.
                    during = poll(lambda: (s := run_metrics(head.metrics, RUN_ID)) and not missing(s) and s, 90,
                                  every_s=0.5)
                    running = job.poll() is None
                    during = during or run_metrics(head.metrics, RUN_ID)
                    uploaded = uploaded_dirs(head)
                    provider.release()
                    code = job.wait(timeout=300)
                finally:
                    if job.poll() is None:
                        job.kill()
            log = output.read_text(errors="replace")
            if code != 0 and PACKAGE_RACE in log and attempt == 1:
                continue
            break
        assert code == 0 and "succeeded" in log, log[-4000:] + head.log_tail()

        # What the actors log reaches the job's logs (Ray's LoggingConfig in the workers, log_to_driver).
        job_logs = subprocess.run([str(RAY_CLI), "job", "logs", "--address", head.dashboard, submission_id],
                                  env=head.env, capture_output=True, text=True, timeout=60).stdout
        assert "assessor-1 ready on node" in job_logs and "assessor-2 ready on node" in job_logs, job_logs[-3000:]

        # The state API saw every named actor of the run alive, with its class.
        assert seen["complete"], seen
        alive = {a["name"]: a["class_name"] for a in seen["actors"]}
        assert {name: alive.get(name) for name in ACTORS} == ACTORS
        assert len({a["node_id"] for a in seen["actors"]}) == 1  # one node here: the head

        # The custom metrics came through the metrics export while the run went on.
        assert not missing(during), f"missing {missing(during)}; present {sorted(during)}"
        # Every request was held once it had a decision and an answer: ending before the release means it
        # decided every other claim without asking the model (or stopped), never that this machine was slow.
        assert running and provider.held >= 1, (running, provider.held, log[-3000:])
        decided = total(during, "ray_claim_assess_claims_decided_total")
        assert 1 <= decided <= CLAIMS
        assert {labels["decision"] for labels, _ in during["ray_claim_assess_claims_decided_total"]} <= DECISIONS
        statuses = {labels["status"] for labels, _ in during["ray_claim_assess_llm_requests_total"]}
        assert "200" in statuses and all(labels.get("purpose") for labels, _ in
                                         during["ray_claim_assess_llm_requests_total"])
        assert 1 <= max(v for _, v in during["ray_claim_assess_ledger_height"]) <= CLAIMS

        # What ran was the uploaded project, without the virtualenv .gitignore keeps out.
        assert uploaded and all((d / "drivers" / "assess.py").is_file() for d in uploaded)
        assert not [d for d in uploaded if (d / ".venv").exists() or (d / ".git").exists()]

        # After the run the counter has every claim: one decision each, counted once.
        final = poll(lambda: (s := run_metrics(head.metrics, RUN_ID))
                     and total(s, "ray_claim_assess_claims_decided_total") == CLAIMS and s, 30, every_s=0.5)
        assert final, f"decided {total(run_metrics(head.metrics, RUN_ID), 'ray_claim_assess_claims_decided_total')}"

    # The result files on the driver's node: one row per claim; the ledger verifies.
    results, _ = read_results(workspace / "runs" / RUN_ID)
    assert sorted(r["claim_id"] for r in results) == sorted(c["claim_id"] for c in data.claims)
    assert {r["decision"] for r in results} <= DECISIONS - {"FAILED"}
    assert verify.main(["--workspace", str(workspace)]) == 0
