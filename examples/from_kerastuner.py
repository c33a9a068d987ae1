"""Moving from KerasTuner: the same ``build_model(hp)`` and the same ``hp.*`` calls.

The model function below is KerasTuner code, unchanged but for the decorator: hpdeco's
``hp.Int/Float/Choice/Boolean/Fixed`` take KerasTuner's arguments, and a function whose
first parameter is ``hp`` gets ``hpdeco.hp`` passed in. What changes is around it::

    # KerasTuner                                   # hpdeco
    tuner = keras_tuner.RandomSearch(              @hpdeco.tunable
        build_model, objective="val_accuracy",     def build_model(hp): ...   # same body
        max_trials=10, directory="kt")
    tuner.search(x, y, epochs=5,                   result = build_model.tune(x, y, epochs=5,
                 validation_data=(xv, yv))             validation_data=(xv, yv),
                                                       objective="val_accuracy", max_trials=10)
    tuner.get_best_hyperparameters()[0].values     result.best.params
    tuner.get_best_models()[0]                     result.best_model()
    tuner.results_summary()                        print(result.summary()); `hpdeco trials`

Also different: the space is known before the first trial (``build_model.space``), a
conditional parameter is a plain ``if`` (no ``parent_name``), every epoch of every trial is
kept, and bad trials can be pruned mid-training.

    python examples/from_kerastuner.py                    # 10 trials x 5 epochs
    python examples/from_kerastuner.py --trials 2 --epochs 1 --store /tmp/kt.db
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's start-up logs

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import hpdeco


@hpdeco.tunable  # the only new line: the body is KerasTuner's tutorial model, as written
def build_model(hp):
    model = keras.Sequential()
    model.add(keras.Input((64,)))
    for i in range(hp.Int("num_layers", min_value=1, max_value=3)):
        model.add(
            keras.layers.Dense(
                units=hp.Int(f"units_{i}", min_value=32, max_value=256, step=32),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(rate=0.25))
    model.add(keras.layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--store", default="hpdeco.db")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=0)

    print("The space, read from build_model's source before any trial:")
    print(build_model.space, end="\n\n")

    result = build_model.tune(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=args.epochs,
        objective="val_accuracy",
        max_trials=args.trials,
        store=args.store,
        study="from_kerastuner",
        seed=args.seed,
    )
    print()
    print(result.summary())
    print("best hyperparameters:", dict(result.best.params))
    model = result.best_model()  # like tuner.get_best_models()[0], with its best epoch's weights
    model.summary()


if __name__ == "__main__":
    main()
