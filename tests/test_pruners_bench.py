"""The pruning benchmark runs (a tiny budget); its figures come from full runs, not from here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from conftest import ROOT, run_bench

CURVES = ROOT / "bench" / "data" / "digits_curves.csv"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_pruning", ROOT / "bench" / "pruning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.bench
@pytest.mark.skipif(not CURVES.exists(), reason="bench/data/digits_curves.csv is not there")
def test_pruning_benchmark_quick_run(tmp_path: Path) -> None:
    out = tmp_path / "pruning.json"
    done = run_bench("pruning.py", "--quick", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "| pruner | epochs vs no pruning |" in done.stdout
    report = json.loads(out.read_text())
    assert (report["orders"], report["configs"], report["epochs"]) == (3, 40, 20)
    rows = report["results"]
    assert rows["none"]["epochs_fraction"] == 1.0
    assert rows["none"]["delta_vs_none_mean"] == 0.0
    for name in ("median (default)", "asha", "hyperband"):
        assert 0 < rows[name]["epochs_fraction"] < 1, name
        assert len(rows[name]["per_order"]["best_final"]) == 3
    try:
        import optuna  # noqa: F401
    except ImportError:
        assert any("optuna is not installed" in n for n in report["notes"])
    else:
        assert "optuna median" in rows


def test_the_replay_ranks_as_the_search_does() -> None:
    bench = _bench()
    curves = {
        0: {
            1: {"loss": 1, "accuracy": 0.5, "val_loss": 1, "val_accuracy": 0.5},
            2: {"loss": 1, "accuracy": 0.5, "val_loss": 1, "val_accuracy": 0.6},
        },
        1: {
            1: {"loss": 1, "accuracy": 0.5, "val_loss": 1, "val_accuracy": 0.7},
            2: {"loss": 1, "accuracy": 0.5, "val_loss": 1, "val_accuracy": 0.4},
        },
    }
    outcome = bench.replay_hpdeco(bench.pruners.NoPruner, [0, 1], curves)
    assert outcome == [(0, "COMPLETE", 0.6, 2), (1, "COMPLETE", 0.7, 2)]
    assert bench.rank_best(outcome) == 1  # by the best epoch, as trial_value="best"
    assert bench.rank_best(outcome, budget=3) == 0  # trial 1 is cut off by the budget
