"""``hpdeco dashboard`` without a browser: what changed since a cursor (SQLite and
PostgreSQL), the server's answers (GET only, escaping, strict JSON, no password), the
command's refusals, and a 4-worker search that never sees "database is locked" while the
dashboard is polled. The page itself is driven in Chromium by test_dashboard_browser.py."""

from __future__ import annotations

import io
import json
import math
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, demo_search, report_loop
from pgserver import PASSWORD_ROLE
from test_secrets import PASSWORD, WRITTEN, leaks

import hpdeco
from hpdeco import hp
from hpdeco.dashboard import data
from hpdeco.dashboard.server import DashboardServer
from hpdeco.store import open_store
from hpdeco.store.changes import Cursor, changed_listing, changed_trials

HOSTILE = "<script>alert(1)</script>"


def get(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start a dashboard server in a thread on a free port; its base URL."""
    servers: list[DashboardServer] = []

    def start(store: str, log: Any = None) -> str:
        server = DashboardServer(
            ("127.0.0.1", 0), store, poll_s=2.0, log=log if log is not None else sys.stderr
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# -- what changed since a cursor ----------------------------------------------------------------


def test_a_poll_gets_new_running_and_finished_trials_and_nothing_twice_once_finished(
    any_store: str,
) -> None:
    reader = open_store(any_store, read_only=False)  # creates the schema; read below only
    seen: list[tuple[str, list[tuple[int, str, int]]]] = []
    cursor = Cursor()

    def poll(label: str) -> None:
        nonlocal cursor
        row = reader.study("s")
        assert row is not None
        changes = changed_trials(reader, row.id, row.objective, cursor)
        cursor = changes.cursor
        seen.append(
            (
                label,
                [(t.number, t.state.value, len(t.metrics.get("loss", {}))) for t in changes.trials],
            )
        )

    with hpdeco.search(objective="loss", max_trials=2, store=any_store, study="s", verbose=0) as s:
        for trial in s:
            x = hp.Float("x", 0.0, 1.0)
            trial.report({"loss": x}, 1)
            poll(f"trial {trial.number} epoch 1")
            trial.report({"loss": x / 2}, 2)
            poll(f"trial {trial.number} epoch 2")
    poll("after")
    poll("again")
    reader.close()
    assert seen == [
        ("trial 0 epoch 1", [(0, "RUNNING", 1)]),
        ("trial 0 epoch 2", [(0, "RUNNING", 2)]),  # a running trial comes again, whole
        ("trial 1 epoch 1", [(0, "COMPLETE", 2), (1, "RUNNING", 1)]),  # finished since
        ("trial 1 epoch 2", [(1, "RUNNING", 2)]),
        ("after", [(1, "COMPLETE", 2)]),
        ("again", []),  # nothing new: nothing sent
    ]


def same_to_6_digits(got: Any, want: Any, where: str = "") -> None:
    """``got`` holds what ``want`` does, numbers to 6 significant digits."""
    if isinstance(want, float) and isinstance(got, (int, float)):
        assert math.isclose(got, want, rel_tol=1e-5), (where, got, want)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), (where, got, want)
        for key in want:
            same_to_6_digits(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, got, want)
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            same_to_6_digits(a, b, f"{where}[{i}]")
    else:
        assert got == want, (where, got, want)


def test_the_study_listing_holds_what_the_trial_records_hold_to_6_digits(any_store: str) -> None:
    with hpdeco.search(
        objective="loss", max_trials=5, store=any_store, study="s", verbose=0, sampler="random"
    ) as s:
        for trial in s:
            with trial:
                x = hp.Float("x", 1e-3, 1.0, sampling="log")
                hp.Choice("act", ["relu", HOSTILE])
                if trial.number == 1:
                    raise RuntimeError("diverged")
                if trial.number == 2:  # three runs (folds): each its own curve, and their mean
                    for run in trial.runs(3):
                        for step in (1, 2):
                            trial.report({"loss": x / step + run.index / 3}, step)
                    continue
                for step in (3, 1, 10, 2):  # out of order: each curve still comes by step
                    odd = math.nan if step == 2 else math.inf if step == 10 else step / 3
                    trial.report({"loss": x / step, "odd": odd}, step)
                if trial.number == 3:
                    raise hpdeco.TrialPruned()
    reader = open_store(any_store, read_only=True)
    try:
        row = reader.study("s")
        assert row is not None
        listing = changed_listing(reader, row.id, Cursor())
        body = data.listing_json(row, reader, listing)
        records = changed_trials(reader, row.id, row.objective, Cursor())
        assert changed_listing(reader, row.id, listing.cursor).trials == []
    finally:
        reader.close()
    got = json.loads(body, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert listing.cursor == records.cursor and got["cursor"] == {"number": 4, "seq": 5}
    same_to_6_digits(got["trials"], [data.trial_json(r) for r in records.trials])
    first = got["trials"][0]
    loss = records.trials[0].metrics["loss"]
    steps = [1, 2, 3, 10]
    assert first["curves"]["loss"] == [steps, [float(f"{loss[s]:.6g}") for s in steps]]
    assert first["curves"]["odd"] == [[1, 2, 3, 10], [0.333333, None, 1, None]]  # NaN, inf
    assert sorted(got["trials"][2]["runs"]) == ["0", "1", "2"]
    assert got["trials"][2]["params"]["act"] in ("relu", HOSTILE)


# -- the server ---------------------------------------------------------------------------------


def test_every_method_but_get_is_refused_with_405(serve: Callable[..., str], store: str) -> None:
    report_loop(store, 2)
    base = serve(store)
    for method in ("POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW"):
        status, headers, _ = get(base + "/api/studies", method)
        assert (status, headers.get("Allow")) == (405, "GET"), method
    status, _, body = get(base + "/api/studies")
    assert status == 200 and json.loads(body)["studies"][0]["name"] == "s"


def test_pages_and_api_answer_with_strict_json_and_a_script_only_policy(
    serve: Callable[..., str], store: str
) -> None:
    demo_search(store, trials=6)
    base = serve(store)
    status, headers, page = get(base + "/study/1")
    assert status == 200 and b'data-page="study"' in page
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, _, body = get(base + "/api/study/1")
    data = json.loads(body, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert [t["number"] for t in data["trials"]] == list(range(6))
    states = {t["number"]: t["state"] for t in data["trials"]}
    assert (states[2], states[4]) == ("FAIL", "PRUNED")
    assert data["trials"][4]["curves"]["val_accuracy"][0] == [1, 2]  # stopped at epoch 2
    cursor = data["cursor"]
    _, _, again = get(f"{base}/api/study/1?number={cursor['number']}&seq={cursor['seq']}")
    assert json.loads(again)["trials"] == []
    status, _, trial = get(base + "/api/study/1/trial/2")
    assert status == 200 and "diverged" in json.loads(trial)["trial"]["traceback"]
    assert get(base + "/api/study/1/trial/99")[0] == 404
    assert get(base + "/api/study/7")[0] == 404
    assert get(base + "/nowhere")[0] == 404
    assert get(base + "/static/app.js")[1]["Content-Type"].startswith("text/javascript")


def test_a_nan_value_goes_out_as_null(serve: Callable[..., str], store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=1, store=store, study="s", verbose=0) as s:
        for trial in s:
            hp.Float("x", 0.0, 1.0)
            trial.report({"loss": 0.5, "other": float("nan")}, 1)
    _, _, body = get(serve(store) + "/api/study/1")
    assert b"NaN" not in body
    assert json.loads(body)["trials"][0]["curves"]["other"] == [[1], [None]]


def test_hostile_names_go_out_as_data_and_the_page_shell_escapes_the_store(
    serve: Callable[..., str], tmp_path: Path
) -> None:
    folder = tmp_path / "<b>x</b>"
    store = str(folder / "hpdeco.db")
    with hpdeco.search(objective="loss", max_trials=1, store=store, study=HOSTILE, verbose=0) as s:
        for trial in s:
            hp.Choice(HOSTILE, [HOSTILE])
            trial.report({"loss": 1.0, HOSTILE: 2.0}, 1)
    base = serve(store)
    _, _, page = get(base + "/")
    assert b"<b>x</b>" not in page and b"&lt;b&gt;x&lt;/b&gt;" in page
    _, _, body = get(base + "/api/study/1")
    (trial,) = json.loads(body)["trials"]
    assert trial["params"] == {HOSTILE: HOSTILE} and HOSTILE in trial["curves"]


@pytest.fixture
def password_url(postgres_server: str) -> str:
    """A database owned by a role that must give its password (test_secrets.py's), as a URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PASSWORD_ROLE,))
        verb = "ALTER" if exists.fetchone() else "CREATE"
        conn.execute(f"{verb} ROLE {PASSWORD_ROLE} WITH LOGIN PASSWORD '{PASSWORD}'")
        conn.execute(f"CREATE DATABASE {name} OWNER {PASSWORD_ROLE}")
    where = postgres_server.split("@", 1)[1].rsplit("/", 1)[0]
    return f"postgresql://{PASSWORD_ROLE}:{WRITTEN}@{where}/{name}"


def test_a_postgresql_password_never_reaches_the_page_the_json_or_the_log(
    serve: Callable[..., str], password_url: str
) -> None:
    store = password_url
    report_loop(store, 1)
    log = io.StringIO()
    base = serve(store, log=log)
    paths = ["/", "/study/1", "/api/studies", "/api/study/1", "/api/study/1/trial/0", "/x"]
    bodies = [get(base + path)[2].decode() for path in paths]
    assert [leaks(body) for body in bodies] == [[]] * len(paths)
    assert json.loads(bodies[2])["store"].startswith(f"postgresql://{PASSWORD_ROLE}@")
    assert leaks(log.getvalue()) == []
    proc, line = start_command("--store", store, "--port", "0")
    out, err = stop(proc)
    assert line.startswith(f"hpdeco dashboard: postgresql://{PASSWORD_ROLE}@")
    assert leaks(line + out + err) == []


# -- the command ----------------------------------------------------------------------------------


def start_command(*args: str) -> tuple[subprocess.Popen[str], str]:
    """``hpdeco dashboard ARGS`` in its own process, and the first line it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpdeco", "dashboard", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, proc.stdout.readline() if proc.stdout else ""


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.terminate()
    out, err = proc.communicate(timeout=30)
    return out, err


def test_the_command_binds_loopback_and_takes_any_free_port_with_port_0(store: str) -> None:
    report_loop(store, 1)
    proc, line = start_command("--store", store, "--port", "0")
    try:
        assert line.startswith(f"hpdeco dashboard: {store} at http://127.0.0.1:")
        url = line.split(" at ", 1)[1].split()[0]
        assert get(url + "api/studies")[0] == 200
    finally:
        _, err = stop(proc)
    assert "WARNING" not in err


def test_a_port_in_use_is_one_clear_error(store: str) -> None:
    report_loop(store, 1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "hpdeco", "dashboard", "--store", store, "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"hpdeco dashboard: error: --port {port} is in use on 127.0.0.1 (another dashboard, or "
        "another server?); pass another --port, or --port 0 to take any free port"
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--port", "70000"], "--port 70000 is not a port"),
        (["--poll", "0"], "--poll 0.0: the page needs at least 0.1 seconds"),
        (["--host", "no-such-host.invalid"], "--host 'no-such-host.invalid' is not an address"),
    ],
)
def test_bad_options_are_one_line_errors(store: str, args: list[str], words: str) -> None:
    report_loop(store, 1)
    done = subprocess.run(
        [sys.executable, "-m", "hpdeco", "dashboard", "--store", store, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and words in done.stderr and len(done.stderr.splitlines()) == 1


def test_a_missing_store_is_an_error_and_nothing_is_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    done = subprocess.run(
        [sys.executable, "-m", "hpdeco", "dashboard", "--store", str(missing), "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "no store at" in done.stderr
    assert not missing.exists()


def test_a_host_other_than_loopback_is_warned_about_loudly(store: str) -> None:
    report_loop(store, 1)
    proc, line = start_command("--store", store, "--host", "0.0.0.0", "--port", "0")
    try:
        assert " at http://0.0.0.0:" in line
    finally:
        _, err = stop(proc)
    assert err.startswith("WARNING: hpdeco dashboard: --host 0.0.0.0 serves every study")


# -- never in the search's way ------------------------------------------------------------------


def test_four_workers_never_see_a_locked_store_while_the_dashboard_is_polled(
    serve: Callable[..., str], store: str
) -> None:
    report_loop(store, 1, study="w")  # the store and the study exist before the workers
    base = serve(store)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "worker.py"),
                store,
                "w",
                "40",
                "random",
                "5",
                "0.005",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    polls, cursor = 0, {"number": -1, "seq": 0}
    while any(w.poll() is None for w in workers):
        status, _, body = get(f"{base}/api/study/1?number={cursor['number']}&seq={cursor['seq']}")
        assert status == 200, body
        cursor = json.loads(body)["cursor"]
        assert get(base + "/api/studies")[0] == 200
        polls += 1
        time.sleep(0.02)
    errors = [w.communicate()[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], errors
    assert not any("locked" in e.lower() for e in errors), errors
    assert polls >= 5
    _, _, body = get(base + "/api/study/1")
    assert len(json.loads(body)["trials"]) == 40  # max_trials counts the first trial
