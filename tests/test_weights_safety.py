"""Kept weights are tied to their store, study and trial, and are read safely.

Keras-free: a trial hands its weights as the Keras callback does (``trial._weights``), and
the "model" is a plain object with ``set_weights``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import hpdeco
from hpdeco import StoreError, UsageError, hp
from hpdeco.weights import WeightKeeper, best_model, weights_folder


class Model:
    def __init__(self) -> None:
        self.weights: list[Any] | None = None

    def set_weights(self, weights: list[Any]) -> None:
        self.weights = weights


def build() -> Model:
    hp.Int("units", 1, 9)
    return Model()


def run(store: str, marks: list[float], study: str = "exp") -> hpdeco.Search:
    """A search whose trial ``i`` scores ``marks[i]`` and keeps weights ``[marks[i]] * 2``."""
    with hpdeco.search(
        store=store, study=study, objective="score", max_trials=len(marks), verbose=0
    ) as s:
        for trial in s:
            hp.Int("units", 1, 9)
            trial.report(marks[trial.number], 1)
            trial._weights = (1, [np.full(2, marks[trial.number])])
    return s


def new_database(server: str) -> str:
    """A fresh, empty database on the test session's PostgreSQL server."""
    import uuid

    import psycopg

    name = f"w_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + "/" + name


def loaded(study: Any) -> list[float]:
    return best_model(study, build).weights[0].tolist()


def test_two_postgres_databases_with_a_same_named_study_keep_separate_weights(
    postgres_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two databases, each with a study 'exp' of id 1, used from one working folder: their
    # weights go to ./hpdeco.weights/, and B's must never stand in for A's.
    monkeypatch.chdir(tmp_path)
    url_a, url_b = new_database(postgres_server), new_database(postgres_server)
    a = run(url_a, [0.7])
    b = run(url_b, [0.9])
    assert a.study.id == b.study.id and a.study.name == b.study.name
    assert loaded(a.study) == [0.7, 0.7]
    assert loaded(b.study) == [0.9, 0.9]
    assert weights_folder(a.study) != weights_folder(b.study)
    # Reopened later, read-only, each still finds its own.
    assert loaded(hpdeco.load_study("exp", store=url_a)) == [0.7, 0.7]


def test_a_file_copied_from_another_study_is_refused(tmp_path: Path) -> None:
    a = run(str(tmp_path / "a.db"), [0.7])
    b = run(str(tmp_path / "b.db"), [0.9])
    shutil.copy(weights_folder(b.study) / "trial-0.npz", weights_folder(a.study) / "trial-0.npz")
    with pytest.raises(StoreError, match=r"belongs to trial 0 of study 'exp'.*copied or moved"):
        best_model(a.study, build)


def test_a_file_copied_from_another_trial_is_refused(tmp_path: Path) -> None:
    s = run(str(tmp_path / "a.db"), [0.9, 0.7], study="two")
    folder = weights_folder(s.study)
    keeper = WeightKeeper(s.study, 2)
    # keep_best=1 kept trial 0 only; trial 1's file is made from trial 0's.
    shutil.copy(folder / "trial-0.npz", folder / "trial-1.npz")
    with pytest.raises(StoreError, match=r"belongs to trial 0 .* not to trial 1"):
        keeper.load(1)


def test_a_store_created_again_does_not_pick_up_the_old_studys_weights(tmp_path: Path) -> None:
    path = str(tmp_path / "hpdeco.db")
    old = run(path, [0.7])
    old_folder = weights_folder(old.study)
    old.study.store.close()
    os.remove(path)  # the weights folder beside it stays
    new = run(path, [0.2])
    assert new.study.id == old.study.id
    assert weights_folder(new.study) != old_folder
    assert loaded(new.study) == [0.2, 0.2]


@pytest.mark.parametrize(
    "content",
    [os.urandom(300), b"PK\x03\x04" + os.urandom(100), b""],
    ids=["random", "broken-zip", "empty"],
)
def test_a_tampered_file_is_not_a_valid_weights_file(tmp_path: Path, content: bytes) -> None:
    s = run(str(tmp_path / "a.db"), [0.7])
    (weights_folder(s.study) / "trial-0.npz").write_bytes(content)
    with pytest.raises(StoreError, match="not a valid hpdeco weights file") as caught:
        best_model(s.study, build)
    assert "allow_pickle" not in str(caught.value) and "pickle" not in str(caught.value)


def test_a_file_holding_python_objects_is_refused_unread(tmp_path: Path) -> None:
    s = run(str(tmp_path / "a.db"), [0.7])
    target = weights_folder(s.study) / "trial-0.npz"
    np.savez(target, step=np.asarray(1), meta=np.asarray([{"x": 1}], dtype=object))
    with pytest.raises(StoreError, match="not a valid hpdeco weights file") as caught:
        best_model(s.study, build)
    assert "allow_pickle" not in str(caught.value)


def test_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    s = run(str(tmp_path / "a.db"), [0.7])
    target = weights_folder(s.study) / "trial-0.npz"
    real = tmp_path / "elsewhere.npz"
    shutil.move(target, real)  # a genuine file, reached through a link
    target.symlink_to(real)
    with pytest.raises(StoreError, match="symbolic link"):
        best_model(s.study, build)


def test_weights_of_an_earlier_version_are_named_not_loaded(tmp_path: Path) -> None:
    from hpdeco.weights import legacy_folder

    s = run(str(tmp_path / "a.db"), [0.7])
    shutil.rmtree(weights_folder(s.study))
    old = legacy_folder(s.study)
    old.mkdir(parents=True)
    np.savez(old / "trial-0.npz", step=np.asarray(1), w00000=np.full(2, 0.7))
    with pytest.raises(UsageError, match=r"earlier version of hpdeco.*not loaded"):
        best_model(s.study, build)
    # ... and one without a record put in the new folder is refused as well.
    weights_folder(s.study).mkdir()
    shutil.copy(old / "trial-0.npz", weights_folder(s.study) / "trial-0.npz")
    with pytest.raises(StoreError, match="records no study"):
        best_model(s.study, build)
