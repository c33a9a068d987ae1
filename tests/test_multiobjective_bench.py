"""The multi-objective benchmark runs end to end (``--quick``); its figures come from full
runs (bench/results/multiobjective*.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

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
    # The unpruned search keeps its whole curves, which the ceiling table replays.
    assert [len(c) for _, c in keras["hpdeco-none"]["curves"]] == [2] * 4
    assert "knowing the end" in done.stdout
    replay = report["replay"]
    assert {r["pruner"] for r in replay} == {"median", "none"}
    for run in replay:
        assert 0 < run["hv"] < 0.5 and 0 < run["epochs_used"] <= run["epochs_total"]
    # No pruning replays every recorded epoch; the median pruner stops some trials early.
    assert all(r["epochs_used"] == r["epochs_total"] for r in replay if r["pruner"] == "none")
    assert any(r["epochs_used"] < r["epochs_total"] for r in replay if r["pruner"] == "median")


def _bench_module() -> Any:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import multiobjective

    return multiobjective


def test_the_oracle_stops_at_the_first_epoch_what_ends_dominated_or_adds_a_sliver() -> None:
    mo = _bench_module()
    big = mo.LARGEST // 2
    items = [
        (big, [0.6, 0.90]),  # first: nothing to compare with, runs
        (big + 10, [0.7, 0.80]),  # bigger and worse: ends dominated
        (big // 2, [0.5, 0.85]),  # smaller: on the front
        (big + 20, [0.5, 0.9001]),  # a hair better than the first, a hair bigger
    ]
    used, points = mo.oracle_epochs(items, 0.0)
    assert used == 2 + 1 + 2 + 2
    assert sorted(points) == sorted(
        (-max(c), s / mo.LARGEST) for s, c in (items[0], items[2], items[3])
    )
    # The last one adds far under 0.1% of the volume: a sliver, stopped too.
    used, points = mo.oracle_epochs(items, 0.001)
    assert used == 2 + 1 + 2 + 1 and len(points) == 2
    # Until two trials have COMPLETEd nothing is stopped: the dominated second one runs.
    used, points = mo.oracle_epochs(items, 0.0, startup=2)
    assert used == 2 + 2 + 2 + 2 and len(points) == 4


def test_the_ceiling_table_replays_the_default_pruner_on_the_unpruned_trials() -> None:
    mo = _bench_module()
    curves = [
        (1000 * (i % 5 + 1), [0.5 + (0.05 * i * e / 4) % 0.45 for e in range(1, 5)])
        for i in range(12)
    ]
    path = [(4, True, max(c), s / mo.LARGEST) for s, c in curves]
    row = {"mode": "hpdeco-none", "seed": 0, "hv": mo.keras_volume(path), "curves": curves}
    table = mo.ceiling_table([row])
    seed_row = table.splitlines()[2].split("|")
    unpruned, default = float(seed_row[2]), seed_row[3]
    assert unpruned == pytest.approx(mo.keras_volume(path), abs=1e-4)
    saved, volume = default.split(",")
    # The default pruner saves something here and never beats the unpruned front.
    assert 0 < float(saved.strip(" %")) < 100 and float(volume) <= unpruned + 1e-9
    # Waiting for the start-up trials can only stop less; stopping the slivers too, more.
    dominated, late = float(seed_row[4].strip(" %")), float(seed_row[5].strip(" %"))
    sliver = float(seed_row[6].split(",")[0].strip(" %"))
    assert 0 < late <= dominated <= sliver
