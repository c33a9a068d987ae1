"""The benchmarks run (tiny budgets); their figures come from full runs, not from here."""

from __future__ import annotations

import pytest
from conftest import run_bench

pytestmark = pytest.mark.bench


def test_overhead_benchmark_quick_run() -> None:
    out = run_bench("overhead.py", "--quick")
    assert out.returncode == 0, out.stderr
    assert "| reported steps per trial | hpdeco ms/trial |" in out.stdout
    assert "| 20 |" in out.stdout
