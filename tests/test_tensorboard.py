"""TensorBoard logs: event files that TensorBoard's HParams plugin reads back."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, demo_search, digit_model, digits_split
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.plugins.hparams import metadata
from tensorboard.util import tensor_util

import hpdeco
from hpdeco import MissingDependency, TrialState, UsageError, hp
from hpdeco import tensorboard as tb
from hpdeco.cli import main


def read_run(folder: Path) -> tuple[dict, dict, dict]:
    """(hparams, scalars {tag: [(step, value)]}, every hparams plugin record) of one run."""
    acc = ea.EventAccumulator(str(folder), size_guidance={ea.TENSORS: 0})
    acc.Reload()
    scalars = {
        tag: [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
        for tag in acc.Tags()["tensors"]
        if not tag.startswith("_hparams_")
    }
    content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
    hparams = {}
    if metadata.SESSION_START_INFO_TAG in content:
        start = metadata.parse_session_start_info_plugin_data(
            content[metadata.SESSION_START_INFO_TAG]
        )
        for name, value in start.hparams.items():
            hparams[name] = getattr(value, value.WhichOneof("kind"))
    return hparams, scalars, content


def build(store: str) -> hpdeco.Search:
    """Trial 1 fails, trial 3 is pruned at step 2; val_accuracy grows with lr and units."""
    return demo_search(
        store,
        trials=5,
        epochs=3,
        fail=1,
        pruned=(3,),
        dropout=False,
        curve=lambda d, e: d["lr"] * e + d["units"] / 1000,
    )


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory) -> hpdeco.Search:
    return build(str(tmp_path_factory.mktemp("tb") / "h.db"))


def test_write_study_one_run_per_trial_with_hparams_and_curves(
    search: hpdeco.Search, tmp_path: Path
) -> None:
    assert tb.write_study(search, tmp_path) == 5
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
        f"trial-000{n}" for n in range(5)
    ]
    for record in search.trials:
        hparams, scalars, content = read_run(tmp_path / tb.run_name(record.number))
        assert hparams == {**record.params, "trial_state": record.state.value}
        for name, curve in record.metrics.items():
            assert [s for s, _ in scalars[name]] == sorted(curve)
            assert [v for _, v in scalars[name]] == pytest.approx([curve[s] for s in sorted(curve)])
        if record.state is TrialState.FAIL:
            assert "trial_value" not in scalars
        else:
            assert scalars["trial_value"][-1][1] == pytest.approx(record.value)
        status = (
            metadata.parse_session_end_info_plugin_data(
                content[metadata.SESSION_END_INFO_TAG]
            ).status
            if metadata.SESSION_END_INFO_TAG in content
            else None
        )
        assert status == {"COMPLETE": 1, "FAIL": 2, "PRUNED": None}[record.state.value]
    pruned = read_run(tmp_path / "trial-0003")[1]
    assert [s for s, _ in pruned["val_accuracy"]] == [1, 2]  # stops where it was pruned


def test_write_study_describes_the_experiment(search: hpdeco.Search, tmp_path: Path) -> None:
    tb.write_study(search, tmp_path)
    content = read_run(tmp_path)[2]
    experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
    infos = {h.name: h for h in experiment.hparam_infos}
    assert set(infos) == {"lr", "units", "activation", "trial_state"}
    assert (infos["lr"].domain_interval.min_value, infos["lr"].domain_interval.max_value) == (
        1e-4,
        0.1,
    )
    assert list(infos["activation"].domain_discrete.values) != []
    assert [v.string_value for v in infos["activation"].domain_discrete.values] == [
        "relu",
        "tanh",
    ]
    metrics = [m.name.tag for m in experiment.metric_infos]
    assert metrics == ["trial_value", "loss", "val_accuracy"]
    assert experiment.metric_infos[0].display_name == "trial value (val_accuracy, max)"


def test_writing_again_replaces_only_its_own_files(search: hpdeco.Search, tmp_path: Path) -> None:
    foreign = tmp_path / "trial-0000" / "events.out.tfevents.123.host.1.v2"
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"")
    tb.write_study(search, tmp_path)
    tb.write_study(search, tmp_path, states=["COMPLETE"])
    ours = sorted(p.name for p in (tmp_path / "trial-0000").iterdir() if p.name.endswith(".hpdeco"))
    assert len(ours) == 1 and foreign.exists()
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".hpdeco")]) == 1
    _, scalars, _ = read_run(tmp_path / "trial-0000")
    assert len(scalars["val_accuracy"]) == 3  # not duplicated


def test_the_command_writes_the_logs(search: hpdeco.Search, tmp_path: Path, capsys) -> None:
    store = search.study.store.path
    assert main(["tensorboard", "demo", "--store", store, "--logdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote 5 trials of study 'demo' to {tmp_path}" in out
    assert f"tensorboard --logdir {tmp_path}" in out
    assert read_run(tmp_path / "trial-0000")[0]["units"] in (16, 32, 48, 64)


def test_without_tensorboard_the_error_says_how_to_install_it(
    search: hpdeco.Search, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(MissingDependency, match=r'pip install "hpdeco\[tensorboard\]"'):
        tb.write_study(search, tmp_path)
    code = main(["tensorboard", "demo", "--store", search.study.store.path, "--logdir", "x"])
    assert code == 1 and "hpdeco[tensorboard]" in capsys.readouterr().err


def test_importing_it_imports_neither_keras_nor_tensorboard() -> None:
    code = (
        "import sys, json, hpdeco, hpdeco.tensorboard, hpdeco.cli, hpdeco.plots\n"
        "print(json.dumps(sorted(m for m in ('keras', 'tensorflow', 'tensorboard', 'matplotlib')"
        " if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


# -- with Keras -------------------------------------------------------------------------------


@pytest.mark.keras
def test_a_keras_search_is_never_made_to_import_tensorboard(tmp_path: Path) -> None:
    code = f"""
import json, sys
import keras
import hpdeco
from hpdeco import hp
from sklearn.datasets import load_digits
x, y = load_digits(return_X_y=True)
with hpdeco.search(objective="val_accuracy", max_trials=1, store={str(tmp_path / "k.db")!r},
                   verbose=0) as search:
    for trial in search:
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(
            hp.Int("units", 8, 16), activation="relu"), keras.layers.Dense(10, "softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x[:200], y[:200], validation_data=(x[200:300], y[200:300]), epochs=1,
                  verbose=0, callbacks=trial.callbacks())
assert search.best is not None
print(json.dumps([m for m in ("tensorboard", "hpdeco.tensorboard") if m in sys.modules]))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.keras
def test_the_keras_callback_writes_each_trial_live(tmp_path: Path) -> None:
    import keras

    from hpdeco.tensorboard import HParamsCallback

    (x, y), (xv, yv) = digits_split(300, 100)
    logdir = tmp_path / "tb"
    with hpdeco.search(
        objective="val_accuracy", max_trials=2, store=str(tmp_path / "k.db"), seed=0, verbose=0
    ) as search:
        for trial in search:
            model = digit_model(
                hp.Int("units", 8, 32, step=8), hp.Float("lr", 1e-3, 1e-2, sampling="log")
            )
            model.fit(
                x,
                y,
                validation_data=(xv, yv),
                epochs=2,
                verbose=0,
                batch_size=hp.Choice("batch_size", [32, 64]),
                callbacks=[*trial.callbacks(), HParamsCallback(logdir)],
            )
    assert isinstance(HParamsCallback(logdir), keras.callbacks.Callback)
    for record in search.trials:
        hparams, scalars, _ = read_run(logdir / tb.run_name(record.number))
        assert hparams == dict(record.params)
        assert set(hparams) == {"units", "lr", "batch_size"}
        for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert [s for s, _ in scalars[name]] == [1, 2]
            assert np.allclose(
                [v for _, v in scalars[name]], [record.metrics[name][s] for s in (1, 2)]
            )
        assert scalars["trial_value"] == [(2, pytest.approx(record.value))]
    with pytest.raises(UsageError, match="HParamsCallback is used outside a trial"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[HParamsCallback(logdir)])


@pytest.mark.keras
def test_the_keras_callback_in_tune_gets_a_fresh_copy_per_trial(tmp_path: Path) -> None:
    from hpdeco.tensorboard import HParamsCallback

    @hpdeco.tunable
    def build_model():
        return digit_model(hp.Int("units", 8, 32, step=8))

    (x, y), (xv, yv) = digits_split(300, 100)
    result = build_model.tune(
        x,
        y,
        validation_data=(xv, yv),
        epochs=1,
        max_trials=2,
        objective="val_accuracy",
        store=str(tmp_path / "t.db"),
        verbose=0,
        callbacks=[HParamsCallback(tmp_path / "tb")],
    )
    assert [t.state for t in result.trials] == [TrialState.COMPLETE] * 2
    for record in result.trials:
        hparams, scalars, _ = read_run(tmp_path / "tb" / tb.run_name(record.number))
        assert hparams == dict(record.params)
        assert math.isclose(
            scalars["val_accuracy"][0][1], record.metrics["val_accuracy"][1], rel_tol=1e-6
        )
