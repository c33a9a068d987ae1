"""KerasTuner's getting-started flow, as a KerasTuner user writes it, on hpdeco.

The only change from the KerasTuner script is the import line::

    import keras_tuner          ->   import hpdeco.keras_tuner as keras_tuner

(and the data: scikit-learn's 8x8 digits instead of MNIST, which downloads). The study
lands in ``<directory>/hpdeco.db``: look at it with ``hpdeco trials --store ...``.

    python examples/keras_tuner_script.py                      # KerasTuner's budget
    python examples/keras_tuner_script.py --trials 2 --epochs 1 --max-epochs 2 --dir /tmp/kt

bench/headtohead.py --kt-script runs this file as it is and, with the import line changed
back to ``import keras_tuner``, on KerasTuner.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's start-up logs

import keras
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import hpdeco.keras_tuner as keras_tuner


def build_model(hp):
    model = keras.Sequential()
    model.add(keras.layers.Flatten())
    # Tune the number of layers.
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(
            keras.layers.Dense(
                # Tune number of units separately.
                units=hp.Int(f"units_{i}", min_value=32, max_value=512, step=32),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=0.25))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class MyHyperModel(keras_tuner.HyperModel):
    def build(self, hp):
        return build_model(hp)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(
            *args,
            # Tune whether to shuffle the data in each epoch.
            shuffle=hp.Boolean("shuffle"),
            # Tune the batch size.
            batch_size=hp.Choice("batch_size", [16, 32, 64]),
            **kwargs,
        )


def load_data():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32").reshape(-1, 8, 8)
    y = keras.utils.to_categorical(y, 10)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, random_state=0)
    return x_train, y_train, x_val, y_val


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--executions", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--dir", default="my_dir")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)

    x_train, y_train, x_val, y_val = load_data()
    build_model(keras_tuner.HyperParameters())  # the model builds with default values

    tuner = keras_tuner.RandomSearch(
        hypermodel=build_model,
        objective="val_accuracy",
        max_trials=args.trials,
        executions_per_trial=args.executions,
        overwrite=True,
        directory=args.dir,
        project_name="helloworld",
        seed=args.seed,
    )
    tuner.search_space_summary()
    tuner.search(x_train, y_train, epochs=args.epochs, validation_data=(x_val, y_val))

    models = tuner.get_best_models(num_models=2)
    best_model = models[0]
    best_model.summary()
    tuner.results_summary()

    best_hps = tuner.get_best_hyperparameters(5)
    model = build_model(best_hps[0])  # retrain on all the data with the best values
    x_all = np.concatenate((x_train, x_val))
    y_all = np.concatenate((y_train, y_val))
    model.fit(x=x_all, y=y_all, epochs=1, verbose=0)

    tuner = keras_tuner.RandomSearch(
        MyHyperModel(),
        objective="val_accuracy",
        max_trials=args.trials,
        overwrite=True,
        directory=args.dir,
        project_name="tune_hypermodel",
        seed=args.seed,
    )
    tuner.search(x_train, y_train, epochs=args.epochs, validation_data=(x_val, y_val))

    tuner = keras_tuner.Hyperband(
        build_model,
        objective="val_accuracy",
        max_epochs=args.max_epochs,
        factor=3,
        overwrite=True,
        directory=args.dir,
        project_name="hyperband",
        seed=args.seed,
    )
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), verbose=0)
    best = tuner.get_best_hyperparameters(1)[0]
    print("best val_accuracy:", tuner.oracle.get_best_trials(1)[0].score)
    print("best hyperparameters:", best.values)


if __name__ == "__main__":
    main()
