"""hpdeco.keras_tuner: every tuner and method on tiny real Keras models (sklearn digits)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hpdeco
import hpdeco.keras_tuner as kt
from hpdeco.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parents[1]


def test_import_is_light_and_separate() -> None:
    """import hpdeco does not import the facade; the facade does not import keras."""
    code = (
        "import sys, hpdeco; assert 'hpdeco.keras_tuner' not in sys.modules; "
        "import hpdeco.keras_tuner; assert 'keras' not in sys.modules, 'keras'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_options_refused_with_the_alternative(tmp_path: Path) -> None:
    def build(hp: Any) -> None:
        return None

    with pytest.raises(ConfigError, match="names no objective"):
        kt.RandomSearch(build, objective=[], directory=tmp_path)
    with pytest.raises(ConfigError, match="compile the model in build_model"):
        kt.RandomSearch(build, objective="val_loss", loss="mse", directory=tmp_path)
    with pytest.raises(ConfigError, match="Hyperband sets its budget"):
        kt.Hyperband(build, objective="val_loss", max_trials=3, directory=tmp_path)
    with pytest.raises(ConfigError, match="direction must be 'min' or 'max'"):
        kt.Objective("score", "up")
    with pytest.raises(UsageError, match=r"call tuner\.search"):
        kt.RandomSearch(build, objective="val_loss", directory=tmp_path).get_best_models()
    assert kt.bracket_trials(9, 3) == 9 + 5 + 3  # brackets s=2, 1, 0


def test_grid_search_enumerates_like_kerastuner(tmp_path: Path) -> None:
    """No Keras needed: a HyperModel whose fit returns the score. The grid over a log Int
    without a step has KerasTuner's ten values, and the search ends with the grid."""

    class Model(kt.HyperModel):
        def build(self, hp: Any) -> dict:
            return {"units": hp.Int("units", 2, 1024, sampling="log"), "act": hp.Choice(
                "act", ["relu", "tanh"])}  # fmt: skip

        def fit(self, hp: Any, model: dict, *args: Any, **kwargs: Any) -> float:
            return float(model["units"]) + (0.5 if model["act"] == "tanh" else 0.0)

    tuner = kt.GridSearch(Model(), objective=kt.Objective("score", "max"), directory=tmp_path)
    tuner.search(verbose=0)
    trials = tuner.oracle.trials
    units = sorted({t.hyperparameters.values["units"] for t in trials.values()})
    assert units == [2, 5, 9, 17, 33, 61, 115, 215, 402, 750]
    assert len(trials) == 20
    best = tuner.get_best_hyperparameters(1)[0]
    assert best.values == {"units": 750, "act": "tanh"}
    assert tuner.oracle.get_best_trials(1)[0].score == 750.5


def test_resume_and_overwrite(tmp_path: Path) -> None:
    class Model(kt.HyperModel):
        def build(self, hp: Any) -> float:
            return hp.Float("x", 0.0, 1.0)

        def fit(self, hp: Any, model: float, *args: Any, **kwargs: Any) -> dict:
            return {"score": model}

    def run(overwrite: bool) -> int:
        tuner = kt.RandomSearch(
            Model(), objective=kt.Objective("score", "max"), max_trials=3, seed=0,
            directory=tmp_path, project_name="p", overwrite=overwrite,
        )  # fmt: skip
        tuner.search(verbose=0)
        return len(tuner.oracle.trials)

    assert run(False) == 3
    assert (tmp_path / "hpdeco.db").exists()
    assert run(False) == 3  # resumed: max_trials already reached
    assert run(True) == 3  # afresh


def test_hyperparameters_fixed_and_not_tuned(tmp_path: Path) -> None:
    seen: list[dict] = []

    def build(hp: Any) -> float:
        seen.append({"a": hp.Float("a", 0.0, 1.0), "b": hp.Int("b", 1, 9, default=4)})
        return 0.0

    class Model(kt.HyperModel):
        def build(self, hp: Any) -> float:
            return build(hp)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> float:
            return 1.0

    preset = kt.HyperParameters()
    preset.Fixed("a", 0.25)
    tuner = kt.RandomSearch(
        Model(), objective=kt.Objective("score", "max"), max_trials=2, directory=tmp_path,
        hyperparameters=preset, tune_new_entries=False,
    )  # fmt: skip
    tuner.search(verbose=0)
    # Nothing left to tune: one configuration, which the random sampler tries once.
    assert seen == [{"a": 0.25, "b": 4}]
    strict = kt.RandomSearch(
        Model(), objective=kt.Objective("score", "max"), max_trials=1, directory=tmp_path,
        project_name="strict", hyperparameters=preset, allow_new_entries=False,
    )  # fmt: skip
    with pytest.raises(ConfigError, match="allow_new_entries=False"):
        strict.search(verbose=0)


# -- with Keras ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits() -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32").reshape(-1, 8, 8)
    y = y.astype("int32")
    return x[:400], y[:400], x[1500:], y[1500:]


def build_model(hps: Any) -> Any:
    """KerasTuner's getting-started model: a Sequential without Input, Flatten first; the
    hp argument named hps."""
    import keras

    model = keras.Sequential([keras.layers.Flatten()])
    for i in range(hps.Int("num_layers", 1, 2)):
        model.add(keras.layers.Dense(hps.Int(f"units_{i}", 8, 32, step=8), activation="relu"))
    if hps.Boolean("dropout"):
        model.add(keras.layers.Dropout(0.25))
    model.add(keras.layers.Dense(10, activation="softmax"))
    lr = hps.Float("lr", 1e-3, 1e-2, sampling="LOG")
    model.compile(
        keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def _check_best_models(tuner: kt.Tuner, xv: Any, yv: Any) -> None:
    best = tuner.oracle.get_best_trials(2)
    models = tuner.get_best_models(2)
    assert len(models) == 2
    for trial, model in zip(best, models, strict=True):
        _, accuracy = model.evaluate(xv, yv, verbose=0)
        assert accuracy == pytest.approx(trial.score, abs=1e-6)  # the best epoch's weights


@pytest.mark.keras
@pytest.mark.parametrize("tuner_class", [kt.RandomSearch, kt.BayesianOptimization])
def test_tuner_on_keras(tuner_class: type, digits: Any, tmp_path: Path) -> None:
    x, y, xv, yv = digits
    tuner = tuner_class(
        build_model, objective="val_accuracy", max_trials=2, seed=1, directory=tmp_path,
        project_name="p", overwrite=True,
    )  # fmt: skip
    tuner.search(x, y, epochs=2, validation_data=(xv, yv), verbose=0)
    assert len(tuner.oracle.trials) == 2
    _check_best_models(tuner, xv, yv)
    hps = tuner.get_best_hyperparameters(1)[0]
    assert set(hps.values) >= {"num_layers", "units_0", "dropout", "lr"}
    rebuilt = tuner.hypermodel.build(hps)
    rebuilt(xv[:1])
    assert rebuilt.layers[1].units == hps.values["units_0"]
    with hpdeco.load_study("p", store=tmp_path / "hpdeco.db") as study:
        assert all(len(t.intermediate_values) == 2 for t in study.trials)  # every epoch


@pytest.mark.keras
def test_hypermodel_fit_tunes_batch_size_and_executions(digits: Any, tmp_path: Path) -> None:
    x, y, xv, yv = digits

    class MyHyperModel(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            return build_model(hp)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            return model.fit(
                *args, shuffle=hp.Boolean("shuffle"),
                batch_size=hp.Choice("batch_size", [16, 32]), **kwargs,
            )  # fmt: skip

    executions = 2 if hasattr(hpdeco.Trial, "runs") else 1
    tuner = kt.RandomSearch(
        MyHyperModel(), objective="val_accuracy", max_trials=2, seed=2, directory=tmp_path,
        executions_per_trial=executions,
    )  # fmt: skip
    tuner.search(x, y, epochs=1, validation_data=(xv, yv), verbose=0)
    for trial in tuner.oracle.trials.values():
        assert {"shuffle", "batch_size"} <= set(trial.hyperparameters.values)
        assert len(trial.record.run_values or {0: None}) == executions
    assert len(tuner.get_best_models(1)) == 1


@pytest.mark.keras
def test_hyperband_prunes_and_summaries(digits: Any, tmp_path: Path, capsys: Any) -> None:
    x, y, xv, yv = digits
    tuner = kt.Hyperband(
        build_model, objective="val_accuracy", max_epochs=3, factor=3, seed=0,
        directory=tmp_path,
    )  # fmt: skip
    assert tuner.max_trials == kt.bracket_trials(3, 3) == 5
    tuner.search_space_summary()
    tuner.search(x, y, epochs=99, validation_data=(xv, yv), verbose=0)
    tuner.results_summary(2)
    out = capsys.readouterr().out
    assert "Search space summary" in out and "num_layers (Int)" in out
    assert out.count("Trial ") == 2 and 'Objective(name="val_accuracy"' in out
    records = [t.record for t in tuner.oracle.trials.values()]
    assert len(records) == 5
    assert max(len(r.intermediate_values) for r in records) == 3  # epochs=max_epochs


@pytest.mark.keras
def test_best_model_of_unbuilt_and_subclassed_models(digits: Any, tmp_path: Path) -> None:
    """A subclassed keras.Model decorated with @tunable stays a class; best_model builds
    it (and a Sequential without Input) on a sample before loading the weights, and says
    what is missing without one."""
    import keras

    x, y, xv, yv = digits

    @hpdeco.tunable
    class Net(keras.Model):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.flat = keras.layers.Flatten()
            self.dense = keras.layers.Dense(hpdeco.hp.Int("units", 8, 16, step=8), "relu")
            self.out = keras.layers.Dense(10, activation="softmax")

        def call(self, inputs: Any) -> Any:
            return self.out(self.dense(self.flat(inputs)))

    assert isinstance(Net, type) and "units" in Net.space.params
    assert isinstance(Net(), keras.Model)

    class Sub(Net):
        pass

    assert issubclass(Sub, Net)

    with hpdeco.search(
        objective="val_accuracy", max_trials=2, store=str(tmp_path / "s.db"), verbose=0
    ) as search:
        for trial in search:
            model = Net()
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            model.fit(x, y, epochs=1, validation_data=(xv, yv), verbose=0,
                      callbacks=trial.callbacks())  # fmt: skip
    with pytest.raises(UsageError, match="has no weights until it first sees data"):
        search.best_model()
    from hpdeco.weights import best_model

    model = best_model(search.study, Net, rank=0, sample=xv)
    assert isinstance(model, Net)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert model.evaluate(xv, yv, verbose=0)[1] == pytest.approx(search.best.value, abs=1e-6)
    search.close()


@pytest.mark.keras
def test_example_script_runs(tmp_path: Path) -> None:
    executions = "2" if hasattr(hpdeco.Trial, "runs") else "1"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "keras_tuner_script.py"), "--trials", "2",
         "--epochs", "1", "--max-epochs", "2", "--executions", executions,
         "--dir", str(tmp_path), "--seed", "0"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Search space summary" in result.stdout and "Results summary" in result.stdout
    assert "best val_accuracy:" in result.stdout
    with hpdeco.load_study("helloworld", store=tmp_path / "hpdeco.db") as study:
        assert len(study.trials) == 2
    source = (ROOT / "examples" / "keras_tuner_script.py").read_text()
    assert "import hpdeco.keras_tuner as keras_tuner" in source
    code = source.split('"""', 2)[2]  # past the module docstring
    assert [line for line in code.splitlines() if "hpdeco" in line] == [
        "import hpdeco.keras_tuner as keras_tuner"
    ]
