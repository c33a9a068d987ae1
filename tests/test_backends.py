"""One store test suite, run on a SQLite file and on a real PostgreSQL server: semantics,
many worker processes on one study, and workers that die."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import report_loop as loop

import hpdeco
from hpdeco import StoreError, TrialState, hp
from hpdeco.store import open_store
from hpdeco.store.heartbeat import Heartbeat

WORKER = str(Path(__file__).parent / "worker.py")


def test_trials_metrics_and_resume(any_store: str) -> None:
    loop(any_store, 3)
    s = loop(any_store, 5)
    records = s.trials
    assert [r.number for r in records] == [0, 1, 2, 3, 4]
    assert all(r.state is TrialState.COMPLETE for r in records)
    for r in records:
        assert r.metrics == {
            "loss": {1: r.params["x"], 2: r.params["x"] / 2},
            "acc": {1: 1 - r.params["x"], 2: 1 - r.params["x"]},
        }
        assert r.value == r.params["x"] / 2
    store = open_store(any_store)
    values = store.values_at(s.study.id, "loss", 2)
    assert values == {r.number: r.params["x"] / 2 for r in records}


def test_the_space_comes_back_in_declared_order(any_store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=1, store=any_store, verbose=0) as s:
        for trial in s:
            trial.report(hp.Float("zeta", 0, 1) + hp.Int("alpha", 0, 3) + hp.Float("mu", 0, 1), 1)
    study = hpdeco.load_study(s.study.name, store=any_store)
    assert list(study.space) == ["zeta", "alpha", "mu"]
    assert list(study.trials[0].params) == ["zeta", "alpha", "mu"]


def test_the_overview_counts_states_and_finds_the_best_without_reading_trials(
    any_store: str,
) -> None:
    values = [0.5, 0.2, 0.9, 0.2, 0.1, 0.7]  # a tie at 0.2: the lower trial number is the best
    with hpdeco.search(
        objective="loss", max_trials=len(values), store=any_store, study="o", verbose=0
    ) as s:
        for trial in s:
            with trial:
                trial.report(values[trial.number], 1)
                if trial.number == 4:  # the lowest loss, but PRUNED: not a best
                    raise hpdeco.TrialPruned()
                if trial.number == 5:
                    raise RuntimeError("crash")
    store = open_store(any_store)
    seen = store.overview(s.study.id, "min")
    assert seen.counts == {TrialState.COMPLETE: 4, TrialState.PRUNED: 1, TrialState.FAIL: 1}
    assert seen.best == (1, 0.2) == (s.best.number, s.best.value)
    assert seen.last_activity == max(r.finished_at for r in s.trials)
    assert store.overview(s.study.id, "max").best == (2, 0.9)
    empty = store.create_study("empty", "loss", "min", {})
    assert store.overview(empty.id, "min") == type(seen)({}, None, None)


def test_hostile_names_are_data(any_store: str) -> None:
    name = "robert'); DROP TABLE trials; -- ✓"
    loop(any_store, 2, study=name)
    study = hpdeco.load_study(name, store=any_store)
    assert study.name == name and len(study.trials) == 2


def test_delete_study(any_store: str) -> None:
    loop(any_store, 2, study="keep")
    loop(any_store, 2, study="drop")
    store = open_store(any_store)
    assert store.delete_study("drop") and not store.delete_study("drop")
    assert [s.name for s in store.studies()] == ["keep"]
    assert len(hpdeco.load_study("keep", store=any_store).trials) == 2


def test_enqueued_trials_come_first_with_their_values(any_store: str) -> None:
    with hpdeco.search(objective="loss", max_trials=3, store=any_store, study="q", verbose=0) as s:
        first = s.enqueue({"x": 0.25})
        second = s.enqueue({"x": 0.75, "unused": 1})
        for trial in s:
            trial.report(hp.Float("x", 0.0, 1.0), 1)
    records = s.trials
    assert (first, second) == (0, 1)
    assert [r.params["x"] for r in records[:2]] == [0.25, 0.75]
    assert len(records) == 3 and all(r.state is TrialState.COMPLETE for r in records)


def test_a_lost_worker_on_another_host_is_recovered_after_the_grace(any_store: str) -> None:
    s = loop(any_store, 1)
    store = open_store(any_store)
    claim_stale = store.start_trial(s.study.id, None)
    claim_fresh = store.start_trial(s.study.id, None)
    store.set_param(claim_stale.trial_id, 0, "x", 0.5)
    store.record(claim_stale.trial_id, s.study.id, 1, {"loss": 0.5})
    store._run(
        "UPDATE trials SET host = 'elsewhere', heartbeat_at = ? WHERE id = ?",
        (time.time() - 600, claim_stale.trial_id),
    )
    store._run(
        "UPDATE trials SET host = 'elsewhere', heartbeat_at = ? WHERE id = ?",
        (time.time(), claim_fresh.trial_id),
    )
    with pytest.warns(
        UserWarning,
        match=r"trials \[1\] were left RUNNING.*retried as trials "
        r"\[3\]",
    ):
        with hpdeco.search(
            objective="loss", max_trials=4, store=any_store, study="s", retries=1, verbose=0
        ) as again:
            pass
    states = {r.number: r for r in again.trials}
    assert states[1].state is TrialState.FAIL and states[1].reason.startswith("worker lost")
    assert states[1].intermediate_values == {1: 0.5}  # its reported epochs stay
    assert states[2].state is TrialState.RUNNING  # fresh heartbeat: still somebody's
    assert states[3].state is TrialState.WAITING and states[3].params == {"x": 0.5}


def test_the_heartbeat_thread_keeps_a_long_trial_alive(any_store: str) -> None:
    s = loop(any_store, 1)
    store = open_store(any_store)
    claim = store.start_trial(s.study.id, None)
    store._run("UPDATE trials SET heartbeat_at = 0 WHERE id = ?", (claim.trial_id,))
    beat = Heartbeat(store.reopen, interval=0.05)
    beat.trial_id = claim.trial_id
    time.sleep(0.3)
    beat.stop()
    (when,) = store._run(
        "SELECT heartbeat_at FROM trials WHERE id = ?", (claim.trial_id,)
    ).fetchone()
    assert time.time() - when < 5


def test_a_store_from_a_newer_version_is_refused(any_store: str) -> None:
    loop(any_store, 1)
    store = open_store(any_store)
    if any_store.startswith("postgresql://"):
        store._run("UPDATE hpdeco_meta SET value = '99' WHERE key = 'schema_version'")
    else:
        store._run("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match=r"newer hpdeco \(schema 99"):
        loop(any_store, 2)


def workers(
    store: str,
    study: str,
    n: int,
    max_trials: int,
    sampler: str = "random",
    steps: int = 3,
    sleep: float = 0.01,
    retries: int = 0,
) -> list[subprocess.Popen]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    return [
        subprocess.Popen(
            [
                sys.executable,
                WORKER,
                store,
                study,
                str(max_trials),
                sampler,
                str(steps),
                str(sleep),
                str(retries),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n)
    ]


def test_worker_processes_share_one_study_exactly(any_store: str) -> None:
    procs = workers(any_store, "shared", 4, 20)
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    done = [int(n) for out, _ in outputs for n in out.split()]
    records = hpdeco.load_study("shared", store=any_store).trials
    assert sorted(done) == [r.number for r in records] == list(range(20))
    assert all(r.state is TrialState.COMPLETE for r in records)
    assert sum(1 for out, _ in outputs if out.split()) >= 2  # the work was really shared


def test_grid_points_are_handed_out_once_across_workers(any_store: str) -> None:
    procs = workers(any_store, "grid", 3, 100, sampler="grid", steps=2, sleep=0.02)
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    records = hpdeco.load_study("grid", store=any_store).trials
    points = [(r.params["a"], r.params["b"]) for r in records]
    assert len(points) == len(set(points)) == 12  # 4 x 3, each once, then the grid ends


def test_a_killed_worker_costs_only_its_trial(any_store: str) -> None:
    (proc,) = workers(any_store, "crash", 1, 6, steps=50, sleep=0.05)
    deadline = time.time() + 60
    store = open_store(any_store)
    while time.time() < deadline:  # wait until the first trial has reported a few steps
        row = store.study("crash")
        if row and store.values_at(row.id, "loss", 3):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with pytest.warns(UserWarning, match="worker lost"):
        loop(any_store, 6, study="crash")
    records = hpdeco.load_study("crash", store=any_store).trials
    # The lost trial belongs to the killed run: it does not use up max_trials.
    assert [r.number for r in records] == list(range(7))
    killed = records[0]
    assert killed.state is TrialState.FAIL and killed.reason.startswith("worker lost")
    assert len(killed.intermediate_values) >= 3  # the epochs it reported are kept
    assert all(r.state is TrialState.COMPLETE for r in records[1:])


def test_a_postgres_database_with_someone_elses_tables_is_refused(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE studies (title TEXT)")
        conn.execute("INSERT INTO studies VALUES ('mine')")
    with pytest.raises(StoreError, match="has a 'studies' table that hpdeco did not create"):
        loop(postgres_url, 1)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert conn.execute("SELECT title FROM studies").fetchall() == [("mine",)]


V1_METRICS = (
    "CREATE TABLE metrics_v1 (trial_id BIGINT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,"
    " study_id BIGINT NOT NULL, name TEXT NOT NULL, step BIGINT NOT NULL,"
    " value DOUBLE PRECISION, recorded_at DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (trial_id, name, step))"
)
V1_TABLES = (
    "CREATE TABLE study_attrs (study_id BIGINT NOT NULL REFERENCES studies(id)"
    " ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (study_id, key))",
    "CREATE TABLE trial_attrs (trial_id BIGINT NOT NULL REFERENCES trials(id)"
    " ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (trial_id, key))",
)


def test_a_version_1_store_is_migrated_and_keeps_its_trials(any_store: str) -> None:
    from hpdeco.store.schema import SCHEMA_VERSION

    loop(any_store, 3, study="old")
    store = open_store(any_store)
    postgres = not isinstance(store, hpdeco.store.SQLiteStore)

    def turn_back() -> None:  # the store as hpdeco with schema 1 left it
        store._run("DROP TABLE trial_values")
        store._run("ALTER TABLE trials DROP COLUMN violation")
        store._run("ALTER TABLE studies DROP COLUMN objectives")
        store._run("DROP TABLE runs")
        store._run(V1_METRICS)
        store._run(
            "INSERT INTO metrics_v1 SELECT trial_id, study_id, name, step, value, recorded_at"
            " FROM metrics"
        )
        store._run("DROP TABLE metrics")
        store._run("ALTER TABLE metrics_v1 RENAME TO metrics")
        store._run("CREATE INDEX metrics_by_step ON metrics (study_id, name, step)")
        for statement in V1_TABLES:
            store._run(statement)
        if postgres:
            store._run("UPDATE hpdeco_meta SET value = '1' WHERE key = 'schema_version'")
        else:
            store._run("PRAGMA user_version = 1")

    store._transaction(turn_back)
    store.close()
    assert [r.state for r in hpdeco.load_study("old", store=any_store).trials] == [
        TrialState.COMPLETE
    ] * 3  # read-only: read as it is, not migrated
    loop(any_store, 4, study="old")  # a search opens it for writing: migrated
    reopened = open_store(any_store)
    if postgres:
        version = reopened._run("SELECT value FROM hpdeco_meta").fetchone()[0]
        found = reopened._run("SELECT to_regclass('study_attrs')").fetchone()[0]
        assert int(version) == SCHEMA_VERSION and found is None
    else:
        tables = {r[0] for r in reopened._run("SELECT name FROM sqlite_master").fetchall()}
        assert reopened._run("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert not tables & {"study_attrs", "trial_attrs"}
    records = hpdeco.load_study("old", store=any_store).trials
    assert [r.state for r in records] == [TrialState.COMPLETE] * 4
    assert all(r.intermediate_values for r in records)  # the curves came through
    runs = reopened._run("SELECT DISTINCT run FROM metrics").fetchall()
    assert runs == [(0,)]
