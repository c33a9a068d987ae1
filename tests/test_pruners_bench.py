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
    assert (rows["none"]["found_best"], rows["none"]["regret_mean"]) == (3, 0.0)
    for name in ("median (default)", "asha", "hyperband"):
        assert 0 < rows[name]["epochs_fraction"] < 1, name
        assert len(rows[name]["per_order"]["best_final"]) == 3
        assert 0 <= rows[name]["found_best"] <= 3
        assert rows[name]["regret_mean"] >= 0 and rows[name]["budget_regret_mean"] >= 0
    try:
        import optuna  # noqa: F401
    except ImportError:
        assert any("optuna is not installed" in n for n in report["notes"])
    else:
        assert "optuna median" in rows
        assert report["goals"]["median (default): epochs <= optuna median"] in (True, False)


def _write_table(path: Path, curves: dict[int, list[float]]) -> None:
    """A recorded table in bench/data's long format: one row per (config, epoch)."""
    lines = ["config_id,epoch,loss,accuracy,val_loss,val_accuracy"]
    for cid, curve in curves.items():
        lines += [f"{cid},{e},1,0.5,1,{v}" for e, v in enumerate(curve, start=1)]
    path.write_text("\n".join(lines) + "\n")


def test_regret_and_found_the_best_are_against_the_table_and_no_pruning() -> None:
    bench = _bench()
    curves = {
        cid: {e: {"loss": 1, "accuracy": 0.5, "val_loss": 1, "val_accuracy": v} for e, v in c}
        for cid, c in {
            0: [(1, 0.5), (2, 0.9)],  # the best at the end
            1: [(1, 0.6), (2, 0.7)],
        }.items()
    }
    no_pruning = [(0, "COMPLETE", 0.9, 2), (1, "COMPLETE", 0.7, 2)]
    lost_it = [(0, "PRUNED", None, 1), (1, "COMPLETE", 0.7, 2)]
    row = bench.summarise([no_pruning, lost_it], curves, budget=3, reference=[0.9, 0.9])
    assert row["found_best"] == 1
    assert row["regret_mean"] == pytest.approx((0.0 + 0.2) / 2)
    # within 3 epochs: the first order finishes only config 0 (0.9), the second config 1
    assert row["budget_regret_mean"] == pytest.approx((0.0 + 0.2) / 2)
    assert row["epochs_fraction"] == pytest.approx((4 / 4 + 3 / 4) / 2)


@pytest.mark.bench
def test_the_benchmark_replays_another_table_given_by_curves(tmp_path: Path) -> None:
    table = tmp_path / "tiny_curves.csv"
    _write_table(table, {c: [0.1 * c + 0.01 * e for e in range(1, 5)] for c in range(8)})
    out = tmp_path / "tiny.json"
    done = run_bench(
        "pruning.py", "--curves", str(table), "--orders", "2", "--only", "median", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["curves"].endswith("tiny_curves.csv")
    assert (report["orders"], report["configs"], report["epochs"]) == (2, 8, 4)
    # config 7 is the best at every epoch: no pruner here loses it
    assert report["results"]["median (default)"]["found_best"] == 2


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
