"""What several test files share: stores (a fresh file, a throwaway PostgreSQL server),
searches that fill a store with known trials, the Keras model and data of the Keras
tests, and running the command, the examples and the benchmarks in their own process.

Markers (pyproject.toml): ``keras`` trains real Keras models, ``bench`` runs a benchmark
script end to end; ``pytest -m "not keras and not bench"`` is the fast part.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pgserver import MissingServer, throwaway_postgres

import hpdeco
from hpdeco import hp

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent


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


# -- searches that fill a store -----------------------------------------------------------------


def report_loop(
    store: str, max_trials: int, study: str = "s", sleep: float = 0.0, **options: Any
) -> hpdeco.Search:
    """A search of one parameter ``x`` in [0, 1] whose trials report ``loss`` ``x / step``
    and ``acc`` ``1 - x`` at steps 1 and 2 (``sleep`` seconds before each report)."""
    options.setdefault("verbose", 0)
    with hpdeco.search(
        objective="loss", max_trials=max_trials, store=store, study=study, **options
    ) as s:
        for trial in s:
            x = hp.Float("x", 0.0, 1.0)
            for step in (1, 2):
                time.sleep(sleep)
                trial.report({"loss": x / step, "acc": 1 - x}, step)
    return s


def quality(lr: float) -> float:
    """How good a made-up model is with learning rate ``lr``: best (1.0) at 10**-2.5."""
    return 1 - abs(math.log10(lr) + 2.5) / 4


def rising(drawn: dict[str, Any], epoch: int) -> float:
    """A learning curve that rises to :func:`quality` by halves."""
    return quality(drawn["lr"]) * (1 - 0.5**epoch)


def demo_search(
    store: str,
    *,
    study: str = "demo",
    trials: int = 8,
    seed: int = 0,
    epochs: int = 4,
    fail: int = 2,
    pruned: tuple[int, ...] = (4, 6),
    units: bool = True,
    dropout: bool = True,
    curve: Callable[[dict[str, Any], int], float] = rising,
) -> hpdeco.Search:
    """A real search (random sampler) of a made-up model, for the tests that read a study
    back: each trial draws ``lr`` (log), ``units`` (unless ``units=False``),
    ``activation`` and ``dropout`` with ``rate`` only when dropout is drawn (unless
    ``dropout=False``), then reports ``val_accuracy`` (``curve(drawn, epoch)``) and
    ``loss`` for ``epochs`` epochs. Trial ``fail`` raises; those in ``pruned`` are pruned
    at epoch 2."""
    with hpdeco.search(
        objective="val_accuracy",
        max_trials=trials,
        store=store,
        study=study,
        seed=seed,
        sampler="random",
        verbose=0,
    ) as search:
        for trial in search:
            with trial:
                drawn = {"lr": hp.Float("lr", 1e-4, 1e-1, sampling="log")}
                if units:
                    drawn["units"] = hp.Int("units", 16, 64, step=16)
                hp.Choice("activation", ["relu", "tanh"])
                if dropout and hp.Boolean("dropout"):
                    hp.Float("rate", 0.1, 0.5)
                if trial.number == fail:
                    raise RuntimeError("diverged")
                for epoch in range(1, epochs + 1):
                    trial.report({"val_accuracy": curve(drawn, epoch), "loss": 1 / epoch}, epoch)
                    if trial.number in pruned and epoch == 2:
                        raise hpdeco.TrialPruned()
    return search


# -- Keras: data and model ---------------------------------------------------------------------


def digits_split(train: int, val: int) -> tuple[tuple, tuple]:
    """scikit-learn's digits scaled to [0, 1]: the first ``train`` images, then ``val`` more."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    end = train + val
    return (x[:train], y[:train]), (x[train:end], y[train:end])


@pytest.fixture(scope="session")
def digits() -> tuple[tuple, tuple]:
    """256 training and 128 validation digits, shared by the Keras tests (a module that
    wants other sizes defines its own ``digits`` fixture)."""
    return digits_split(256, 128)


def digit_model(units: int, lr: float | None = None, *, eager: bool = False) -> Any:
    """A compiled classifier of the 8x8 digits: 64 inputs, ``units`` relu units, 10
    classes; Adam at ``lr`` (Keras's default rate when None), accuracy as its metric.
    ``eager`` skips graph tracing, faster for a few tiny batches."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        "adam" if lr is None else keras.optimizers.Adam(lr),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        run_eagerly=eager,
    )
    return model


# -- in their own process: the command, the examples, the benchmarks ----------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``hpdeco *argv`` in this process: its exit status, standard output and error."""
    from hpdeco.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_script(path: Path, *args: str) -> subprocess.CompletedProcess:
    """The Python script ``path`` with ``args`` in its own process from the repository
    root, output captured."""
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def run_example(script: str, *args: str) -> subprocess.CompletedProcess:
    """``examples/<script>`` with ``args``, as a user runs it."""
    return run_script(ROOT / "examples" / script, *args)


def run_bench(script: str, *args: str) -> subprocess.CompletedProcess:
    """``bench/<script>`` with ``args``; its figures come from full runs, the tests (marked
    ``bench``) only check it runs end to end."""
    return run_script(ROOT / "bench" / script, *args)
