"""bench/listing.py and bench/variants.py run end to end (tiny budgets); their figures come
from full runs, not from here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_bench

pytestmark = pytest.mark.bench


def test_listing_benchmark_gives_the_same_answer_both_ways(tmp_path: Path) -> None:
    out = tmp_path / "listing.json"
    done = run_bench("listing.py", "--quick", "--out", str(out))
    assert done.returncode == 0, done.stderr  # it asserts both ways list the same rows
    report = json.loads(out.read_text())
    assert report["metric_rows"] == 2 * 50 * 5 * 4  # studies x trials x epochs x metrics
    assert len(report["overview_s"]) == len(report["reading_every_trial_s"]) == 2


@pytest.mark.keras
def test_variants_benchmark_runs_a_variant_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    pytest.importorskip("sklearn")
    out = tmp_path / "variants.json"
    done = run_bench(
        "variants.py",
        "--variants", "asha", "--seeds", "1", "--first-seed", "3", "--trials", "2",
        "--epochs", "2", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = json.loads(out.read_text())
    (row,) = record["runs"]
    assert (row["variant"], row["seed"]) == ("asha", 3)
    # The seeds run, as numbers (the per-seed summary string once overwrote them).
    assert record["seeds"] == [3]
    assert 2 <= row["epochs"] <= 4 and 0 < row["best_val_accuracy"] <= 1
