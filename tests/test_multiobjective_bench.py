"""The multi-objective benchmark runs end to end (``--quick``); its figures come from full
runs (bench/results/multiobjective*.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_bench

pytestmark = pytest.mark.bench


def test_multiobjective_benchmark_quick_run(tmp_path: Path) -> None:
    out = tmp_path / "multiobjective.json"
    done = run_bench("multiobjective.py", "--quick", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "| problem | trials | best possible | default | nsga2 | motpe | random" in done.stdout
    report = json.loads(out.read_text())
    best = report["meta"]["best_possible"]
    runs = report["volume"]
    assert {r["problem"] for r in runs} == {"zdt1", "dtlz2"}
    for run in runs:
        # The front after 60 trials holds the one after 50: its volume cannot shrink, and
        # nothing beats the true front.
        assert 0 < run["hv"]["50"] <= run["hv"]["60"] <= best[run["problem"]], run
    assert {t["store"] for t in report["timing"]} == {"memory", "sqlite"}
    assert all(t["ms_per_trial"] > 0 for t in report["timing"])
    keras = {r["mode"]: r for r in report["keras"]}
    assert {"hpdeco-median", "hpdeco-none"} <= set(keras)
    for run in keras.values():
        assert 0 < run["hv"] < 0.5  # accuracy above 0.5, and no model has no parameters
        assert run["pruned"] * 1 <= run["trials"]
    # Without pruning every trial trains every epoch.
    assert keras["hpdeco-none"]["epochs_used"] == 4 * 2 and keras["hpdeco-none"]["pruned"] == 0
    # The pruned search goes on past the others' 4 trials (--keras-extra 2 in --quick); the
    # same-trials figures read its first 4 only.
    assert len(keras["hpdeco-median"]["path"]) == 4 + 2
    assert len(keras["hpdeco-none"]["path"]) == 4
    first = keras["hpdeco-median"]["path"][:4]
    assert keras["hpdeco-median"]["epochs_used"] == sum(p[0] for p in first)
    assert "At equal hypervolume" in done.stdout
    replay = report["replay"]
    assert {r["pruner"] for r in replay} == {"median", "none"}
    for run in replay:
        assert 0 < run["hv"] < 0.5 and 0 < run["epochs_used"] <= run["epochs_total"]
    # No pruning replays every recorded epoch; the median pruner stops some trials early.
    assert all(r["epochs_used"] == r["epochs_total"] for r in replay if r["pruner"] == "none")
    assert any(r["epochs_used"] < r["epochs_total"] for r in replay if r["pruner"] == "median")
