"""Progress while a search runs: the bar's counts and the one-line outcome of each trial."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

import hpdeco
from hpdeco import hp

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import sys, hpdeco
from hpdeco import hp
with hpdeco.search(objective="loss", max_trials=4, store=sys.argv[1], study="p", seed=0,
                   sampler="random", verbose=int(sys.argv[2])) as search:
    for trial in search:
        with trial:
            x = hp.Float("x", 0.0, 1.0)
            if trial.number == 1:
                raise ValueError("bad batch")
            trial.report(x + 1.0, step=1)
            trial.report(x, step=2)
            if trial.number == 2:
                raise hpdeco.TrialPruned()
"""


def run(tmp_path: Path, verbose: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "p.db"), str(verbose)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_the_bar_counts_finished_pruned_and_failed(tmp_path: Path) -> None:
    done = run(tmp_path, 1)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.replace("\r", "\n").strip().splitlines()
    final = [ln for ln in lines if "trial/s" in ln][-1]  # the bar's last state
    assert "4/4" in final and "pruned=1 failed=1" in final and "best=" in final
    assert lines[-1] == (  # then one line says why the search stopped
        "hpdeco: stopped after 4 trials this run: study 'p' has 4 of max_trials=4; "
        "raise max_trials to run more"
    )
    # verbose=1 logs failures only
    assert "hpdeco: trial 1 FAIL (ValueError: bad batch)" in done.stderr
    assert "trial 0 COMPLETE" not in done.stderr


def test_verbose_2_prints_one_line_per_trial_without_logging_set_up(tmp_path: Path) -> None:
    done = run(tmp_path, 2)
    assert done.returncode == 0, done.stderr
    lines = [
        ln for ln in done.stderr.replace("\r", "\n").splitlines() if ln.startswith("hpdeco: trial")
    ]
    assert [ln.split()[2:4] for ln in lines] == [
        ["0", "COMPLETE"],
        ["1", "FAIL"],
        ["2", "PRUNED"],
        ["3", "COMPLETE"],
    ]
    assert "at step 2" in lines[0] and "new best" in lines[0] and "'x': " in lines[0]
    assert "(ValueError: bad batch)" in lines[1]
    assert "loss=" in lines[2] and "at step 2" in lines[2]


def test_verbose_0_is_silent(tmp_path: Path) -> None:
    done = run(tmp_path, 0)
    assert done.returncode == 0 and done.stderr == ""


def test_the_lines_go_through_the_hpdeco_logger(
    store: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hpdeco")
    with hpdeco.search(objective="loss", max_trials=2, store=store, verbose=2) as search:
        for trial in search:
            with trial:
                if trial.number == 1:
                    raise RuntimeError("out of memory")
                trial.report(hp.Float("x", 0.0, 1.0), step=1)
    records = [r for r in caplog.records if r.name == "hpdeco"]
    assert [r.levelno for r in records] == [logging.INFO, logging.WARNING, logging.INFO]
    assert records[0].getMessage().startswith("trial 0 COMPLETE loss=")
    assert records[1].getMessage().startswith("trial 1 FAIL (RuntimeError: out of memory)")
    assert records[2].getMessage().startswith("stopped after 2 trials this run")
