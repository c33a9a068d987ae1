"""The ``hpdeco`` command under careless hands: it never destroys a store, never lets the
store's text act on the terminal, reads stores it cannot write, and says what went wrong in
one line."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT
from conftest import run_cli as run

import hpdeco
from hpdeco import ConfigError, StoreError, hp
from hpdeco.store.schema import APPLICATION_ID


def small(path: str, study: str = "demo") -> str:
    """A real store with three finished trials reporting two metrics."""
    with hpdeco.search(
        objective="val_accuracy", max_trials=3, store=path, study=study, verbose=0
    ) as search:
        for trial in search:
            x = hp.Float("x", 0, 1)
            for epoch in (1, 2):
                trial.report({"val_accuracy": x * epoch / 2, "loss": 1 - x}, epoch)
    search.study.store.close()  # the last connection gone: no -wal or -shm file is left
    return path


@pytest.fixture
def db(tmp_path: Path) -> str:
    return small(str(tmp_path / "hpdeco.db"))


def one_line_error(code: int, out: str, err: str) -> str:
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


# -- export and plot never write over a store ----------------------------------------------------


def test_export_refuses_to_write_over_its_own_store(db: str, capsys) -> None:
    before = Path(db).read_bytes()
    for extra in ([], ["--force"]):
        err = one_line_error(*run(capsys, "export", "demo", "--store", db, "--out", db, *extra))
        assert "is the store itself" in err
    assert Path(db).read_bytes() == before
    assert hpdeco.load_study("demo", store=db).best is not None


def test_export_never_writes_over_another_sqlite_database(db: str, tmp_path: Path, capsys) -> None:
    other = small(str(tmp_path / "other.db"), study="kept")
    before = Path(other).read_bytes()
    err = one_line_error(*run(capsys, "export", "demo", "--store", db, "--out", other, "--force"))
    assert "is a SQLite database" in err and "even with --force" in err
    assert Path(other).read_bytes()[:16] == before[:16] == b"SQLite format 3\x00"
    assert len(hpdeco.load_study("kept", store=other).trials) == 3


def test_export_replaces_an_existing_file_only_with_force(db: str, tmp_path: Path, capsys) -> None:
    target = tmp_path / "trials.csv"
    target.write_text("precious\n")
    err = one_line_error(*run(capsys, "export", "demo", "--store", db, "--out", str(target)))
    assert "already exists; pass --force" in err
    assert target.read_text() == "precious\n"
    code, out, _ = run(capsys, "export", "demo", "--store", db, "--out", str(target), "--force")
    assert code == 0 and "wrote 3 trials" in out
    assert target.read_text().startswith("number,state,value")


def test_plot_refuses_a_metric_nobody_reported(db: str, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "fig"
    err = one_line_error(
        *run(capsys, "plot", "demo", "--store", db, "--out", str(folder), "--metric", "nosuch")
    )
    assert "--metric 'nosuch'" in err and "loss, val_accuracy" in err
    assert not folder.exists() or not list(folder.iterdir())


def test_plot_replaces_earlier_figures_only_with_force(db: str, tmp_path: Path, capsys) -> None:
    pytest.importorskip("matplotlib")
    folder = str(tmp_path / "fig")
    assert run(capsys, "plot", "demo", "--store", db, "--out", folder)[0] == 0
    err = one_line_error(*run(capsys, "plot", "demo", "--store", db, "--out", folder))
    assert "history.png' already exists; pass --force" in err
    code, out, _ = run(capsys, "plot", "demo", "--store", db, "--out", folder, "--force")
    assert code == 0 and "wrote" in out


# -- a store on a read-only mount ----------------------------------------------------------------


@pytest.fixture
def read_only_store(tmp_path: Path):
    """A store in a folder bind-mounted read-only (root can write anywhere chmod allows)."""
    source, mounted = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    mounted.mkdir()
    small(str(source / "hpdeco.db"))
    done = subprocess.run(["mount", "--bind", str(source), str(mounted)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here (a mount is needed): {done.stderr.decode().strip()}")
    try:
        done = subprocess.run(["mount", "-o", "remount,ro,bind", str(mounted)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {done.stderr.decode().strip()}")
        probe = mounted / "probe"
        with pytest.raises(OSError):
            probe.write_text("x")
        yield str(mounted / "hpdeco.db")
    finally:
        # Lazily: connections the test left open (the command's own) must not block it.
        subprocess.run(["umount", "-l", str(mounted)], check=True)


def test_a_store_on_a_read_only_mount_can_be_read(read_only_store: str, capsys) -> None:
    code, out, err = run(capsys, "studies", "--store", read_only_store)
    assert code == 0 and out.splitlines()[1].split()[:3] == ["demo", "val_accuracy", "(max)"]
    assert "note: " in err and "read as a snapshot" in err and "may be stale" in err
    code, out, _ = run(capsys, "best", "demo", "--store", read_only_store)
    assert code == 0 and "params = {'x': " in out
    with pytest.warns(UserWarning, match="may be stale"):
        study = hpdeco.load_study("demo", store=read_only_store)
    assert len(study.trials) == 3
    assert list(Path(read_only_store).parent.iterdir()) == [Path(read_only_store)]


# -- delete while workers write ------------------------------------------------------------------

WORKER = """
import time, hpdeco
from hpdeco import hp
with hpdeco.search(objective="score", max_trials=1, store={db!r}, study={study!r},
                   verbose=0) as search:
    for trial in search:
        hp.Float("x", 0, 1)
        print("running", flush=True)
        time.sleep(120)
"""


@contextlib.contextmanager
def worker_running(db: str, study: str) -> Iterator[subprocess.Popen[str]]:
    """A worker process in the middle of trial 0 of ``study``, killed on leaving."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER.format(db=db, study=study)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout.readline().strip() == "running"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_delete_refuses_while_a_trial_is_running_unless_forced(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "hpdeco.db")
    with worker_running(db, "live"):
        err = one_line_error(*run(capsys, "delete", "live", "--store", db, "--yes"))
        assert "not deleted" in err and "1 trial(s) running now (trial 0 on " in err
        assert "--force" in err
        assert [s.name for s in hpdeco.load_study("live", store=db).store.studies()] == ["live"]
        code, out, _ = run(capsys, "delete", "live", "--store", db, "--yes", "--force")
        assert code == 0 and "deleted study 'live'" in out


def test_delete_goes_ahead_when_the_running_trial_is_lost(tmp_path: Path, capsys) -> None:
    # A worker killed mid-trial leaves its trial RUNNING; its process is gone, so nothing
    # is running any more and the study may go.
    db = str(tmp_path / "hpdeco.db")
    with worker_running(db, "lost"):
        pass  # started, then killed mid-trial
    trials = hpdeco.load_study("lost", store=db).trials
    assert [t.state.value for t in trials] == ["RUNNING"]
    code, out, _ = run(capsys, "delete", "lost", "--store", db, "--yes")
    assert code == 0 and "deleted study 'lost'" in out


# -- text from the store never acts on the terminal ------------------------------------------------

ESC, NUL, RLO = "\x1b", "\x00", "\u202e"


def test_names_values_and_reasons_are_escaped(tmp_path: Path) -> None:
    db = str(tmp_path / "hpdeco.db")
    name = f"ev{ESC}[2Jil"
    with hpdeco.search(
        objective="score", max_trials=2, store=db, study=name, sampler="grid", verbose=0
    ) as search:
        for trial in search:
            with trial:
                value = hp.Choice(f"p{RLO}gnp.exe", [f"a{NUL}b", "c\nd"])
                trial.report({"score": 0.5, f"m{ESC}]0;title{ESC}\\": 1.0}, 1)
                if value == "c\nd":
                    raise RuntimeError(f"bad{ESC}[31m\nsecond line")
    number = next(t.number for t in search.study.trials if t.state.value == "FAIL")
    outputs = []
    for argv in (
        ["studies"],
        ["trials", name],
        ["best", name],
        ["show", name, str(1 - number)],
        ["show", name, str(number), "--traceback"],
        ["export", name],
        ["export", name, "--format", "json"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "hpdeco", *argv, "--store", db],
            capture_output=True,
            timeout=120,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        text = done.stdout.decode("utf-8")
        for bad in (ESC, NUL, RLO, "\r"):
            assert bad not in text, (argv, text)
        outputs.append(text)
    everything = "\n".join(outputs)
    assert "ev\\x1b[2Jil" in outputs[0]
    assert "p\\u202egnp.exe" in outputs[1]
    traceback = outputs[4][outputs[4].index("traceback:") :]
    assert "bad\\x1b[31m" in traceback and "Traceback (most recent call last):\n" in traceback
    assert "m\\x1b]0;title\\x1b\\" in everything
    import json

    assert json.loads(outputs[6])["study"] == name  # the JSON export stays exact JSON


# -- store paths -------------------------------------------------------------------------------


def test_a_store_path_with_a_tilde_is_in_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    small("~/runs/x.db")
    assert (home / "runs" / "x.db").is_file()
    assert not (work / "~").exists()
    code, out, _ = run(capsys, "studies", "--store", "~/runs/x.db")
    assert code == 0 and out.splitlines()[1].startswith("demo")
    assert len(hpdeco.load_study("demo", store="~/runs/x.db").trials) == 3


def test_an_empty_store_path_is_refused(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="store='' is empty"):
        hpdeco.load_study("demo", store="")
    with pytest.raises(ConfigError, match="store='' is empty"):
        with hpdeco.search(objective="score", store="", verbose=0):
            pass
    err = one_line_error(*run(capsys, "studies", "--store", ""))
    assert "--store '' is empty" in err
    assert list(tmp_path.iterdir()) == []


def test_a_file_uri_is_refused_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"file:{tmp_path}/sub/x.db?mode=rwc"
    with pytest.raises(ConfigError, match="is a SQLite URI"):
        with hpdeco.search(objective="score", store=uri, verbose=0):
            pass
    with pytest.raises(ConfigError, match="is a SQLite URI"):
        hpdeco.load_study("demo", store=uri)
    err = one_line_error(*run(capsys, "studies", "--store", uri))
    assert "is a SQLite URI" in err
    assert list(tmp_path.iterdir()) == []


# -- a damaged store is one line ---------------------------------------------------------------


def test_a_file_marked_as_a_store_without_tables(tmp_path: Path, capsys) -> None:
    path = tmp_path / "hpdeco.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 1")
    with pytest.raises(StoreError, match="marked as an hpdeco store but lacks its tables"):
        hpdeco.load_study("demo", store=str(path))
    for command in (["studies"], ["trials", "demo"], ["delete", "demo", "--yes"]):
        err = one_line_error(*run(capsys, *command, "--store", str(path)))
        assert "lacks its tables (metrics, params, studies, trials)" in err  # schema 1's


def test_a_store_whose_tables_were_altered_is_one_line(db: str, capsys) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DROP INDEX trials_by_finish")
        conn.execute("ALTER TABLE trials DROP COLUMN finish_seq")
    # (`studies` reads no finish_seq since best ties go by trial number: it still works.)
    for command in (["trials", "demo"], ["best", "demo"]):
        err = one_line_error(*run(capsys, *command, "--store", db))
        assert f"store={db!r}" in err and "finish_seq" in err


# -- what best and show say ---------------------------------------------------------------------


def test_best_with_a_value_set_by_hand_says_so(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "hpdeco.db")
    with hpdeco.search(objective="val_accuracy", max_trials=1, store=db, verbose=0) as s:
        for trial in s:
            hp.Float("x", 0, 1)
            for epoch in (1, 2, 3):
                trial.report({"val_accuracy": 0.5 + epoch / 100, "loss": 1.0}, epoch)
            trial.value = 0.9459
    code, out, _ = run(capsys, "best", s.study.name, "--store", db)
    assert code == 0
    assert (
        "trial 0: val_accuracy = 0.9459 (max), set by the trial itself (not a reported "
        "epoch's value; 3 epochs reported)"
    ) in out
    assert " of 3" not in out


def test_show_a_pruned_trial_stopped_where_its_value_is(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "hpdeco.db")
    with hpdeco.search(objective="val_accuracy", max_trials=1, store=db, verbose=0) as s:
        for trial in s:
            with trial:
                hp.Float("x", 0, 1)
                # The last two epochs report the same accuracy; it was stopped after the 4th.
                for epoch, value in enumerate([0.2, 0.5, 0.5, 0.5], start=1):
                    trial.report(value, epoch)
                raise hpdeco.TrialPruned()
    code, out, _ = run(capsys, "show", s.study.name, "0", "--store", db)
    assert code == 0
    assert "val_accuracy = 0.5, when it was stopped after epoch 4" in out
    rows = out[out.index("per epoch") :].splitlines()[2:]
    assert [r.split()[0] for r in rows] == ["1", "2", "3", "4*"]
