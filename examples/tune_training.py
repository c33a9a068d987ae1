"""Tune how the model is trained, not only how it is built: batch size and epochs.

``hp.*`` works anywhere while a trial runs, so the training script itself draws
``batch_size`` and ``epochs`` right where it calls ``fit``. With ``trial_value="last"`` a
trial is scored by its last epoch (the model you would actually keep after training for
``epochs`` epochs), not by its best one.

    python examples/tune_training.py                      # 12 trials, up to 16 epochs
    python examples/tune_training.py --trials 2 --epochs 1 --store /tmp/t.db
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


def build_model() -> keras.Model:
    """An ordinary model function: nothing in it is tuned here."""
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log", default=1e-3)),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=16, help="the most epochs a trial may run")
    parser.add_argument("--store", default="hpdeco.db")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=0)
    epoch_choices = sorted({max(1, args.epochs // 4), max(1, args.epochs // 2), args.epochs})

    with hpdeco.search(
        objective="val_accuracy",
        max_trials=args.trials,
        store=args.store,
        study="tune_training",
        trial_value="last",
        seed=args.seed,
    ) as search:
        for trial in search:
            model = build_model()
            model.fit(
                x_train,
                y_train,
                validation_data=(x_val, y_val),
                batch_size=hp.Choice("batch_size", [16, 32, 64, 128]),
                epochs=hp.Choice("epochs", epoch_choices),
                callbacks=trial.callbacks(),
                verbose=0,
            )

    print()
    print(search.summary())
    best = search.best
    print(f"train with batch_size={best.params['batch_size']} for {best.params['epochs']} epochs")


if __name__ == "__main__":
    main()
