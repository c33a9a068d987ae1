"""Every example script runs, with a tiny budget, as a user would run it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT
from conftest import run_example as run

import hpdeco
from hpdeco import TrialState

EXAMPLES = ROOT / "examples"


@pytest.mark.keras
def test_quickstart_runs_and_resumes(tmp_path: Path) -> None:
    store = str(tmp_path / "q.db")
    first = run("quickstart.py", "--trials", "2", "--epochs", "2", "--store", store, "--seed", "0")
    assert first.returncode == 0, first.stderr
    assert "units_{i}" in first.stdout  # the space table, before any trial
    assert "best: trial" in first.stdout
    second = run("quickstart.py", "--trials", "3", "--epochs", "2", "--store", store)
    assert second.returncode == 0, second.stderr
    study = hpdeco.load_study("quickstart", store=store)
    assert [t.number for t in study.trials] == [0, 1, 2]  # resumed, not restarted
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert all(len(t.intermediate_values) == 2 for t in study.trials)
    third = run("quickstart.py", "--trials", "3", "--epochs", "2", "--store", store)
    assert "nothing to do: study 'quickstart' already has 3 trials" in third.stderr
    assert "run it with --trials N, N above 3, to go on" in third.stdout


def test_every_example_has_a_test() -> None:
    tested = {"quickstart.py"}
    # the others are run by other test files: run("name.py", ...), run_example("name.py",
    # ...) or a path ending in "examples" / "name.py"
    for path in Path(__file__).parent.glob("test_*.py"):
        text = path.read_text()
        tested |= set(re.findall(r'run(?:_example)?\(\s*"(\w+\.py)"', text))
        tested |= set(re.findall(r'"examples"\s*/\s*"(\w+\.py)"', text))
    assert {p.name for p in EXAMPLES.glob("*.py")} <= tested
