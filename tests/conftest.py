from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A fresh on-disk store path (the real SQLite file, not a mock)."""
    return str(tmp_path / "studies" / "hpdeco.db")
