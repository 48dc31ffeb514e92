"""The run report built from a hand-made workspace (no Ray): content, escaping, fallbacks, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from claim_assess.claims.results import ItemRow, ResultRow, write_results
from claim_assess.drivers import report as report_module
from claim_assess.llm.accounting import LLMUsage
from claim_assess.report import write_report
from claim_assess.report.data import last_json_line, read_attempts
from claim_assess.report.page import CHART_IDS
from claim_assess.report.provenance import shown_settings
from claim_assess.report.rates import cumulative_rate, rate_series
from claim_assess.run.settings import RunSettings
from claim_assess.run.summary import RunFiles, RunSummary
from claim_assess.run.workspace import Workspace
from claim_assess.stats import percentile

T0 = dt.datetime(2026, 11, 29, 10, 0, 0, tzinfo=dt.UTC)
HOSTILE = '<script>alert("x")</script><img src=http://evil.example/p.png>'


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def iso(seconds: float) -> str:
    return at(seconds).isoformat().replace("+00:00", "Z")


def row(claim_id: str, decision: str, reasons: tuple[str, ...], payout: str, *, start: float, end: float,
        error: str | None = None, currency: str = "CHF", calls: int = 2) -> ResultRow:
    return ResultRow(
        run_id="run-1", claim_id=claim_id, policy_id="POL-1", decision=decision, reasons=reasons,
        payout=Decimal(payout), currency=currency, claimed_total=Decimal("1200.00"),
        covered_total=Decimal("1000.00"), confidence=None if decision == "FAILED" else 0.8, gate="PASS",
        llm_calls=calls, prompt_tokens=900, completion_tokens=40, started_at=at(start), finished_at=at(end),
        duration_ms=round((end - start) * 1000), actor="assessor-1",
        decision_id=None if decision == "FAILED" else f"dec_{claim_id}", error=error)


ROWS = [
    row("C-1", "APPROVE", ("COVERED",), "500.00", start=0.0, end=1.0),
    row("C-2", "PARTIAL", ("PARTIALLY_COVERED",), "300.00", start=0.2, end=2.0),
    row("C-3", "DENY", ("POLICY_INACTIVE",), "0.00", start=0.3, end=0.4, calls=0),
    row("C-4", "REFER", ("HIGH_VALUE", "DUPLICATE_LINE_ITEM"), "4100.00", start=1.0, end=3.0),
    row("C-5", "REFER", ("LLM_REFER", "FLAG_POSSIBLE_FRAUD"), "700.00", start=1.5, end=4.0, currency="EUR"),
    row("C-6", "FAILED", (), "0.00", start=2.0, end=4.5, error=f"claim C-6: narrative {HOSTILE}"),
]


def call(claim_id: str, purpose: str, start: float, end: float, status: int | str = 200, run_id: str = "run-1",
         tokens: tuple[int | None, int | None] = (900, 40), error: str | None = None) -> dict:
    return {"schema": "llm_call/1", "call_id": f"call_{claim_id}{purpose}{start}", "run_id": run_id,
            "claim_id": claim_id, "purpose": purpose, "item_id": None, "attempt": 1, "model": "sim-gpt",
            "endpoint": "http://127.0.0.1:1/v1", "request": {"messages": [{"role": "user", "content": HOSTILE}]},
            "response": None, "status": status, "error": error, "prompt_tokens": tokens[0],
            "completion_tokens": tokens[1], "latency_ms": round((end - start) * 1000), "started_at": iso(start),
            "finished_at": iso(end), "record_hash": "0" * 64}


CALLS = [
    call("C-1", "coverage", 0.1, 0.5), call("C-1", "assessment", 0.5, 0.9),
    call("C-2", "coverage", 0.3, 0.9), call("C-2", "assessment", 1.0, 1.9),
    call("C-4", "coverage", 1.1, 1.6), call("C-4", "assessment", 1.6, 2.9, status=429, tokens=(None, None),
                                            error="rate limited"),
    call("C-4", "assessment", 2.0, 2.8),
    call("C-5", "coverage", 1.6, 2.5), call("C-5", "assessment", 2.6, 3.9),
    call("C-6", "assessment", 2.1, 4.4, status="timeout", tokens=(None, None), error="timed out after 60 s"),
    call("X-1", "coverage", 0.0, 3.0, run_id="other-run"),  # another run in the same ledger
]

TIMELINE = [{"t": float(t), "at": iso(t), "done": t, "requests": 2 * t, "tokens": 1800 * t, "rate_limited": 1 if t >= 3
             else 0, "retries": 0, "paused_s": 1.5 if t == 3 else 0.0, "inflight_claims": 4, "claim_limit": 8,
             "rpm_limit": 600, "tpm_limit": 100000} for t in range(0, 6)]

CHECKPOINT = {"schema": "checkpoint/1", "ledger_id": "led_1", "tree_size": 5, "root": "ab" * 32,
              "head_hash": "cd" * 32, "created_at": "2026-11-29T10:00:05Z", "key_id": "1a2b3c4d",
              "signature": "c2lnbmF0dXJl"}


def summary_of(workspace: Workspace, settings: RunSettings) -> RunSummary:
    """The summary.json the run would have written (ledger height 7: two decisions beyond the checkpoint)."""
    paths = workspace.run(settings.run_id)
    files = RunFiles(results=str(paths.results), line_items=str(paths.line_items), summary=str(paths.summary),
                     report=str(paths.report), timeline=str(paths.timeline), ledger=str(workspace.ledger_dir))
    return RunSummary(
        run_id=settings.run_id, complete=True, resumed=False, claims=len(ROWS), undecided=0,
        decisions={"APPROVE": 1, "PARTIAL": 1, "DENY": 1, "REFER": 2, "FAILED": 1}, totals={}, wall_seconds=4.6,
        llm=LLMUsage(requests=10, succeeded=8, rate_limited_requests=1, transient_errors=1, retries=2,
                     prompt_tokens=6300, completion_tokens=280),
        ledger_height=7, checkpoint=None, endpoint="http://127.0.0.1:1/v1", settings=settings, files=files)


def make_workspace(root: Path, *, timeline: bool = True, checkpoint: bool = True,
                   dataset: Path | None = None) -> Path:
    workspace = Workspace(root)
    paths = workspace.run("run-1")
    items = [ItemRow("run-1", "C-1", "L1", "covered", "rule", "engine", None, Decimal("500.00"), None)]
    write_results(paths.dir, ROWS, items)
    settings = RunSettings(input=str(dataset) if dataset else "/nonexistent/dataset", workspace=str(root),
                           run_id="run-1", actors=2, claims_per_actor=4, llm="sim", model="sim-gpt", rpm=600,
                           tpm=100000)
    paths.summary.write_text(json.dumps(summary_of(workspace, settings).to_json()), encoding="utf-8")
    ledger = workspace.ledger_dir
    ledger.mkdir(parents=True)
    (ledger / "llm_calls.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CALLS) + '{"torn', encoding="utf-8")
    if timeline:
        paths.timeline.write_text("".join(json.dumps(t) + "\n" for t in TIMELINE), encoding="utf-8")
    if checkpoint:
        older = {**CHECKPOINT, "tree_size": 2, "root": "ee" * 32}
        (ledger / "checkpoints.jsonl").write_text(json.dumps(older) + "\n" + json.dumps(CHECKPOINT) + "\n")
    return root


def section(html: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', html, re.S)
    assert match, f"no section {name}"
    return match.group(1)


def test_report_shows_every_part_of_the_run(tmp_path: Path) -> None:
    path = write_report(make_workspace(tmp_path), "run-1")
    assert path == tmp_path / "runs" / "run-1" / "report.html"
    html = path.read_text(encoding="utf-8")
    for chart_id in (*CHART_IDS, "chart-inflight"):
        assert re.search(rf'<svg id="{chart_id}" class="chart[^"]*"[^>]*><title id="{chart_id}-title">', html)
    throughput = section(html, "throughput")
    assert "s-limit" in throughput  # the limit line
    assert throughput.count('class="mark"') == 2  # one 429 on each of the two rate charts
    assert 'class="band"' in throughput  # the limiter's pause from the timeline
    assert "trailing 5-second window" in throughput
    latency = section(html, "latency")
    assert "p50" in latency and "p95" in latency
    # durations 0.1, 1, 1.8, 2, 2.5, 2.5: the median lies halfway between 1.8 and 2 (the project's one
    # percentile interpolates linearly, as numpy does, so a reader can check the figure)
    assert "median <b>1.9 s</b>" in latency
    stages = section(html, "stages")
    assert "coverage calls (LLM)" in stages and "assessment call (LLM)" in stages
    assert re.search(r'<td>assessment</td><td class="num">6</td><td class="num">4</td><td class="num">2</td>', stages)
    decisions = section(html, "decisions")
    assert "CHF 800.00" in decisions  # APPROVE + PARTIAL paid automatically
    assert "EUR 700.00" in decisions and "CHF 4,100.00" in decisions  # REFER proposals
    reasons = section(html, "reasons")
    assert "FLAG_POSSIBLE_FRAUD" in reasons and "DUPLICATE_LINE_ITEM" in reasons
    referred = section(html, "referred")
    assert referred.index("C-4") < referred.index("C-5")  # largest proposed payout first
    assert "<b>HIGH_VALUE</b>" in referred and "Referred to a human (2)" in referred
    failures = section(html, "failures")
    assert "C-6" in failures and "timed out after 60 s" in failures and "rate limited" in failures
    settings = section(html, "settings")
    assert "sim-gpt" in settings and "600" in settings
    checkpoint = section(html, "checkpoint")
    assert "cd" * 32 in checkpoint and "ee" * 32 not in checkpoint  # the newest one only
    assert "2 written by the end of this run are not anchored yet" in checkpoint  # height 7, tree_size 5
    assert f"claim-assess verify --workspace {tmp_path}" in checkpoint and "python -m" not in html
    header = re.search(r"<header>(.*?)</header>", html, re.S).group(1)
    assert ">10<" in header and "6,580 tokens" in header and "1 · 2" in header  # summary.llm: requests, 429s, retries
    assert "78.3 claims/min" in header and "complete" in header
    llm_use = re.search(r"<th>LLM use</th>.*?</table>", settings, re.S).group(0)
    assert "<td>rate_limited_requests</td>" in llm_use and "<td>tokens</td>" in llm_use  # LLMUsage.to_json()
    assert "<td>endpoint</td><td>http://127.0.0.1:1/v1</td>" in settings
    assert "X-1" not in html  # the other run's calls are not this run's


def test_untrusted_text_is_escaped_and_nothing_is_fetched(tmp_path: Path) -> None:
    html = write_report(make_workspace(tmp_path), "run-1").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert not re.search(r'(src|href)="(?!#)', html)  # only in-page anchors
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html


def test_settings_never_show_a_key_or_url_credentials() -> None:
    shown = dict(shown_settings({"api_key": "sk-secret", "OPENAI_API_KEY": "sk-2", "auth_token": "t",
                                "base_url": "https://user:pw@example.test/v1?key=abc", "tpm": 5, "model": "m"}))
    assert shown["api_key"] == shown["OPENAI_API_KEY"] == shown["auth_token"] == "(hidden)"
    assert shown["base_url"] == "https://example.test/v1"
    assert shown["tpm"] == "5" and shown["model"] == "m"


def test_without_timeline_or_checkpoint_rates_come_from_the_call_log(tmp_path: Path) -> None:
    html = write_report(make_workspace(tmp_path, timeline=False, checkpoint=False), "run-1").read_text()
    assert "chart-inflight" not in html
    throughput = section(html, "throughput")
    assert "from ledger/llm_calls.jsonl" in throughput
    assert 'class="band"' not in throughput and throughput.count('class="mark"') == 2
    assert "s-limit" in throughput  # the configured limits from summary.json
    assert "No checkpoint yet" in section(html, "checkpoint")


def test_timeline_alone_gives_the_throughput(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    (root / "ledger" / "llm_calls.jsonl").unlink()
    html = write_report(root, "run-1").read_text()
    throughput = section(html, "throughput")
    assert "from the run&#x27;s timeline.jsonl" in throughput
    assert throughput.count('class="mark"') == 2  # the 429 counter went up once
    assert "LLM throughput and stage times come from the timeline only" in html  # the note says why
    assert "cannot be told apart" in section(html, "stages")


def test_evaluation_appears_when_the_dataset_has_expectations(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    expected = [{"claim_id": "C-3", "decision": "DENY", "reason": "POLICY_INACTIVE", "payout": "0.00"},
                {"claim_id": "C-4", "decision": "DENY", "reason": "MILEAGE_EXCEEDED", "payout": "0.00"}]
    (dataset / "expected.jsonl").write_text("".join(json.dumps(x) + "\n" for x in expected))
    html = write_report(make_workspace(tmp_path / "ws", dataset=dataset), "run-1").read_text()
    evaluation = section(html, "evaluation")
    assert "vs expected.jsonl" in evaluation and "50.0%" in evaluation
    assert "simulator" not in evaluation  # no scenarios.jsonl: no second yardstick
    other = write_report(make_workspace(tmp_path / "ws2"), "run-1").read_text()
    assert 'id="evaluation"' not in other


def test_cli_prints_the_path_and_rejects_an_unknown_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = make_workspace(tmp_path)
    assert report_module.main(["--run", "run-1", "--workspace", str(root)]) == 0
    assert capsys.readouterr().out.strip() == str(root / "runs" / "run-1" / "report.html")
    assert report_module.main(["--run", "nope", "--workspace", str(root)]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "no run" in err and "run-1" in err  # an unknown run names the newest runs
    assert report_module.main(["--run", "../etc", "--workspace", str(root)]) == 2
    assert "not a run id" in capsys.readouterr().err
    assert report_module.main(["run-1", "--workspace", str(root)]) == 2  # the run id is spelled --run everywhere


def test_call_log_is_filtered_by_run_and_tolerates_a_torn_tail(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    attempts = read_attempts(root / "ledger" / "llm_calls.jsonl", "run-1")
    assert len(attempts) == 10 and {a.claim_id for a in attempts} == {"C-1", "C-2", "C-4", "C-5", "C-6"}
    assert [a.status for a in attempts].count("429") == 1


def test_last_json_line_reads_only_the_newest_record(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps({"n": i, "pad": "x" * 100}) + "\n" for i in range(2000)) + "{torn")
    assert last_json_line(path, chunk=256)["n"] == 1999


def test_rates_per_minute() -> None:
    # 10 events a second for 10 s is 600 a minute once a full window has passed; before, the window
    # still holds the quiet time before the start (a burst counts against the whole window).
    times = [i / 10 for i in range(1, 101)]
    points = rate_series(times, [1.0] * len(times), end=10.5, window=5)
    assert [t for t, _ in points] == [*map(float, range(11)), 10.5]
    assert [round(v) for _, v in points[:6]] == [0, 120, 240, 360, 480, 600]
    assert all(abs(v - 600) < 1e-9 for _, v in points[5:11])
    assert abs(points[-1][1] - 540) < 1e-9  # half a second of silence after the last event
    samples = [(float(t), 10.0 * t) for t in range(11)]
    rates = cumulative_rate(samples, window=5)
    assert [round(v) for _, v in rates[:6]] == [0, 120, 240, 360, 480, 600]
    assert all(abs(v - 600) < 1e-9 for _, v in rates[5:])
    # the project's one percentile interpolates linearly (p95 of 1..5 lies 80% of the way from 4 to 5), and
    # has no value for no values: the report shows "—" then
    assert percentile([5, 1, 4, 2, 3], 50) == 3 and percentile([5, 1, 4, 2, 3], 95) == pytest.approx(4.8)
    assert percentile([], 50) is None


def test_a_resumed_runs_timeline_is_put_on_one_clock(tmp_path: Path) -> None:
    from claim_assess.report.data import load_report_data

    root = make_workspace(tmp_path)
    second = [{**sample, "t": sample["t"], "at": iso(sample["t"] + 100), "requests": sample["requests"] // 2}
              for sample in TIMELINE[1:3]]
    with open(root / "runs" / "run-1" / "timeline.jsonl", "a") as fh:
        fh.write("".join(json.dumps(s) + "\n" for s in second))
    data = load_report_data(root, "run-1")
    assert [s["t"] for s in data.timeline] == [0, 1, 2, 3, 4, 5, 101, 102]
    assert [s["requests"] for s in data.timeline][-3:] == [10, 11, 12]  # 10 before the restart, then +1, +2


def test_a_bare_run_still_gets_a_report(tmp_path: Path) -> None:
    # results with no claim at all, no summary.json, no ledger: every section still renders
    write_results(tmp_path / "runs" / "empty", [], [])
    html = write_report(tmp_path, "empty").read_text()
    for chart_id in CHART_IDS:
        assert f'<svg id="{chart_id}"' in html
    assert "summary.json is missing" in html and "No checkpoint yet" in html
    assert "No claim was referred" in html and "No claim failed" in html


def test_long_series_are_thinned_but_keep_their_ends() -> None:
    from claim_assess.report.charts import MAX_POINTS, Series, line_chart, thin

    points = [(float(t), float(t % 7)) for t in range(10_001)]
    thinned = thin(points)
    assert len(thinned) <= MAX_POINTS + 1 and thinned[0] == points[0] and thinned[-1] == points[-1]
    svg = line_chart("c", "t", [Series("s", points, "s-requests")], x_label="x", y_label="y")
    assert svg.count("L") <= MAX_POINTS + 1


def test_an_unreadable_summary_is_a_note_not_an_error(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    summary = Workspace(root).run("run-1").summary
    summary.write_text(json.dumps({"run_id": "run-1", "claims": 6}))  # an older format: no ledger, no settings
    html = write_report(root, "run-1").read_text()
    assert "summary.json could not be read" in html and "status unknown" in html
    assert "No settings" in section(html, "settings")
    summary.write_text("{torn")
    assert "summary.json could not be read" in write_report(root, "run-1").read_text()


def test_unreadable_results_are_an_input_error(tmp_path: Path) -> None:
    from claim_assess.errors import InputError

    (tmp_path / "runs" / "bad").mkdir(parents=True)
    (tmp_path / "runs" / "bad" / "results.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="cannot read results.parquet"):
        write_report(tmp_path, "bad")


def test_tables_of_claims_keep_their_first_rows_only_and_count_the_rest() -> None:
    # a run of any size: the report holds the rows a table shows (in the order shown), not one per claim
    from claim_assess.report.figures import Smallest

    kept = Smallest(key=lambda n: (-n % 7, n), limit=5)
    for n in range(10_000):
        kept.add(n)
        assert len(kept._kept) <= 2 * 5 + 16
    assert kept.added == 10_000
    assert list(kept.items()) == sorted(range(10_000), key=lambda n: (-n % 7, n))[:5]


def test_rates_from_a_count_per_second_are_the_rates_of_the_sorted_events() -> None:
    import random

    from claim_assess.report.rates import binned_rate_series

    rng = random.Random(4)
    start = 1_764_410_400_000_000  # microseconds since the epoch
    times = [start + rng.randint(-3_000_000, 30_000_000) for _ in range(500)] + [start + 7_000_000] * 3
    weights = [float(rng.randint(0, 50)) for _ in times]
    end = max(times) / 1e6 - start / 1e6 + 0.25
    order = sorted(range(len(times)), key=times.__getitem__)
    expected = rate_series([(times[i] - start) / 1e6 for i in order], [weights[i] for i in order], end=end, window=6)
    got = binned_rate_series(times, weights, start_us=start, end=end, window=6)
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert all(abs(a - b) < 1e-6 for (_, a), (_, b) in zip(got, expected, strict=True))


def test_a_run_that_made_no_llm_call_gets_a_report(tmp_path: Path) -> None:
    # every claim decided by rules: no call, so no share of calls reused (None), which the settings table shows as —
    root = make_workspace(tmp_path)
    paths = Workspace(root).run("run-1")
    summary = json.loads(paths.summary.read_text())
    summary["llm"] = LLMUsage().to_json()
    assert summary["llm"]["reused_percent"] is None
    paths.summary.write_text(json.dumps(summary), encoding="utf-8")
    settings = section(write_report(root, "run-1").read_text(), "settings")
    assert "reused_percent" in settings and "—" in settings
