"""What a benchmark's results record about where they were measured: the machine, the
package versions, the command, and the hpdeco commit (with its uncommitted changes)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
    }


def versions(*packages: str) -> dict[str, str | None]:
    """Python's version and each installed distribution's (None when missing)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("hpdeco", *packages):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out


def git_state() -> dict[str, Any]:
    """The commit of the hpdeco being measured (the one imported: PYTHONPATH may point at
    another checkout), and its files changed on top of it."""
    import hpdeco

    source = Path(hpdeco.__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=source, capture_output=True, text=True)
        except OSError:
            return ""
        return done.stdout.strip()

    return {
        "hpdeco_source": str(source),
        "commit": git("rev-parse", "HEAD") or None,
        "dirty": git("status", "--short", "hpdeco"),
    }


def record(*packages: str) -> dict[str, Any]:
    """The common head of a results file."""
    return {
        "machine": machine(),
        "versions": versions(*packages),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "git": git_state(),
    }
