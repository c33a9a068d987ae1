"""The head-to-head benchmark runs end to end (a tiny --quick budget, one process); its
figures come from full runs, not from here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from conftest import run_bench

pytestmark = [pytest.mark.keras, pytest.mark.bench]

# KerasTuner 1.4.8 fails every trial under TF 2.21 unless tensorboard is installed.
NEEDED = ("keras", "sklearn", "keras_tuner", "tensorboard", "optuna", "optuna_integration")
MISSING = [m for m in NEEDED if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(
    bool(MISSING),
    reason=f"bench dependencies not installed: {', '.join(MISSING)} (pip install -e '.[bench]')",
)
def test_headtohead_quick_run(tmp_path: Path) -> None:
    out = tmp_path / "headtohead.json"
    proc = run_bench("headtohead.py", "--quick", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "| method | wall s | inside fit s | outside fit s | wall / plain loop |" in proc.stdout
    assert "| hpdeco (auto sampler + median pruner, defaults) |" in proc.stdout
    result = json.loads(out.read_text())
    assert result["skipped"] == {}
    assert set(result["overhead"]["summary"]) == {
        "plain",
        "hpdeco_random",
        "kt_random",
        "optuna_random",
    }
    runs = result["quality"]["runs"]
    assert {r["tuner"] for r in runs} == {
        "hpdeco",
        "kt_random",
        "kt_bayes",
        "kt_hyperband",
        "optuna",
    }
    for run in runs:
        assert run["trials"] >= 1 and run["epochs"] >= 1, run["tuner"]
        assert 0.0 < run["best_val_accuracy"] <= 1.0, run["tuner"]
        assert run["peak_rss_mib"] > 0
        assert run["own"].get("failed", 0) == 0, run
