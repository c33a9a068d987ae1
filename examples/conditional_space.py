"""A conditional space: the optimizer is a choice, and each optimizer has its own parameters.

Plain Python ``if`` is the whole mechanism: a parameter exists only in the trials that reach
it. ``momentum`` is drawn only when the optimizer is SGD, ``beta_1`` only with Adam, and so
on; ``hpdeco trials`` shows ``-`` where a trial did not draw a parameter.

    python examples/conditional_space.py                  # 20 trials x 8 epochs
    python examples/conditional_space.py --trials 2 --epochs 1 --store /tmp/c.db
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's start-up logs

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import hpdeco
from hpdeco import hp


def make_optimizer() -> keras.optimizers.Optimizer:
    """The optimizer of this trial, with the parameters that belong to it."""
    name = hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    if name == "adam":
        return keras.optimizers.Adam(
            hp.Float("adam_lr", 1e-4, 1e-2, sampling="log", default=1e-3),
            beta_1=hp.Float("beta_1", 0.8, 0.99, default=0.9),
        )
    if name == "sgd":  # plain SGD wants a larger learning rate: its own range
        return keras.optimizers.SGD(
            hp.Float("sgd_lr", 1e-3, 0.5, sampling="log", default=0.05),
            momentum=hp.Float("momentum", 0.0, 0.95, default=0.9),
            nesterov=hp.Boolean("nesterov"),
        )
    return keras.optimizers.RMSprop(
        hp.Float("rmsprop_lr", 1e-4, 1e-2, sampling="log", default=1e-3),
        rho=hp.Float("rho", 0.8, 0.99, default=0.9),
    )


@hpdeco.tunable
def build_model() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(hp.Int("units", 32, 256, step=32, default=64), activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(make_optimizer(), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--store", default="hpdeco.db")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=0)

    # The optimizer's parameters live in make_optimizer, which the decorator does not read;
    # they are discovered as trials draw them, and stored with the study.
    with hpdeco.search(
        objective="val_accuracy",
        max_trials=args.trials,
        store=args.store,
        study="conditional_space",
        seed=args.seed,
    ) as search:
        for trial in search:
            model = build_model()
            model.fit(
                x_train,
                y_train,
                validation_data=(x_val, y_val),
                epochs=args.epochs,
                batch_size=64,
                callbacks=trial.callbacks(),
                verbose=0,
            )

    print()
    for record in search.trials:
        print(record)  # each trial shows only the parameters it drew
    print()
    print(search.summary())


if __name__ == "__main__":
    main()
