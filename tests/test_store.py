"""The SQLite store: schema, versioning, and files that are not (or no longer) ours."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

import hpdeco
from hpdeco import StoreError, hp
from hpdeco.store import SQLiteStore
from hpdeco.store.schema import APPLICATION_ID, SCHEMA_VERSION


def one_trial(store: str, study: str = "s") -> hpdeco.Search:
    with hpdeco.search(objective="loss", max_trials=1, store=store, study=study, verbose=0) as s:
        for trial in s:
            trial.report(hp.Float("x", 0.0, 1.0), step=1)
    return s


def test_a_new_store_is_created_with_its_folders_wal_and_a_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "runs.db"
    one_trial(str(path))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"studies", "trials", "params", "metrics", "metrics_by_step"} <= tables


def test_everything_is_written_as_it_happens(store: str) -> None:
    """A second connection sees each step while the trial is still running."""
    seen = []
    with hpdeco.search(objective="loss", max_trials=1, store=store, verbose=0) as s:
        for trial in s:
            hp.Int("units", 1, 8)
            for step in (1, 2):
                trial.report({"loss": 1.0 / step, "accuracy": 0.5}, step=step)
                with sqlite3.connect(store) as other:
                    seen.append(other.execute("SELECT COUNT(*) FROM metrics").fetchone()[0])
                    state = other.execute("SELECT state FROM trials").fetchone()[0]
                    params = other.execute("SELECT name FROM params").fetchall()
            assert state == "RUNNING" and params == [("units",)]
    assert seen == [2, 4]


def test_a_store_from_a_newer_hpdeco_is_refused_untouched(store: str) -> None:
    one_trial(store)
    with sqlite3.connect(store) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = Path(store).read_bytes()
    newer = rf"written by a newer hpdeco \(schema {SCHEMA_VERSION + 1}.*upgrade"
    with pytest.raises(StoreError, match=newer):
        one_trial(store)
    assert Path(store).read_bytes() == before


def test_a_store_created_by_another_process_while_opening_is_not_taken_for_a_stranger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two workers open one new store: the other one commits the schema just after this one
    # read the (still empty) file's id. Seen half before and half after, the file would
    # look like tables without hpdeco's id: "not an hpdeco store".
    path = str(tmp_path / "new.db")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")  # an empty file, as a worker leaves it
    run = SQLiteStore._run
    interleaved = []

    def commit_the_schema_meanwhile(self: SQLiteStore, sql: str, params=()):
        result = run(self, sql, params)
        if sql == "PRAGMA application_id" and not interleaved:
            interleaved.append(sql)
            SQLiteStore(path).close()  # the other process: creates and commits it all
        return result

    monkeypatch.setattr(SQLiteStore, "_run", commit_the_schema_meanwhile)
    store = SQLiteStore(path)
    assert interleaved and store.studies() == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_another_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('ada')")
    with pytest.raises(StoreError, match=r"not an hpdeco store \(it holds tables users\)"):
        one_trial(str(path))
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM users").fetchall() == [("ada",)]
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 1


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 200)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="is not a SQLite database"):
        one_trial(str(path))
    assert path.read_bytes() == before


def test_a_truncated_store_gives_a_store_error(store: str) -> None:
    for i in range(3):
        one_trial(store, study=f"s{i}")
    SQLiteStore(store).close()
    data = Path(store).read_bytes()
    Path(store).write_bytes(data[: len(data) // 3])
    for suffix in ("-wal", "-shm"):
        Path(store + suffix).unlink(missing_ok=True)
    with pytest.raises(StoreError):
        s = SQLiteStore(store)
        s.studies()
        hpdeco.load_study("s2", store=store).trials  # noqa: B018 - reading is the test


def test_load_study_opens_read_only(store: str) -> None:
    one_trial(store)
    study = hpdeco.load_study("s", store=store)
    assert study.store.read_only
    with pytest.raises(StoreError, match="opened read-only"):
        study.store.save_space(study.id, {})


def test_names_with_quotes_sql_and_unicode_are_data_not_sql(store: str) -> None:
    name = "x'); DROP TABLE trials; --"
    with hpdeco.search(objective="loss", max_trials=2, store=store, study=name, verbose=0) as s:
        for trial in s:
            value = hp.Choice("größe ✓", ["klein", "groß"])
            trial.report({"loss": float(len(value)), 'métrique "q"': 1.0}, step=1)
    study = hpdeco.load_study(name, store=store)
    assert study.name == name
    assert {r.params["größe ✓"] for r in study.trials} <= {"klein", "groß"}
    assert study.trials[0].metrics['métrique "q"'] == {1: 1.0}


def test_deleting_a_study_removes_everything_of_it_and_nothing_else(store: str) -> None:
    one_trial(store, study="keep")
    one_trial(store, study="drop")
    opened = SQLiteStore(store)
    assert opened.delete_study("drop") is True
    assert opened.delete_study("drop") is False
    assert [s.name for s in opened.studies()] == ["keep"]
    counts = [
        opened._conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("trials", "params", "metrics")
    ]
    assert counts == [1, 1, 1]


def test_a_store_path_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create its folder"):
        one_trial(str(blocker / "sub" / "hpdeco.db"))


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores directory permissions"
)
def test_a_read_only_directory_is_a_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="cannot"):
            one_trial(str(folder / "hpdeco.db"))
    finally:
        folder.chmod(0o755)


def test_a_deleted_studys_id_is_never_reused(store: str) -> None:
    """Weights folders are named by study id: a new study must not inherit an old one's."""
    first = one_trial(store, study="a").study.id
    SQLiteStore(store).delete_study("a")
    assert one_trial(store, study="a").study.id != first


def test_a_closed_store_says_so_and_a_study_closes_with_its_block(store: str) -> None:
    from hpdeco.errors import StoreError

    with hpdeco.search(objective="loss", max_trials=1, store=store, study="c", verbose=0) as s:
        for trial in s:
            trial.report(1.0, step=1)
    assert s.best is not None  # still readable after the block
    s.close()
    with pytest.raises(StoreError, match=r"was closed; open it again"):
        _ = s.trials
    with hpdeco.load_study("c", store=store) as study:
        assert len(study.trials) == 1
    with pytest.raises(StoreError, match=r"was closed"):
        _ = study.trials


def test_a_missing_driver_is_a_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(hpdeco.MissingDependency, match=r'pip install "hpdeco\[postgres\]"'):
        hpdeco.load_study("s", store="postgresql://tuner@localhost/studies")
