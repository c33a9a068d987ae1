"""The sampler benchmark runs end to end (``--quick``); its figures come from full runs."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from conftest import run_bench

pytestmark = pytest.mark.bench


def _installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def test_sampler_benchmark_quick_run(tmp_path: Path) -> None:
    out = tmp_path / "samplers.json"
    done = run_bench("samplers.py", "--quick", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "| task | trials | auto | tpe | gp | sobol | random" in done.stdout
    assert "| 40 | hpdeco auto, SQLite file | 1 |" in done.stdout
    assert "within 5%: the default's median regret <= 1.05 x the best peer's" in done.stdout
    report = json.loads(out.read_text())
    samplers = {r["sampler"] for r in report["regret"]}
    expected = {"auto", "tpe", "gp", "sobol", "random"}
    if _installed("optuna"):
        expected |= {"optuna-tpe", "optuna-random"}
        if _installed("torch"):
            expected.add("optuna-gp")
        else:
            assert any("optuna-gp is left out" in n for n in report["meta"]["notes"])
        assert "mixed, 25 trials: auto" in done.stdout  # against optuna-tpe
        assert {t["library"] for t in report["timing"]} == {"hpdeco", "optuna"}
    else:
        assert any("optuna is not installed" in n for n in report["meta"]["notes"])
    assert samplers == expected
    runs = report["regret"]
    assert len(runs) == len(expected) * 2 * 3  # samplers x tasks (branin, mixed) x seeds
    for run in runs:
        regret = run["regret"]
        assert len(regret) == 25
        assert all(r >= -1e-9 for r in regret), run  # nothing beats the known optimum
        assert all(b <= a for a, b in itertools.pairwise(regret)), run
    for timing in report["timing"]:
        assert timing["trials"] == 40 and timing["ms_per_trial"] > 0


def test_committed_results_print_with_the_within_5_percent_verdicts() -> None:
    """``--load`` merges the committed runs (the default, the other samplers, optuna-gp
    apart) into one table with a verdict per cell and the per-checkpoint summary."""
    results = Path(__file__).resolve().parent.parent / "bench" / "results"
    files = [
        "samplers.json",
        "samplers-auto-issue15f.json",
        "samplers-optuna-gp.json",
        "samplers-optuna-gp-seeds10-19.json",
    ]
    done = run_bench("samplers.py", "--load", *(str(results / f) for f in files))
    assert done.returncode == 0, done.stderr
    assert "| auto within 5% of best peer |" in done.stdout
    assert "seeds per sampler: auto 20" in done.stdout
    assert "optuna-gp 20" in done.stdout  # its two runs, seeds 0-9 and 10-19, merged
    for n in (50, 100):
        assert f"{n} trials, tuned tasks: auto within 5% of the best peer on" in done.stdout
    assert "| mixed | 100 |" in done.stdout and "mixed, 100 trials: auto beats optuna-tpe" in (
        done.stdout
    )
