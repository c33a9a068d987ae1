"""bench/cv.py runs end to end (a tiny budget); its figures come from full runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_bench

pytestmark = [pytest.mark.bench, pytest.mark.keras]


def test_cv_benchmark_compares_the_methods_on_the_same_configurations(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    pytest.importorskip("sklearn")
    out = tmp_path / "cv.json"
    done = run_bench(
        "cv.py", "--quick", "--seeds", "1", "--jobs", "random",
        "--methods", "hpdeco,hpdeco-full,keras-loop,sklearn", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert re.fullmatch(r"[0-9a-f]{40}", report["git"]["commit"])  # the commit measured
    runs = {r["method"]: r for r in report["runs"]}
    assert sorted(runs) == ["hpdeco", "hpdeco-full", "keras-loop", "sklearn"]
    configs = {
        m: sorted(json.dumps(t["params"], sort_keys=True) for t in r["trials"])
        for m, r in runs.items()
    }
    assert configs["sklearn"] == configs["hpdeco-full"] == configs["keras-loop"]
    full, sk = runs["hpdeco-full"], runs["sklearn"]
    assert full["folds_trained"] == sk["folds_trained"] == 3 * 2  # 3 configurations x 2 folds
    assert runs["hpdeco"]["folds_trained"] <= full["folds_trained"]
    # the same model trained the same way on the same folds, whoever trains it
    assert full["best_fold_scores"] == pytest.approx(sk["best_fold_scores"], abs=1e-6)
    assert full["best_params"] == sk["best_params"]
    summary = report["summary"]["random"]
    assert summary["hpdeco"]["folds_vs_full_median"] <= 1
    assert "full_cv_wall_at_most_1.05x_sklearn" in report["goals"]["random"]
    assert "| random | hpdeco |" in done.stdout  # the markdown table
