"""The dashboard in a real headless Chromium (Debian's package): the studies list, a study's
charts, a trial added by a search in another process appearing without a reload, hostile
names shown as text, runs drawn apart, the trial page, and no console error anywhere."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import ROOT, demo_search, report_loop
from test_dashboard import start_command, stop
from test_dashboard_cdp import Chromium, launch

import hpdeco
from hpdeco import hp

pytestmark = pytest.mark.browser

HOSTILE = "<script>alert(1)</script>"
READY = "document.body.dataset.ready === '1'"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    chrome = launch(tmp_path / "chromium-profile")
    try:
        yield chrome
    finally:
        chrome.close()


@pytest.fixture
def dashboard() -> Iterator[Callable[[str], str]]:
    """``hpdeco dashboard --store STORE --port 0 --poll 0.3`` in its own process: its URL."""
    procs: list[subprocess.Popen[str]] = []

    def start(store: str) -> str:
        proc, line = start_command("--store", store, "--port", "0", "--poll", "0.3")
        procs.append(proc)
        assert " at http://127.0.0.1:" in line, line
        return line.split(" at ", 1)[1].split()[0]

    yield start
    for proc in procs:
        stop(proc)


def drawn_trials(browser: Chromium, selector: str) -> list[int]:
    """The trial numbers drawn by the paths ``selector`` finds (each names its trials in
    data-trials), sorted, with repeats."""
    found = browser.evaluate(
        f"[...document.querySelectorAll('{selector}')]"
        ".flatMap(p => p.dataset.trials.split(' ').filter(Boolean).map(Number))"
    )
    return sorted(found)


def subpaths(browser: Chromium, selector: str) -> int:
    """How many separate lines (``M`` commands) the paths ``selector`` finds draw."""
    return int(
        browser.evaluate(
            f"[...document.querySelectorAll('{selector}')]"
            ".reduce((n, p) => n + (p.getAttribute('d').match(/M/g) || []).length, 0)"
        )
    )


def test_the_studies_list_renders(
    browser: Chromium, dashboard: Callable[[str], str], store: str
) -> None:
    demo_search(store, study="first", trials=4)
    report_loop(store, 2, study="second")
    browser.goto(dashboard(store))
    names = browser.wait_for(
        "document.querySelectorAll('tr.study').length === 2 &&"
        " [...document.querySelectorAll('tr.study a.name')].map(a => a.textContent)"
    )
    assert names == ["first", "second"]
    assert browser.problems() == []


def test_a_study_draws_its_charts_and_marks_pruned_trials(
    browser: Chromium, dashboard: Callable[[str], str], store: str
) -> None:
    demo_search(store, trials=10, epochs=4)  # trial 2 fails, 4 and 6 are pruned at epoch 2
    browser.goto(dashboard(store) + "study/1")
    browser.wait_for(READY)
    browser.wait_for("!!document.querySelector('#importance svg, #importance p')")
    drawn = {
        name: drawn_trials(browser, selector)
        for name, selector in (
            ("curves", "#curves path.curve"),
            ("stops", "#curves path.stop"),
            ("points", "#history path.point"),
            ("lines", "#parallel path.pc-line"),
        )
    }
    assert drawn == {
        "curves": [0, 1, 3, 4, 5, 6, 7, 8, 9],  # trial 2 failed before its first epoch
        "stops": [4, 6],
        "points": [0, 1, 3, 4, 5, 6, 7, 8, 9],
        "lines": [0, 1, 3, 5, 7, 8, 9],  # the COMPLETE ones
    }
    assert subpaths(browser, "#curves path.curve") == 9  # one line each
    assert browser.evaluate("document.querySelectorAll('#history path.best-line').length") == 1
    assert browser.evaluate("document.querySelectorAll('#trials tbody tr').length") == 10
    # the table sorts and filters
    browser.evaluate("document.querySelector('#trials th[data-key=\"value\"]').click()")
    browser.evaluate(
        "(() => { const f = document.getElementById('state-filter'); f.value = 'PRUNED';"
        " f.dispatchEvent(new Event('change')); })()"
    )
    shown = browser.evaluate(
        "[...document.querySelectorAll('#trials tbody tr')].map(r => r.dataset.trial)"
    )
    assert shown == ["6", "4"] or shown == ["4", "6"]
    assert browser.problems() == []


def test_a_trial_added_by_another_process_appears_without_a_reload(
    browser: Chromium, dashboard: Callable[[str], str], store: str
) -> None:
    report_loop(store, 2, study="w")
    browser.goto(dashboard(store) + "study/1")
    browser.wait_for(READY + " && document.body.dataset.trials === '2'")
    browser.evaluate("window.sameDocument = true")  # gone if the page were reloaded
    worker = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "worker.py"), store, "w", "5", "random", "3", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert worker.returncode == 0, worker.stderr
    browser.wait_for("document.body.dataset.trials === '5'", timeout=15)
    assert browser.evaluate("window.sameDocument === true")
    assert browser.evaluate("document.querySelectorAll('#trials tbody tr').length") == 5
    assert browser.problems() == []


def test_hostile_names_show_as_text_and_run_nothing(
    browser: Chromium, dashboard: Callable[[str], str], store: str
) -> None:
    with hpdeco.search(
        objective="loss", max_trials=4, store=store, study=HOSTILE, verbose=0, sampler="random"
    ) as s:
        for trial in s:
            x = hp.Float(HOSTILE, 0.0, 1.0)
            hp.Choice("act", ["<img src=x onerror=alert(2)>", "b"])
            trial.report({"loss": x, HOSTILE: 1.0}, 1)
            trial.report({"loss": x / 2, HOSTILE: 1.0}, 2)
    base = dashboard(store)
    for path, page in (("", "studies"), ("study/1", "study"), ("study/1/trial/0", "trial")):
        browser.goto(base + path)
        browser.wait_for(f"document.body.dataset.page === '{page}' && {READY}")
        text = browser.wait_for(
            f"document.body.innerText.includes('{HOSTILE}') && document.body.innerText"
        )
        assert HOSTILE in text
        assert browser.evaluate("document.scripts.length") == 1  # app.js alone
        assert browser.evaluate("document.querySelectorAll('main img, main script').length") == 0
    assert browser.problems() == []  # no alert dialog, no error


def test_runs_are_drawn_apart_and_the_trial_page_shows_every_run(
    browser: Chromium, dashboard: Callable[[str], str], store: str
) -> None:
    with hpdeco.search(objective="loss", max_trials=2, store=store, study="cv", verbose=0) as s:
        for trial in s:
            x = hp.Float("x", 0.0, 1.0)
            for run in trial.runs(3):
                for step in (1, 2):
                    trial.report({"loss": x / step + run.index}, step)
    base = dashboard(store)
    browser.goto(base + "study/1")
    browser.wait_for(READY)
    dashes = browser.evaluate(
        "[...document.querySelectorAll('#curves path.curve')].map(p => p.dataset.run + ':'"
        " + (p.getAttribute('stroke-dasharray') || 'solid') + ':' + p.dataset.trials)"
    )
    assert sorted(dashes) == ["0:solid:0 1", "1:6 3:0 1", "2:2 3:0 1"]  # a path per run
    assert subpaths(browser, "#curves path.curve") == 6
    browser.goto(base + "study/1/trial/1")
    browser.wait_for(READY)
    headings = browser.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)")
    assert [h.split(" (")[0] for h in headings if h.startswith("Run")] == [
        "Run 0",
        "Run 1",
        "Run 2",
    ]
    assert "none kept" in browser.evaluate("document.querySelector('td.weights').textContent")
    assert browser.problems() == []


def test_pointing_at_a_curve_names_its_trial_and_a_click_opens_it(
    browser: Chromium, dashboard: Callable[[str], str], store: str
) -> None:
    demo_search(store, trials=6, epochs=4)
    browser.goto(dashboard(store) + "study/1")
    browser.wait_for(READY)
    # The pointer at the first point of the first line drawn (the curves share paths, so
    # the page finds the nearest line itself).
    lines = browser.evaluate(
        "(() => { const svg = document.querySelector('#curves svg');"
        " const path = svg.querySelector('path.curve');"
        " const subs = path.getAttribute('d').split('M').filter(Boolean).map(s => 'M' + s);"
        " const [x, y] = subs[0].slice(1).split(/[L ]/).slice(0, 2).map(Number);"
        " const p = new DOMPoint(x, y).matrixTransform(svg.getScreenCTM());"
        " svg.dispatchEvent(new PointerEvent('pointermove', {clientX: p.x, clientY: p.y}));"
        " const names = path.dataset.trials.split(' ');"
        " return Object.fromEntries(names.map((t, i) => [t, subs[i]])); })()"
    )
    label = browser.wait_for("document.querySelector('#curves .hover-label').textContent")
    named = label.split()[1]
    assert label.startswith("trial ") and named in lines, label
    glow = browser.evaluate("document.querySelector('#curves path.hover').getAttribute('d')")
    assert glow == lines[named]  # the line named is the line lit
    browser.evaluate("document.querySelector('#curves svg').dispatchEvent(new MouseEvent('click'))")
    browser.wait_for(f"location.pathname === '/study/1/trial/{named}' && {READY}")
    assert browser.problems() == []


BIG_PRUNED = tuple(range(5, 2000, 40))


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """2,000 trials x 20 epochs (the size the issue's first load is measured on): trial 2
    failed before its first epoch, those in BIG_PRUNED were pruned at epoch 2."""
    store = str(tmp_path_factory.mktemp("big") / "hpdeco.db")
    demo_search(store, trials=2000, epochs=20, pruned=BIG_PRUNED)
    return store


def test_a_study_of_2000_trials_draws_every_curve_in_a_few_elements(
    browser: Chromium, dashboard: Callable[[str], str], big_store: str
) -> None:
    browser.goto(dashboard(big_store) + "study/1")
    browser.wait_for(READY, timeout=60)
    reported = [n for n in range(2000) if n != 2]
    complete = [n for n in reported if n not in BIG_PRUNED]
    # Every trial's line is drawn, whole: one subpath per trial, 20 points each (2 for
    # the pruned), named by data-trials; none left out to save time.
    assert drawn_trials(browser, "#curves path.curve") == reported
    assert subpaths(browser, "#curves path.curve") == len(reported)
    points = browser.evaluate(
        "[...document.querySelectorAll('#curves path.curve')]"
        ".reduce((n, p) => n + p.getAttribute('d').match(/[ML]/g).length, 0)"
    )
    assert points == 20 * len(complete) + 2 * len(BIG_PRUNED)
    assert drawn_trials(browser, "#curves path.stop") == list(BIG_PRUNED)
    assert drawn_trials(browser, "#history path.point") == reported
    assert drawn_trials(browser, "#parallel path.pc-line") == complete
    # ...in a few thousand elements (tens of thousands before: one per line, point and
    # table row, whose layout was most of the first load's time).
    assert browser.evaluate("document.getElementsByTagName('*').length") < 5000
    # The table: every trial counted and sortable, 200 rows at a time, more on scrolling,
    # and a filter searches all of them.
    rows = "document.querySelectorAll('#trials tbody tr').length"
    assert browser.evaluate(rows) == 200
    assert browser.evaluate("document.getElementById('rows-note').textContent").startswith(
        "2000 of 2000 trials (the first 200 shown"
    )
    browser.evaluate("(t => { t.scrollTop = t.scrollHeight; })(document.getElementById('trials'))")
    assert browser.wait_for(f"{rows} === 400 && {rows}") == 400
    browser.evaluate("document.querySelector('#trials th[data-key=\"number\"]').click()")
    assert browser.evaluate("document.querySelector('#trials tbody tr').dataset.trial") == "1999"
    browser.evaluate(
        "(() => { const f = document.getElementById('state-filter'); f.value = 'PRUNED';"
        " f.dispatchEvent(new Event('change')); })()"
    )
    shown = browser.evaluate(
        "[...document.querySelectorAll('#trials tbody tr')].map(r => Number(r.dataset.trial))"
    )
    assert shown == sorted(BIG_PRUNED, reverse=True)
    assert browser.problems() == []
