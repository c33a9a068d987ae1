"""A headless Chromium driven over the DevTools protocol (``--remote-debugging-pipe``,
standard library only), for the dashboard's browser tests and bench/dashboard.py; and the
tests that show this harness sees what it must (console errors, failed loads, dialogs),
so a browser test that finds none means there were none.

Chromium comes from Debian's ``chromium`` package (``.ci/run`` installs it). Without it the
browser tests skip, unless HPDECO_REQUIRE_CHROMIUM=1 (CI), which makes that a failure.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

BINARIES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_binary() -> str | None:
    return next((found for name in BINARIES if (found := shutil.which(name))), None)


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium with one page; every console message, uncaught exception,
    failed load and dialog of that page is kept in :attr:`events`."""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 900) -> None:
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def pipes_as_3_and_4() -> None:
            # Chromium reads commands on fd 3 and writes answers on fd 4; duplicate above
            # 10 first so that neither dup2 overwrites the other pipe's end.
            a = fcntl.fcntl(to_browser, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_browser, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [
            binary,
            "--headless",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--mute-audio",
            "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with it
        self.proc = subprocess.Popen(
            args,
            preexec_fn=pipes_as_3_and_4,
            pass_fds=(3, 4),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._next = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self._lock = threading.Condition()
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.send(f"{domain}.enable", session=True)

    def _read_loop(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._read, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._lock:
                    self._lock.notify_all()
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                with self._lock:
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self.events.append(message)
                    self._lock.notify_all()

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, session: bool = False,
        timeout: float = 20.0,
    ) -> dict[str, Any]:  # fmt: skip
        with self._lock:
            self._next += 1
            ident = self._next
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._lock:
            while ident not in self._answers:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise BrowserError(f"{method}: no answer from Chromium in {timeout} s")
                self._lock.wait(left)
            answer = self._answers.pop(ident)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return dict(answer.get("result", {}))

    def goto(self, url: str) -> None:
        self.send("Page.navigate", {"url": url}, session=True)

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=True,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0) -> Any:
        """The value of ``expression`` once it is truthy (checked every 50 ms)."""
        deadline = time.monotonic() + timeout
        guarded = f"(() => {{ try {{ return ({expression}); }} catch (e) {{ return null; }} }})()"
        while True:
            value = self.evaluate(guarded)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"still false after {timeout} s: {expression}")
            time.sleep(0.05)

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, failed loads and dialogs."""
        found = []
        with self._lock:
            events = list(self.events)
        for event in events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
                texts = [a.get("value", a.get("description")) for a in params["args"]]
                found.append(f"console.{params['type']}: {texts}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")
            elif method == "Network.loadingFailed":
                found.append(f"load failed: {params.get('errorText')}")
            elif method == "Page.javascriptDialogOpening":
                found.append(f"dialog: {params.get('message')}")
        return found

    def screenshot(self, path: Path, width: int = 1280) -> None:
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )
        shot = self.send("Page.captureScreenshot", {"format": "png"}, session=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        with contextlib.suppress(BrowserError):
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._write)
        self._reader.join(timeout=5)
        os.close(self._read)


def launch(profile: Path) -> Chromium:
    """A fresh headless Chromium (the test skips where none is installed, unless CI
    requires it with HPDECO_REQUIRE_CHROMIUM=1)."""
    binary = chromium_binary()
    if binary is None:
        why = "no chromium binary on PATH (Debian: apt-get install chromium)"
        if os.environ.get("HPDECO_REQUIRE_CHROMIUM") == "1":
            pytest.fail(why + "; HPDECO_REQUIRE_CHROMIUM=1 requires it")
        pytest.skip(why)
    return Chromium(binary, profile)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    chrome = launch(tmp_path / "chromium-profile")
    try:
        yield chrome
    finally:
        chrome.close()


def test_the_harness_sees_console_errors_exceptions_failed_loads_and_dialogs(
    browser: Chromium,
) -> None:
    page = (
        "<script>console.error('boom'); alert('hi');</script>"
        "<script>undefinedFunction()</script><img src='http://127.0.0.1:9/missing.png'>"
    )
    browser.goto("data:text/html;base64," + base64.b64encode(page.encode()).decode())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        problems = browser.problems()
        if (
            any("boom" in p for p in problems)
            and any("undefinedFunction" in p for p in problems)
            and any(p.startswith("dialog: hi") for p in problems)
            and any(p.startswith("load failed") for p in problems)
        ):
            break
        time.sleep(0.05)
        if any(p.startswith("dialog") for p in problems):
            # the alert blocks the page until it is answered
            with contextlib.suppress(BrowserError):
                browser.send("Page.handleJavaScriptDialog", {"accept": True}, session=True)
    else:
        raise AssertionError(f"the harness missed a problem: {browser.problems()}")


def test_a_clean_page_has_no_problems(browser: Chromium) -> None:
    browser.goto("data:text/html,<p id=x>fine</p>")
    assert (
        browser.wait_for("document.getElementById('x') && document.getElementById('x').textContent")
        == "fine"
    )
    assert browser.problems() == []
