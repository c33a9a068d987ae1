"""What a user sees first: parameter importance that is true on small studies, the space
of a function with hp.* in a default argument, a quiet quick start, a clean git status."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import hpdeco
from hpdeco import hp
from hpdeco.analysis import param_importance

ROOT = Path(__file__).resolve().parent.parent
LRS = [1e-3, 1e-2, 1e-1]


def study_of(tmp_path: Path, rows: list[dict[str, Any]], values: list[float]) -> hpdeco.Search:
    """A real study whose trial ``i`` drew exactly ``rows[i]`` and scored ``values[i]``."""

    def sampler(param: Any, trial: Any) -> Any:
        return rows[trial.number][param.name]

    with hpdeco.search(
        objective="val_accuracy",
        max_trials=len(rows),
        store=str(tmp_path / "hpdeco.db"),
        sampler=sampler,
        verbose=0,
    ) as search:
        for trial in search:
            hp.Choice("lr", LRS)
            if "init" in rows[0]:
                hp.Choice("init", ["glorot", "he", "zeros"])
            if "units" in rows[0]:
                hp.Int("units", 16, 80, step=16)
            trial.report(values[trial.number], 1)
    return search


# -- parameter importance ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [4, 5, 6, 7, 8])
def test_a_grid_parameter_with_three_values_that_moves_accuracy_is_found(
    tmp_path: Path, n: int
) -> None:
    # The learning rate alone takes accuracy from 0.94 to 0.13; units is noise.
    accuracy = {1e-3: 0.94, 1e-2: 0.93, 1e-1: 0.13}
    rows = [{"lr": LRS[i % 3], "units": 16 * (1 + (i * 7) % 5)} for i in range(n)]
    values = [accuracy[r["lr"]] + 0.001 * (i % 2) for i, r in enumerate(rows)]
    scores = param_importance(study_of(tmp_path, rows, values))
    assert next(iter(scores)) == "lr", scores
    assert scores["lr"] > 0.6, scores


def test_one_diverged_trial_does_not_make_its_parameter_the_most_important(
    tmp_path: Path,
) -> None:
    # lr moves accuracy a little but consistently (0.90 / 0.92 / 0.94); 'init' differs only
    # in the one trial that diverged (0.05), which dominates the raw variance.
    rng = random.Random(3)
    rows, values = [], []
    for i in range(12):
        lr = LRS[i % 3]
        init = "zeros" if i == 7 else rng.choice(["glorot", "he"])
        rows.append({"lr": lr, "init": init})
        base = {1e-3: 0.94, 1e-2: 0.92, 1e-1: 0.90}[lr]
        values.append(0.05 if i == 7 else base + rng.uniform(-0.005, 0.005))
    scores = param_importance(study_of(tmp_path, rows, values))
    assert next(iter(scores)) == "lr", scores
    assert scores["init"] < 0.3 < scores["lr"], scores


# -- hp.* in a default argument ---------------------------------------------------------------


def test_hp_in_a_default_argument_is_not_listed_as_tunable_and_is_warned_about() -> None:
    from hpdeco.static import UntunedDefaultWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @hpdeco.tunable
        def create_model(
            learning_rate=hp.Choice("learning_rate", [1e-3, 1e-2]),  # noqa: B008 (the point)
            *,
            units=hp.Int("units", 8, 64),  # noqa: B008
        ):
            def inner(depth=hp.Int("depth", 1, 3)):  # noqa: B008 - runs in every call: tuned
                return depth

            return learning_rate, units, inner()

    space = create_model.space
    assert set(space.params) == {"depth"}
    assert "learning_rate" not in space and "units" not in space
    assert sorted(e.name for e in space.defaults) == ["learning_rate", "units"]
    assert "not tunable: Choice 'learning_rate'" in str(space)
    mine = [w for w in caught if issubclass(w.category, UntunedDefaultWarning)]
    assert sorted(str(w.message).split("'")[1] for w in mine) == ["learning_rate", "units"]
    line = create_model.space.defaults[0].lineno
    assert all(w.filename == __file__ for w in mine)
    assert {w.lineno for w in mine} <= set(range(line - 2, line + 3))
    assert "Move the call into the function's body" in str(mine[0].message)


def test_hp_in_a_lambdas_default_is_not_tunable_either() -> None:
    from hpdeco.static import UntunedDefaultWarning

    with pytest.warns(UntunedDefaultWarning, match=r"hp.Float\('rate'\)"):
        build = hpdeco.tunable(lambda rate=hp.Float("rate", 0.0, 1.0): rate)  # noqa: B008
    assert build.space.params == {} and [e.name for e in build.space.defaults] == ["rate"]


# -- a quiet quick start and a clean git status ------------------------------------------------


@pytest.mark.keras
def test_the_quick_start_prints_no_tensorflow_noise(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "quickstart.py"),
            "--trials",
            "1",
            "--epochs",
            "1",
            "--store",
            str(tmp_path / "q.db"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    for noise in ("absl::InitializeLog", "I0000", "E0000", "cuInit", "oneDNN", "cuda"):
        assert noise not in done.stderr, done.stderr


def test_kept_weights_and_stores_are_ignored_by_git() -> None:
    paths = [
        "hpdeco.db",
        "hpdeco.db.weights/1-quickstart-0123abcd/trial-0.npz",
        "runs/exp.db.weights/2-x-0123abcd/trial-3.npz",
        "hpdeco.weights/1-exp-0123abcd/trial-0.npz",
    ]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode == 128:
        pytest.skip(f"not a git checkout: {done.stderr.strip()}")
    assert done.stdout.split() == paths
