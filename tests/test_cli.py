"""The ``hpdeco`` command, driven on stores written by real (tiny) searches."""

from __future__ import annotations

import ast
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, demo_search
from conftest import run_cli as run

import hpdeco
from hpdeco import TrialState
from hpdeco.cli import main


def build(store: str, study: str = "demo", trials: int = 8) -> hpdeco.Search:
    """A real search with report(): trial 2 fails, trials 4 and 6 are pruned at step 2,
    ``rate`` exists only when ``dropout`` is drawn (a conditional parameter)."""
    return demo_search(store, study=study, trials=trials)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("cli") / "runs" / "hpdeco.db")
    build(path)
    build(path, study="other", trials=1)
    return path


def cli(*argv: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The command as a user runs it, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "hpdeco", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def data_lines(out: str) -> list[list[str]]:
    """The rows of the table printed after the header line and the column headings."""
    lines = out.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("#"))
    return [line.split() for line in lines[start + 1 :]]


# -- studies ----------------------------------------------------------------------------------


def test_studies_lists_each_study_with_counts_and_best(db: str, capsys) -> None:
    code, out, _ = run(capsys, "studies", "--store", db)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["study", "objective", "trials"]
    demo = next(line for line in lines if line.startswith("demo"))
    best = hpdeco.load_study("demo", store=db).best
    assert demo.split()[1:9] == [
        "val_accuracy",
        "(max)",
        "8",
        "5",
        "2",
        "1",
        "0",
        f"{best.value:.6g}",
    ]
    assert f"(#{best.number})" in demo
    assert any(line.startswith("other") for line in lines)


def test_studies_on_a_store_without_studies(tmp_path: Path, capsys) -> None:
    from hpdeco.store import open_store

    open_store(str(tmp_path / "empty.db")).close()
    code, out, _ = run(capsys, "studies", "--store", str(tmp_path / "empty.db"))
    assert code == 0 and "holds no study yet" in out


def test_the_default_store_is_hpdeco_db_in_the_current_folder(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(Path(db).parent)
    code, out, _ = run(capsys, "studies")
    assert code == 0 and "demo" in out
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "studies")
    assert code == 1 and "no store at 'hpdeco.db'" in err
    assert not (tmp_path / "hpdeco.db").exists()


# -- trials -----------------------------------------------------------------------------------


def test_trials_table_has_every_trial_and_parameter_columns(db: str, capsys) -> None:
    code, out, _ = run(capsys, "trials", "demo", "--store", db)
    assert code == 0
    assert out.splitlines()[0] == (
        "study 'demo': val_accuracy (max), 8 trials (COMPLETE 5, PRUNED 2, FAIL 1)"
    )
    header = out.splitlines()[1].split()
    assert header == [
        "#",
        "state",
        "value",
        "epochs",
        "duration",
        "lr",
        "units",
        "activation",
        "dropout",
        "rate",
        "note",
    ]
    rows = data_lines(out)
    assert [int(r[0]) for r in rows] == list(range(8))
    states = {int(r[0]): r[1] for r in rows}
    assert states[2] == "FAIL" and states[4] == states[6] == "PRUNED"
    epochs = {int(r[0]): r[3] for r in rows}
    assert epochs[0] == "4" and epochs[4] == "2" and epochs[2] == "0"
    assert "RuntimeError: diverged" in out


def test_trials_state_filter_sort_and_limit(db: str, capsys) -> None:
    study = hpdeco.load_study("demo", store=db)
    complete = sorted(
        (t for t in study.trials if t.state is TrialState.COMPLETE), key=lambda t: -t.value
    )
    code, out, _ = run(capsys, "trials", "demo", "--store", db, "--state", "pruned")
    assert code == 0 and {r[1] for r in data_lines(out)} == {"PRUNED"}
    code, out, _ = run(capsys, "trials", "demo", "--store", db, "--state", "PRUNED,fail")
    assert sorted(int(r[0]) for r in data_lines(out)) == [2, 4, 6]
    code, out, _ = run(
        capsys,
        "trials",
        "demo",
        "--store",
        db,
        "--state",
        "COMPLETE",
        "--sort",
        "value",
        "--limit",
        "3",
    )
    assert [int(r[0]) for r in data_lines(out)] == [t.number for t in complete[:3]]
    code, out, _ = run(
        capsys, "trials", "demo", "--store", db, "--sort", "number", "--reverse", "--limit", "2"
    )
    assert [int(r[0]) for r in data_lines(out)] == [7, 6]
    code, out, _ = run(capsys, "trials", "demo", "--store", db, "--sort", "lr")
    by_lr = sorted(study.trials, key=lambda t: t.params["lr"])
    assert [int(r[0]) for r in data_lines(out)] == [t.number for t in by_lr]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--state", "done"], "--state 'DONE' is not a trial state"),
        (["--sort", "speed"], "--sort 'speed' is not a column"),
    ],
)
def test_trials_rejects_bad_options_in_one_line(db: str, capsys, argv, message) -> None:
    code, out, err = run(capsys, "trials", "demo", "--store", db, *argv)
    assert code == 1 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


# -- best and show ----------------------------------------------------------------------------


def test_best_prints_value_parameters_and_a_python_dict(db: str, capsys) -> None:
    best = hpdeco.load_study("demo", store=db).best
    code, out, _ = run(capsys, "best", "demo", "--store", db)
    assert code == 0
    assert f"trial {best.number}: val_accuracy = {best.value:.8g} (max), at epoch 4 of 4" in out
    line = next(x for x in out.splitlines() if x.startswith("params = "))
    assert ast.literal_eval(line.removeprefix("params = ")) == dict(best.params)
    assert "weights: none kept" in out  # report() trials keep no Keras weights


def test_best_without_a_complete_trial_is_an_error(tmp_path: Path, capsys) -> None:
    store = str(tmp_path / "h.db")
    with hpdeco.search(objective="loss", max_trials=1, store=store, study="bad", verbose=0) as s:
        for trial in s:
            with trial:
                raise ValueError("nope")
    code, _, err = run(capsys, "best", "bad", "--store", store)
    assert code == 1 and "has no COMPLETE trial yet (FAIL 1)" in err


def test_show_prints_one_trial_epoch_by_epoch(db: str, capsys) -> None:
    record = next(t for t in hpdeco.load_study("demo", store=db).trials if t.number == 4)
    code, out, _ = run(capsys, "show", "demo", "4", "--store", db)
    assert code == 0
    assert out.startswith("trial 4 of study 'demo': PRUNED")
    assert "when it was stopped" in out
    table = out[out.index("per epoch") :].splitlines()[1:]
    assert table[0].split() == ["epoch", "val_accuracy", "loss"]  # objective first
    assert [row.split()[0] for row in table[1:]] == ["1", "2*"]
    assert float(table[2].split()[1]) == pytest.approx(record.metrics["val_accuracy"][2], 1e-5)
    for name, value in record.params.items():
        assert f"{name}" in out and repr(value) in out


def test_show_a_failed_trial_and_its_traceback(db: str, capsys) -> None:
    code, out, _ = run(capsys, "show", "demo", "2", "--store", db)
    assert code == 0 and "reason: RuntimeError: diverged" in out and "--traceback" in out
    assert "Traceback" not in out
    code, out, _ = run(capsys, "show", "demo", "2", "--store", db, "--traceback")
    assert "Traceback (most recent call last)" in out and 'raise RuntimeError("diverged")' in out


def test_show_an_unknown_trial(db: str, capsys) -> None:
    code, _, err = run(capsys, "show", "demo", "99", "--store", db)
    assert code == 1 and "has no trial 99 (trial numbers: 0 to 7)" in err


# -- export -----------------------------------------------------------------------------------


def test_export_csv_to_stdout_parses(db: str, capsys) -> None:
    study = hpdeco.load_study("demo", store=db)
    code, out, _ = run(capsys, "export", "demo", "--store", db)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["number"]) for r in rows] == list(range(8))
    for row, record in zip(rows, study.trials, strict=True):
        assert row["state"] == record.state.value
        if record.value is None:
            assert row["value"] == ""
        else:
            assert float(row["value"]) == pytest.approx(record.value)
        assert float(row["params_lr"]) == pytest.approx(record.params["lr"])
        assert row["params_rate"] == (
            "" if "rate" not in record.params else str(record.params["rate"])
        )
        assert float(row["duration_s"]) >= 0
    assert rows[2]["reason"] == "RuntimeError: diverged"


def test_export_json_to_a_file_with_metrics(db: str, tmp_path: Path, capsys) -> None:
    target = tmp_path / "out" / "trials.json"
    code, out, _ = run(
        capsys,
        "export",
        "demo",
        "--store",
        db,
        "--out",
        str(target),
        "--metrics",
        "--state",
        "COMPLETE,PRUNED",
    )
    assert code == 0 and f"wrote 7 trials of study 'demo' to {target} (json)" in out
    data = json.loads(target.read_text())
    assert (data["study"], data["objective"], data["direction"]) == ("demo", "val_accuracy", "max")
    assert {t["state"] for t in data["trials"]} == {"COMPLETE", "PRUNED"}
    pruned = next(t for t in data["trials"] if t["number"] == 4)
    assert [h["step"] for h in pruned["history"]] == [1, 2]
    assert set(pruned["history"][0]) == {"step", "val_accuracy", "loss"}
    assert pruned["params"]["units"] in (16, 32, 48, 64)


def test_export_format_is_inferred_from_the_extension_and_checked(
    db: str, tmp_path: Path, capsys
) -> None:
    code, _, _ = run(capsys, "export", "demo", "--store", db, "--out", str(tmp_path / "t.json"))
    assert code == 0 and json.loads((tmp_path / "t.json").read_text())["trials"]
    code, _, _ = run(capsys, "export", "demo", "--store", db, "--out", str(tmp_path / "t.csv"))
    assert code == 0 and (tmp_path / "t.csv").read_text().startswith("number,state,value")
    code, _, err = run(capsys, "export", "demo", "--store", db, "--metrics")
    assert code == 1 and "--metrics" in err and "--format json" in err
    with pytest.raises(SystemExit) as exc:
        main(["export", "demo", "--store", db, "--format", "xml"])
    assert exc.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


# -- plot -------------------------------------------------------------------------------------


def test_plot_writes_every_png(db: str, tmp_path: Path, capsys) -> None:
    code, out, _ = run(capsys, "plot", "demo", "--store", db, "--out", str(tmp_path / "fig"))
    assert code == 0
    names = {"history", "learning_curves", "params", "parallel_coordinates", "importance"}
    for name in names:
        png = tmp_path / "fig" / f"{name}.png"
        assert f"wrote {png}" in out
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_plot_a_study_with_too_few_trials_skips_importance(db: str, tmp_path: Path, capsys) -> None:
    code, out, _ = run(capsys, "plot", "other", "--store", db, "--out", str(tmp_path))
    assert code == 0
    assert "skipped importance: study 'other' has 1 COMPLETE trial(s)" in out
    assert (tmp_path / "history.png").exists() and not (tmp_path / "importance.png").exists()


def test_plot_without_matplotlib_says_how_to_install_it(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    code, _, err = run(capsys, "plot", "demo", "--store", db, "--out", str(tmp_path))
    assert code == 1
    assert err.strip() == (
        'hpdeco plot: error: plots need matplotlib: pip install "hpdeco[plot]" '
        "(or pip install matplotlib)"
    )


# -- delete -----------------------------------------------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> str:
    path = str(tmp_path / "d.db")
    build(path, study="gone", trials=2)
    build(path, study="kept", trials=1)
    return path


def names(store: str) -> list[str]:
    from hpdeco.store import open_store

    return [s.name for s in open_store(store, read_only=True).studies()]


def test_delete_with_yes(small: str, capsys) -> None:
    code, out, _ = run(capsys, "delete", "gone", "--store", small, "--yes")
    assert code == 0 and "deleted study 'gone' (2 trials: COMPLETE 2)" in out
    assert names(small) == ["kept"]


@pytest.mark.parametrize(
    ("answer", "deleted"), [("y\n", True), ("YES\n", True), ("n\n", False), ("\n", False)]
)
def test_delete_asks_first(small: str, answer: str, deleted: bool) -> None:
    done = cli("delete", "gone", "--store", small, stdin=answer)
    assert "delete study 'gone' (2 trials: COMPLETE 2)" in done.stderr
    assert "cannot be undone. [y/N]" in done.stderr
    assert done.returncode == (0 if deleted else 1)
    assert names(small) == (["kept"] if deleted else ["gone", "kept"])


def test_delete_without_input_deletes_nothing(small: str, monkeypatch, capsys) -> None:
    done = cli("delete", "gone", "--store", small)  # stdin is /dev/null: end of input at once
    assert done.returncode == 1
    assert "not deleted: no answer could be read; pass --yes" in done.stderr
    assert "Traceback" not in done.stderr
    monkeypatch.setattr(sys, "stdin", None)  # pythonw, or a closed descriptor 0
    code, _, err = run(capsys, "delete", "gone", "--store", small)
    assert code == 1 and "pass --yes" in err
    assert names(small) == ["gone", "kept"]


def test_delete_removes_the_kept_weights_folder(small: str, capsys) -> None:
    from hpdeco.weights import weights_folder

    study = hpdeco.load_study("gone", store=small)
    folder = weights_folder(study)
    folder.mkdir(parents=True)
    (folder / "trial-0.npz").write_bytes(b"x")
    code, out, _ = run(capsys, "delete", "gone", "--store", small, "-y")
    assert code == 0 and f"deleted its kept weights in {folder}" in out
    assert not folder.exists()


def test_delete_an_unknown_study_or_store(small: str, tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "delete", "nope", "--store", small, "--yes")
    assert code == 1 and "study='nope' is not in store" in err
    missing = tmp_path / "nothing.db"
    code, _, err = run(capsys, "delete", "gone", "--store", str(missing), "--yes")
    assert code == 1 and "no store at" in err
    assert not missing.exists()


# -- errors, help, the console script ---------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["trials", "nope"], 1, "study='nope' is not in store"),
        (["best", "demo", "--store", "{missing}"], 1, "no store at"),
        (["show", "demo", "two"], 2, "'two' is not a trial number"),
        (["trials", "demo", "--limit", "-3"], 2, "'-3' must be 1 or more"),
        (["export", "demo", "--out", "/proc/nope/x.csv"], 1, "cannot write --out"),
        (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
        (["trials"], 2, "the following arguments are required: STUDY"),
    ],
)
def test_errors_are_one_line_without_traceback(
    db: str, tmp_path: Path, argv, status, message
) -> None:
    argv = [a.replace("{missing}", str(tmp_path / "missing.db")) for a in argv]
    if "--store" not in argv and argv[0] != "frobnicate":
        argv += ["--store", db]
    done = cli(*argv)
    assert done.returncode == status, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "missing.db").exists()  # a read never creates a store


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path, capsys) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("hello")
    code, _, err = run(capsys, "studies", "--store", str(bogus))
    assert code == 1 and "is not a SQLite database" in err
    assert bogus.read_text() == "hello"


def test_reading_commands_do_not_change_the_store(db: str, tmp_path: Path, capsys) -> None:
    before = {p.name: p.read_bytes() for p in Path(db).parent.glob("hpdeco.db*")}
    for argv in (
        ["studies"],
        ["trials", "demo"],
        ["best", "demo"],
        ["show", "demo", "1"],
        ["export", "demo"],
    ):
        assert run(capsys, *argv, "--store", db)[0] == 0
    after = {p.name: p.read_bytes() for p in Path(db).parent.glob("hpdeco.db*")}
    assert after == before


@pytest.mark.parametrize(
    "command", ["studies", "trials", "best", "show", "export", "plot", "tensorboard", "delete"]
)
def test_every_command_has_help_with_store(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: hpdeco {command}" in out and "--store PATH" in out


def test_no_command_prints_help(capsys) -> None:
    assert main([]) == 2
    assert "studies" in capsys.readouterr().err


def test_the_console_script_and_python_m(db: str) -> None:
    script = Path(sys.executable).with_name("hpdeco")
    if not script.exists():  # pragma: no cover - not installed with pip install -e
        pytest.fail(f"{script} is missing: pip install -e . declares it in pyproject.toml")
    done = subprocess.run(
        [str(script), "best", "demo", "--store", db], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "params = {" in done.stdout
    done = cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"hpdeco {hpdeco.__version__}"


def test_output_piped_into_a_closed_reader(db: str) -> None:
    """`hpdeco export STUDY | head -1` ends quietly when the reader has gone."""
    script = (
        "import os, sys\n"
        "from hpdeco.cli import main\n"
        "r, w = os.pipe()\n"
        "os.close(r)\n"  # the reader is gone: every write fails with EPIPE
        "os.dup2(w, sys.stdout.fileno())\n"
        f"sys.exit(main(['export', 'demo', '--store', {db!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0
    assert done.stderr == ""


def test_the_command_reads_a_postgres_store(postgres_url: str, capsys) -> None:
    build(postgres_url, trials=4)
    code, out, _ = run(capsys, "studies", "--store", postgres_url)
    assert code == 0 and out.splitlines()[1].startswith("demo")
    code, out, _ = run(capsys, "trials", "demo", "--store", postgres_url, "--state", "FAIL")
    assert code == 0 and [r[0] for r in data_lines(out)] == ["2"]
    code, out, _ = run(capsys, "export", "demo", "--store", postgres_url, "--format", "json")
    assert code == 0 and len(json.loads(out)["trials"]) == 4
    code, _, err = run(capsys, "best", "nope", "--store", postgres_url)
    assert code == 1 and "study='nope' is not in store" in err
