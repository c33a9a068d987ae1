"""The store under faults: connections the server drops, COMMITs lost in flight, clocks that
disagree, reused process ids, a full disk, a study deleted under its workers, a server that
goes away. Real SQLite files, a real PostgreSQL server, real processes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import report_loop as loop
from conftest import run_bench

import hpdeco
from hpdeco import StoreError, StudyNotFound, TrialState, hp
from hpdeco.store import open_store
from hpdeco.store.heartbeat import Heartbeat
from hpdeco.store.sql import HOST

ROOT = Path(__file__).resolve().parent.parent


def admin(url: str):  # a psycopg connection
    import psycopg

    return psycopg.connect(url, autocommit=True)


def terminate_others(url: str) -> int:
    """End, from the server's side, every session on ``url``'s database but this one."""
    with admin(url) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


# -- a connection that drops ------------------------------------------------------------------


def test_the_heartbeat_reconnects_after_the_server_ends_its_session(postgres_url: str) -> None:
    loop(postgres_url, 1)
    store = open_store(postgres_url)
    claim = store.start_trial(store.study("s").id, None)
    beat = Heartbeat(store.reopen, interval=0.05)
    beat.trial_id = claim.trial_id
    try:
        time.sleep(0.3)  # the heartbeat's connection is open
        assert terminate_others(postgres_url) >= 1
        store = open_store(postgres_url)  # ours was ended too
        store._run("UPDATE trials SET heartbeat_at = 0 WHERE id = ?", (claim.trial_id,))
        time.sleep(0.5)
        (beat_at,) = store._run(
            "SELECT heartbeat_at FROM trials WHERE id = ?", (claim.trial_id,)
        ).fetchone()
    finally:
        beat.stop()
    assert time.time() - beat_at < 1  # it beats again, on a new connection (same host's clock)


def test_a_search_survives_its_sessions_being_terminated_between_epochs(
    postgres_url: str,
) -> None:
    """Every connection the worker holds is ended by the server between epochs; each is
    reopened, and every trial completes."""
    stop = threading.Event()

    def killer() -> None:
        while not stop.wait(0.15):
            terminate_others(postgres_url)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loop(postgres_url, 6, sleep=0.1)
    finally:
        stop.set()
        thread.join()
    assert [str(w.message) for w in caught if w.category is not ResourceWarning] == []
    records = hpdeco.load_study("s", store=postgres_url).trials
    assert [r.state for r in records] == [TrialState.COMPLETE] * 6
    assert all(r.intermediate_values.keys() == {1, 2} for r in records)


def test_a_server_that_closes_idle_sessions_does_not_stop_the_worker(postgres_url: str) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    with admin(postgres_url) as conn:
        conn.execute(f"ALTER DATABASE {name} SET idle_session_timeout = '250ms'")
    loop(postgres_url, 3, sleep=0.6)  # every epoch outlasts the server's idle timeout
    records = hpdeco.load_study("s", store=postgres_url).trials
    assert [r.state for r in records] == [TrialState.COMPLETE] * 3


def test_a_server_stopped_mid_study_ends_in_one_store_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("psycopg")
    from pgserver import MissingServer, stop, throwaway_postgres

    monkeypatch.setattr("hpdeco.store.transactions.RECONNECT_S", 1.0)
    try:
        server = throwaway_postgres()
        url = server.__enter__()
    except MissingServer as exc:
        pytest.skip(str(exc))
    try:
        with pytest.raises(StoreError) as raised:
            with hpdeco.search(objective="loss", max_trials=5, store=url, verbose=0) as s:
                for trial in s:
                    trial.report(hp.Float("x", 0.0, 1.0), 1)
                    if trial.number == 1:
                        stop(url)
                    trial.report(0.5, 2)
    finally:
        server.__exit__(None, None, None)
    message = str(raised.value)
    assert type(raised.value) is StoreError
    assert "lost the connection to the database server" in message
    assert "could not reconnect within 1 s" in message and "127.0.0.1" in message
    assert "another process holds it" not in message  # SQLite's hint, not PostgreSQL's


# -- a COMMIT lost in flight --------------------------------------------------------------------


class CuttingProxy:
    """A TCP proxy to the server that, once armed, cuts the connection right after the
    server answered a COMMIT: the transaction committed, but the client never hears it."""

    COMMITTED = b"C\x00\x00\x00\x0bCOMMIT\x00"  # CommandComplete "COMMIT"

    def __init__(self, port: int) -> None:
        self.target = port
        self.armed = threading.Event()
        self.cuts = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if replies and self.COMMITTED in data and self.armed.is_set():
                    self.armed.clear()
                    self.cuts += 1
                    break  # drop the answer and the connection
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


def test_a_trial_whose_commit_answer_was_lost_is_started_once(postgres_url: str) -> None:
    """The server committed the new trial but the answer never came: the store must not
    insert it a second time (it asks the server what became of the transaction)."""
    loop(postgres_url, 1)
    port = int(postgres_url.rsplit(":", 1)[1].split("/")[0])
    proxy = CuttingProxy(port)
    store = open_store(postgres_url.replace(f":{port}/", f":{proxy.port}/"))
    study_id = store.study("s").id
    proxy.armed.set()
    claim = store.start_trial(study_id, None)
    proxy.armed.set()
    queued = store.enqueue(study_id, {"x": 0.25})
    assert proxy.cuts == 2
    rows = (
        open_store(postgres_url)
        ._run(
            "SELECT id, number, state FROM trials WHERE study_id = ? ORDER BY number", (study_id,)
        )
        .fetchall()
    )
    assert rows == [
        (rows[0][0], 0, "COMPLETE"),
        (claim.trial_id, 1, "RUNNING"),
        (rows[2][0], 2, "WAITING"),
    ]
    assert (claim.number, queued) == (1, 2)


def test_a_transaction_killed_during_its_commit_is_run_again(postgres_url: str) -> None:
    """The session dies while committing (a deferred trigger ends it), so nothing was
    kept: the store runs the transaction again on a new connection."""
    loop(postgres_url, 1)
    with admin(postgres_url) as conn:
        conn.execute("CREATE SEQUENCE kills")
        conn.execute(
            "CREATE FUNCTION die_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF nextval('kills') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid());"
            " END IF; RETURN NULL; END $$"
        )
        conn.execute(
            "CREATE CONSTRAINT TRIGGER die AFTER INSERT ON trials DEFERRABLE INITIALLY DEFERRED"
            " FOR EACH ROW EXECUTE FUNCTION die_once()"
        )
    store = open_store(postgres_url)
    claim = store.start_trial(store.study("s").id, None)
    rows = store._run("SELECT number, state FROM trials ORDER BY number").fetchall()
    assert rows == [(0, "COMPLETE"), (1, "RUNNING")] and claim.number == 1
    assert store._run("SELECT last_value FROM kills").fetchone()[0] == 2  # it did die once


# -- liveness on the database's clock -----------------------------------------------------------

SKEWED_WORKER = r"""
import sys, time
import hpdeco
from hpdeco import hp
import hpdeco.store.sql as sql

real = time.time
time.time = lambda: real() - 120  # this host's clock runs two minutes behind
sql.HOST = "far-away"  # and it is another machine
with hpdeco.search(objective="loss", max_trials=1, store=sys.argv[1], study="skew",
                   verbose=0) as search:
    for trial in search:
        trial.report(hp.Float("x", 0.0, 1.0), 1)
        time.sleep(float(sys.argv[2]))  # a long epoch: only the heartbeat speaks for it
        trial.report(0.5, 2)
"""


def test_a_worker_whose_clock_runs_behind_keeps_its_live_trial(any_store: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(
        [sys.executable, "-c", SKEWED_WORKER, any_store, "3"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 60
        store = None
        while time.time() < deadline:  # until its trial reported step 1
            with contextlib.suppress(StoreError):
                store = store or open_store(any_store)
                row = store.study("skew")
                if row is not None and store.values_at(row.id, "loss", 1):
                    break
            time.sleep(0.05)
        assert store is not None
        recovered = []
        for _ in range(10):  # another worker looks for lost trials while it runs
            recovered += store.recover_lost(row.id)
            time.sleep(0.1)
        _, err = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert recovered == []
    assert worker.returncode == 0, err
    assert "already ended elsewhere" not in err
    (record,) = hpdeco.load_study("skew", store=any_store).trials
    assert record.state is TrialState.COMPLETE and record.intermediate_values[2] == 0.5


def set_running(store, trial_id: int, pid: int, age: float) -> None:
    store._run(  # one machine here: its clock is the database's
        "UPDATE trials SET host = ?, pid = ?, heartbeat_at = ? WHERE id = ?",
        (HOST, pid, time.time() - age, trial_id),
    )


def test_a_reused_pid_on_this_host_does_not_keep_a_lost_trial_running(any_store: str) -> None:
    """Containers reuse pids (every worker may be pid 1 on one host name): a live process
    with the trial's pid is not proof; a stale heartbeat is."""
    loop(any_store, 1)
    store = open_store(any_store)
    study_id = store.study("s").id
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale, fresh, dead = (store.start_trial(study_id, None).trial_id for _ in range(3))
        set_running(store, stale, stranger.pid, 600)  # a live pid, no heartbeat for 10 min
        set_running(store, fresh, stranger.pid, 1)  # a live pid, a fresh heartbeat
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        set_running(store, dead, int(gone.stdout), 1)  # pid gone: lost at once
        lost = store.recover_lost(study_id)
    finally:
        stranger.kill()
        stranger.wait()
    assert sorted(r.number for r in lost) == [1, 3]
    states = {r.number: r.state for r in hpdeco.load_study("s", store=any_store).trials}
    assert states == {
        0: TrialState.COMPLETE,
        1: TrialState.FAIL,
        2: TrialState.RUNNING,
        3: TrialState.FAIL,
    }


# -- a full disk --------------------------------------------------------------------------------


def fill(store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=10**6, store=store, verbose=0) as s:
        for trial in s:
            x = hp.Float("x", 0.0, 1.0)
            for step in range(100):
                trial.report({"loss": x, **{f"metric_{i:03d}_{'m' * 60}": x for i in range(20)}},
                             step)  # fmt: skip
            if trial.number == 0:
                # From here on the file may not grow: SQLite says "database or disk is full"
                # exactly as on a full disk.
                pages = s.study.store._run("PRAGMA page_count").fetchone()[0]
                s.study.store._run(f"PRAGMA max_page_count = {pages + 20}")


def test_a_full_store_says_so_instead_of_a_failed_rollback(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as raised:
        fill(str(tmp_path / "full.db"))
    message = str(raised.value)
    assert "database or disk is full" in message and "free disk space" in message
    assert "cannot rollback" not in message


@contextlib.contextmanager
def tiny_disk(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_really_full_disk_says_so(tmp_path: Path) -> None:
    with tiny_disk(tmp_path / "disk", "256k") as disk:
        with pytest.raises(StoreError) as raised:
            fill(str(disk / "hpdeco.db"))
    message = str(raised.value)
    assert "full" in message and "free disk space" in message, message
    assert "cannot rollback" not in message


# -- a study deleted under its workers ---------------------------------------------------------


@pytest.mark.parametrize("when", ["report", "draw", "finish"])
def test_a_study_deleted_under_a_worker_stops_it_clearly(any_store: str, when: str) -> None:
    other = open_store(any_store)  # e.g. `hpdeco delete s --yes` in another terminal
    with pytest.raises(StudyNotFound, match=r"deleted from store=.* while this worker was"):
        with hpdeco.search(objective="loss", max_trials=5, store=any_store, study="s",
                           verbose=0) as s:  # fmt: skip
            for trial in s:
                with trial:  # even here: it is not one trial's failure
                    x = hp.Float("x", 0.0, 1.0)
                    trial.report(x, 1)
                    if trial.number == 1:
                        assert other.delete_study("s")
                        if when == "report":
                            trial.report(x, 2)
                        elif when == "draw":
                            hp.Int("units", 1, 8)
    assert other.studies() == []


def test_every_write_to_a_deleted_study_says_it_was_deleted(any_store: str) -> None:
    loop(any_store, 1)
    store = open_store(any_store)
    study_id = store.study("s").id
    claim = store.start_trial(study_id, None)
    assert open_store(any_store).delete_study("s")
    writes = {
        "start_trial": lambda: store.start_trial(study_id, None),
        "enqueue": lambda: store.enqueue(study_id, {"x": 0.5}),
        "claim_params": lambda: store.claim_params(study_id, claim.trial_id, 0, lambda _: {"x": 1}),
        "set_param": lambda: store.set_param(claim.trial_id, 0, "x", 0.5),
        "record": lambda: store.record(claim.trial_id, study_id, 1, {"loss": 0.5}),
        "finish_trial": lambda: store.finish_trial(
            claim.trial_id, study_id, TrialState.COMPLETE, 0.5, 1, None, None
        ),
    }
    for name, write in writes.items():
        with pytest.raises(StudyNotFound, match="was deleted from store="):
            write()
            pytest.fail(f"{name} did not raise")


def test_the_deleted_study_is_named(tmp_path: Path) -> None:
    store = str(tmp_path / "hpdeco.db")
    other = open_store(store)
    with pytest.raises(StudyNotFound, match=r"study 'exp' was deleted from store="):
        with hpdeco.search(objective="loss", max_trials=3, store=store, study="exp",
                           verbose=0) as s:  # fmt: skip
            for trial in s:
                trial.report(0.5, 1)
                other.delete_study("exp")
                trial.report(0.4, 2)


# -- the drill ----------------------------------------------------------------------------------


@pytest.mark.bench
def test_the_backend_kill_drill_runs_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    out = tmp_path / "drill.json"
    done = run_bench(
        "concurrency.py", "--only", "backend-drill", "--drill-trials", "20",
        "--drill-workers", "2", "--out", str(out),
    )  # fmt: skip
    if "skipping PostgreSQL" in done.stderr:
        pytest.skip(done.stderr.strip())
    assert done.returncode == 0, done.stderr
    drill = json.loads(out.read_text())["backend_drill"]
    assert drill["finished"] == 20 and drill["by_state"]["RUNNING"] == 0
    assert drill["complete_results_discarded"] == 0 and drill["workers_failed"] == 0
    assert drill["kills"] >= 1
