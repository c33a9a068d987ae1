"""The benchmarks run (tiny budgets); their figures come from full runs, not from here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_overhead_benchmark_quick_run() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "overhead.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "| reported steps per trial | hpdeco ms/trial |" in out.stdout
    assert "| 20 |" in out.stdout
