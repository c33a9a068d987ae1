"""Run several workers on one study: from one script with ``workers=N``, or by starting the
same script several times (on several machines, against PostgreSQL).

    python examples/parallel_workers.py --workers 2 --trials 8
    # or: start it in several terminals, each with --workers 1: they share the study
    python examples/parallel_workers.py --store postgresql://tuner@db-host/studies

Each worker is a process of its own; they share nothing but the store, which hands out
trial numbers and counts ``max_trials`` across all of them.
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


# At module level, so that the worker processes (started with spawn) can import it.
@hpdeco.tunable
def build_model() -> keras.Model:
    model = keras.Sequential([keras.Input((64,))])
    for i in range(hp.Int("layers", 1, 2)):
        model.add(keras.layers.Dense(hp.Int(f"units_{i}", 16, 128, step=16), activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-1, sampling="log", default=1e-3)),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--store", default="hpdeco.db")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    result = build_model.tune(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=args.epochs,
        objective="val_accuracy",
        max_trials=args.trials,
        store=args.store,
        study="parallel_workers",
        seed=args.seed,
        workers=args.workers,
    )
    print(result.summary())


if __name__ == "__main__":  # required: worker processes import this file without running it
    main()
