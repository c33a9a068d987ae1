"""The dashboard never gets in a search's way, and loads a big study quickly.

1. A 4-worker search writing to one SQLite store (tests/worker.py: 4 processes sharing a
   study, each trial reporting every step), with and without the dashboard open and polled
   every second the way its page polls (the study's changes since the cursor, the studies
   list, the analysis when the COMPLETE count changed). Runs alternate with and without;
   the figures are the wall time of each run (median reported side by side) and how many
   "database is locked" errors the workers printed.
2. The first load of a study of 2,000 trials x 20 epochs: the HTML, script, style, the
   study's JSON and its analysis over HTTP, one after the other (median of 5); with
   Chromium installed, also from navigation to the charts drawn and painted in a real
   headless browser, each load in a fresh browser (median of 5, quick 3), with where the
   time went (the page's performance marks: the JSON in hand, the DOM built, painted).
3. ``--screenshots DIR``: the study page of a small demo study and of the big one, as PNGs.

    nice python bench/dashboard.py                 # the full bench (several minutes)
    nice python bench/dashboard.py --quick         # a smaller one, for a check
    nice python bench/dashboard.py --load-only --big /tmp/big.db   # part 2 alone, printed
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the Chromium harness (tests/test_dashboard_cdp.py)
sys.path.insert(0, str(ROOT / "bench"))

import hpdeco  # noqa: E402
from hpdeco import hp  # noqa: E402
from hpdeco.dashboard.server import DashboardServer  # noqa: E402


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return bytes(answer.read())


def serve(store: str) -> tuple[DashboardServer, str]:
    server = DashboardServer(("127.0.0.1", 0), store, poll_s=1.0, log=sys.stderr)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class Poller(threading.Thread):
    """What an open study page asks for, every ``every`` seconds."""

    def __init__(self, base: str, every: float) -> None:
        super().__init__(daemon=True)
        self.base, self.every = base, every
        self.stop = threading.Event()
        self.polls = 0
        self.errors: list[str] = []

    def run(self) -> None:
        cursor, complete = {"number": -1, "seq": 0}, -1
        trials: dict[int, str] = {}
        while not self.stop.is_set():
            try:
                data = json.loads(
                    fetch(f"{self.base}/api/study/1?number={cursor['number']}&seq={cursor['seq']}")
                )
                cursor = data["cursor"]
                trials.update({t["number"]: t["state"] for t in data["trials"]})
                done = sum(1 for s in trials.values() if s == "COMPLETE")
                if done != complete:
                    fetch(f"{self.base}/api/study/1/analysis")
                    complete = done
                fetch(f"{self.base}/api/studies")
                self.polls += 1
            except Exception as exc:  # counted, never fatal: the figure says how many
                self.errors.append(repr(exc))
            self.stop.wait(self.every)


def one_search(folder: Path, workers: int, trials: int, steps: int, sleep: float, watched: bool):
    store = str(folder / f"run-{time.monotonic_ns()}.db")
    with hpdeco.search(objective="loss", max_trials=1, store=store, study="w", verbose=0) as s:
        for trial in s:  # the store and the study exist before the workers start
            trial.report(float(hp.Choice("a", [1, 2, 3, 4])), 1)
    server = poller = None
    if watched:
        server, base = serve(store)
        poller = Poller(base, 1.0)
        poller.start()
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "worker.py"),
                store,
                "w",
                str(trials + 1),
                "random",
                str(steps),
                str(sleep),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    errors = [p.communicate()[1] for p in procs]
    wall = time.perf_counter() - start
    polls = 0
    if poller is not None and server is not None:
        poller.stop.set()
        poller.join()
        server.shutdown()
        server.server_close()
        polls = poller.polls
        if poller.errors:
            raise SystemExit(
                f"the dashboard failed {len(poller.errors)} polls: {poller.errors[:3]}"
            )
    failed = [p.returncode for p in procs if p.returncode != 0]
    return {
        "watched": watched,
        "wall_s": round(wall, 3),
        "locked_errors": sum(e.lower().count("locked") for e in errors),
        "failed_workers": len(failed),
        "polls": polls,
    }


def big_study(path: str, trials: int, epochs: int) -> float:
    start = time.perf_counter()
    with hpdeco.search(
        objective="val_loss", direction="min", max_trials=trials, store=path, study="big",
        sampler="random", verbose=0, keep_best=0,
    ) as s:  # fmt: skip
        for trial in s:
            lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
            units = hp.Int("units", 16, 256, step=16)
            hp.Choice("activation", ["relu", "tanh"])
            for epoch in range(1, epochs + 1):
                loss = (lr * 100 / epoch + units / 1000) * (1 + 0.1 * (trial.number % 7))
                trial.report({"val_loss": loss, "loss": 1 / epoch}, epoch)
    return time.perf_counter() - start


def first_load_http(base: str) -> dict[str, Any]:
    times, size = [], 0
    for _ in range(5):
        start = time.perf_counter()
        for path in ("/study/1", "/static/app.js", "/static/app.css"):
            fetch(base + path)
        body = fetch(base + "/api/study/1")
        fetch(base + "/api/study/1/analysis")
        times.append(time.perf_counter() - start)
        size = len(body)
    return {"median_s": round(statistics.median(times), 3), "runs_s": [round(t, 3) for t in times],
            "study_json_bytes": size}  # fmt: skip


# Where one load's time went, from the page's own clock (ms since navigation): the study's
# answer and the analysis (request start to last byte), the JSON in hand (hpdeco:data), the
# DOM built (hpdeco:drawn), the browser's frame painted (hpdeco:painted), and the page's
# element count.
TIMELINE = """(() => {
  const out = {}, mark = (n) => performance.getEntriesByName(n)[0];
  for (const e of performance.getEntriesByType('resource')) {
    const path = new URL(e.name).pathname;
    if (path.startsWith('/api/') && !(path in out))
      out[path] = [Math.round(e.requestStart), Math.round(e.responseEnd)];
  }
  for (const n of ['hpdeco:data', 'hpdeco:drawn', 'hpdeco:painted'])
    if (mark(n)) out[n] = Math.round(mark(n).startTime);
  out.elements = document.getElementsByTagName('*').length;
  return out;
})()"""


# True as soon as the page says it is ready (a MutationObserver, not polling every 50 ms),
# or what it is after 250 ms; asked again until true (the first asks may land in the blank
# page that the navigation replaces).
WAIT_READY = """new Promise((resolve) => {
  const ok = () => !!document.body && document.body.dataset.ready === '1';
  if (ok()) return resolve(true);
  const seen = new MutationObserver(() => { if (ok()) { seen.disconnect(); resolve(true); } });
  seen.observe(document, { attributes: true, subtree: true, attributeFilter: ['data-ready'] });
  setTimeout(() => resolve(ok()), 250);
})"""


def wait_ready(chrome: Any, timeout: float = 60.0) -> None:
    from test_dashboard_cdp import BrowserError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if chrome.evaluate(WAIT_READY):
                return
        except BrowserError:  # the context went away under the navigation: ask the new one
            pass
    raise SystemExit(f"the page was not ready in {timeout} s")


def first_load_browser(base: str, profile: Path, runs: int) -> dict[str, Any] | None:
    from test_dashboard_cdp import Chromium, chromium_binary

    binary = chromium_binary()
    if binary is None:
        return None
    times, timelines = [], []
    for i in range(runs):
        chrome = Chromium(binary, profile / str(i))  # a fresh browser: nothing cached
        try:
            start = time.perf_counter()
            chrome.goto(base + "/study/1")
            wait_ready(chrome)
            times.append(time.perf_counter() - start)
            timelines.append(chrome.evaluate(TIMELINE))
            problems = chrome.problems()
            if problems:
                raise SystemExit(f"the browser reported problems: {problems}")
        finally:
            chrome.close()
    return {
        "median_s": round(statistics.median(times), 3),
        "runs_s": [round(t, 3) for t in times],
        "spread_s": [round(min(times), 3), round(max(times), 3)],
        "timeline_ms": timelines,
    }


def first_load(big: str, tmp: Path, runs: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    server, base = serve(big)
    try:
        return first_load_http(base), first_load_browser(base, tmp / "profiles", runs)
    finally:
        server.shutdown()
        server.server_close()


def screenshots(folder: Path, big_base: str, tmp: Path) -> list[str]:
    from conftest import demo_search
    from test_dashboard_cdp import Chromium, chromium_binary

    binary = chromium_binary()
    if binary is None:
        raise SystemExit("--screenshots needs chromium (Debian: apt-get install chromium)")
    demo = str(tmp / "demo.db")
    demo_search(demo, trials=40, epochs=15, pruned=(4, 6, 11, 17, 23, 31))
    server, base = serve(demo)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, url in (("dashboard-study.png", base), ("dashboard-2000-trials.png", big_base)):
        chrome = Chromium(binary, tmp / f"shot-{name}")
        try:
            chrome.goto(url + "/study/1")
            chrome.wait_for("document.body.dataset.ready === '1'", timeout=60)
            time.sleep(0.5)
            chrome.screenshot(folder / name)
            written.append(str(folder / name))
        finally:
            chrome.close()
    server.shutdown()
    server.server_close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small budgets, for a check")
    parser.add_argument("--runs", type=int, help="search runs each way (default 5, quick 2)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "dashboard.json"))
    parser.add_argument("--screenshots", metavar="DIR", help="write the study page's PNGs here")
    parser.add_argument("--load-only", action="store_true", help="part 2 alone, printed only")
    parser.add_argument("--loads", type=int, help="browser loads (default 5, quick 3)")
    parser.add_argument("--big", metavar="PATH", help="the big study's store (built if missing)")
    args = parser.parse_args()
    quick = args.quick
    runs = args.runs or (2 if quick else 5)
    loads = args.loads or (3 if quick else 5)
    workers, trials, steps, sleep = 4, (8 if quick else 40), (5 if quick else 10), 0.01
    big_trials, big_epochs = (200, 20) if quick else (2000, 20)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        big = args.big or str(tmp / "big.db")
        build_s = None if Path(big).exists() else big_study(big, big_trials, big_epochs)
        if args.load_only:
            http, browser = first_load(big, tmp, loads)
            print(json.dumps({"first_load_http": http, "first_load_browser": browser}, indent=1))
            return
        searches = []
        for i in range(runs):  # alternate, so a change in the machine's load hits both
            for watched in (False, True) if i % 2 == 0 else (True, False):
                row = one_search(tmp, workers, trials, steps, sleep, watched)
                print(json.dumps(row), flush=True)
                searches.append(row)
        plain = [r["wall_s"] for r in searches if not r["watched"]]
        seen = [r["wall_s"] for r in searches if r["watched"]]
        http, browser = first_load(big, tmp, loads)
        shots = []
        if args.screenshots:
            server, base = serve(big)
            shots = screenshots(Path(args.screenshots), base, tmp)
            server.shutdown()
            server.server_close()
    from provenance import record

    report = {
        "bench": "dashboard",
        "quick": quick,
        "note": "measured on a shared, busy machine (other jobs running): wall times are "
        "noisy; the locked-error counts and the load times' order of magnitude are the point",
        "search": {
            "workers": workers,
            "trials_per_worker_budget": trials,
            "steps": steps,
            "sleep_per_step_s": sleep,
            "runs_each_way": runs,
            "poll_every_s": 1.0,
        },
        "wall_s_without_dashboard": plain,
        "wall_s_with_dashboard": seen,
        "median_without_s": round(statistics.median(plain), 3),
        "median_with_s": round(statistics.median(seen), 3),
        "ratio_with_over_without": round(statistics.median(seen) / statistics.median(plain), 3),
        "locked_errors": sum(r["locked_errors"] for r in searches),
        "failed_workers": sum(r["failed_workers"] for r in searches),
        "polls_total": sum(r["polls"] for r in searches),
        "big_study": {
            "trials": big_trials,
            "epochs": big_epochs,
            "built_in_s": None if build_s is None else round(build_s, 1),
        },
        "first_load_http": http,
        "first_load_browser": browser,
        "screenshots": shots,
        "provenance": record(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "provenance"}, indent=2))


if __name__ == "__main__":
    main()
