"""The run report rendered in headless Chromium: it loads with no failed (or any outbound) request, no
console error, and every chart present; a screenshot is saved under the test's temp dir.

Talks the DevTools protocol over a websocket (aiohttp) to Debian's ``chromium``; skipped only when no
Chromium binary can be found (``.ci/run`` installs it when absent).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from claim_assess.report import write_report
from claim_assess.report.page import CHART_IDS
from test_report import make_workspace

pytestmark = pytest.mark.slow  # a real Chromium
# A guard against a hang, not a speed test: every step waits on what Chromium reports (its port file, a page
# target, the load event); a cold start beside a benchmark on 2 cores can take far longer than on a quiet machine.
DEADLINE_S = 120.0


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


@dataclass
class PageLoad:
    loaded: bool = False
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    failed: list[str] = field(default_factory=list)  # Network.loadingFailed: url and error text
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, CSP violations
    charts: dict[str, bool] = field(default_factory=dict)
    svg_count: int = 0
    screenshot: Path | None = None


async def _cdp_session(ws_url: str, page: Path, screenshot: Path, chart_ids: tuple[str, ...]) -> PageLoad:
    result = PageLoad()
    pending: dict[int, asyncio.Future] = {}
    loaded = asyncio.Event()
    next_id = 0
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:

        async def reader() -> None:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                if "id" in data and data["id"] in pending:
                    pending.pop(data["id"]).set_result(data)
                    continue
                method, params = data.get("method"), data.get("params", {})
                if method == "Network.requestWillBeSent":
                    result.requests.append(params["request"]["url"])
                elif method == "Network.loadingFailed":
                    result.failed.append(f"{params.get('requestId')}: {params.get('errorText')} "
                                         f"{params.get('blockedReason') or ''}".strip())
                elif method == "Page.loadEventFired":
                    loaded.set()
                elif method == "Runtime.exceptionThrown":
                    result.errors.append(json.dumps(params.get("exceptionDetails", {}))[:300])
                elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                    result.errors.append(params["entry"].get("text", ""))
                elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                    result.errors.append(str(params.get("args"))[:300])

        async def call(method: str, **params) -> dict:
            nonlocal next_id
            next_id += 1
            future = asyncio.get_running_loop().create_future()
            pending[next_id] = future
            await ws.send_str(json.dumps({"id": next_id, "method": method, "params": params}))
            answer = await future
            if "error" in answer:
                raise AssertionError(f"{method}: {answer['error']}")
            return answer.get("result", {})

        task = asyncio.create_task(reader())
        try:
            for domain in ("Network", "Page", "Runtime", "Log"):
                await call(f"{domain}.enable")
            await call("Page.navigate", url=page.as_uri())
            await loaded.wait()
            result.loaded = True
            found = await call("Runtime.evaluate", returnByValue=True, expression=(
                "JSON.stringify({charts: Object.fromEntries(%s.map(id => [id, !!document.querySelector("
                "'svg#' + id + ' > title')])), svgs: document.querySelectorAll('svg.chart').length})"
                % json.dumps(list(chart_ids))))
            value = json.loads(found["result"]["value"])
            result.charts, result.svg_count = value["charts"], value["svgs"]
            metrics = await call("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                              clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            result.screenshot = screenshot
        finally:
            task.cancel()
    return result


def _devtools_url(profile: Path, proc: subprocess.Popen, deadline: float) -> str:
    marker = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"chromium exited with {proc.returncode} before DevTools was ready")
        if marker.is_file():
            lines = marker.read_text().splitlines()
            if len(lines) >= 1 and lines[0].strip().isdigit():
                return f"http://127.0.0.1:{lines[0].strip()}"
        time.sleep(0.05)  # polling a file chromium writes; not waiting for time to pass
    raise AssertionError("chromium did not open its DevTools port in time")


async def _page_ws(base: str, deadline: float) -> str:
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            async with http.get(f"{base}/json/list") as response:
                targets = await response.json(content_type=None)
            pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            await asyncio.sleep(0.05)
    raise AssertionError("chromium has no page target")


def render_in_chromium(binary: str, page: Path, screenshot: Path, profile: Path,
                       chart_ids: tuple[str, ...] = CHART_IDS) -> PageLoad:
    profile.mkdir(parents=True, exist_ok=True)
    log = open(profile.parent / "chromium-stderr.log", "wb")
    proc = subprocess.Popen(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={profile}",
         "--window-size=1200,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + DEADLINE_S
        base = _devtools_url(profile, proc, deadline)

        async def session() -> PageLoad:
            ws_url = await _page_ws(base, deadline)
            return await asyncio.wait_for(_cdp_session(ws_url, page, screenshot, chart_ids),
                                          timeout=max(1.0, deadline - time.monotonic()))

        return asyncio.run(session())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_report_renders_in_headless_chromium_without_any_request(tmp_path: Path) -> None:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary (install Debian's `chromium`; .ci/run does when it can)")
    workspace = make_workspace(tmp_path / "ws")
    report = write_report(workspace, "run-1")
    shot = tmp_path / "report.png"

    load = render_in_chromium(binary, report, shot, tmp_path / "profile")

    assert load.loaded
    assert load.failed == []
    # The only request is the document itself: no script, style, font or image fetched from anywhere.
    assert [url for url in load.requests if url != report.as_uri()] == []
    assert load.errors == []
    assert load.charts == {chart_id: True for chart_id in CHART_IDS}
    assert load.svg_count >= len(CHART_IDS)
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
