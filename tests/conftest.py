from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import MissingServer, throwaway_postgres

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A fresh on-disk store path (the real SQLite file, not a mock)."""
    return str(tmp_path / "studies" / "hpdeco.db")


# -- a throwaway PostgreSQL server on loopback ------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The admin URL of a PostgreSQL cluster started for this test session, stopped after.

    Skipped only where the server binaries are missing, unless HPDECO_REQUIRE_POSTGRES=1
    (as CI sets it), which makes that a failure.
    """
    pytest.importorskip("psycopg")
    try:
        with throwaway_postgres() as url:
            yield url
    except MissingServer as exc:
        if os.environ.get("HPDECO_REQUIRE_POSTGRES") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "hpdeco.db")
    return request.getfixturevalue("postgres_url")


# -- data for the Keras tests ------------------------------------------------------------------


def digits_split(train: int, val: int) -> tuple[tuple, tuple]:
    """scikit-learn's digits scaled to [0, 1]: the first ``train`` images, then ``val`` more."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    end = train + val
    return (x[:train], y[:train]), (x[train:end], y[train:end])


# -- the benchmarks' smoke runs ----------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def run_bench(script: str, *args: str) -> subprocess.CompletedProcess:
    """``bench/<script>`` with ``args`` in its own process from the repository root, output
    captured; its figures come from full runs, the tests only check it runs end to end."""
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
