"""Resume a study: run the script again and it goes on where it stopped.

Every trial is written to the store as it runs, so stopping is safe at any moment (Ctrl-C,
a crash, a closed laptop). Running the same script again opens the same study: trial
numbers continue, and the trials already finished count toward ``max_trials``. The trial
Ctrl-C stopped is recorded as interrupted, does not count, and its parameters are queued
to run first. Here ``--interrupt-after N`` plays the Ctrl-C after N trials::

    python examples/resume.py --trials 6 --interrupt-after 2   # 0, 1; 2 interrupted, 3 queued
    python examples/resume.py --trials 6                       # 3 (2's parameters), 4, 5, 6
    hpdeco trials resume                                       # all of them, one table
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's start-up logs

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import hpdeco
from hpdeco import hp


@hpdeco.tunable
def build_model() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(hp.Int("units", 16, 128, step=16, default=64), activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log", default=1e-3)),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class Stop(keras.callbacks.Callback):
    """Raises KeyboardInterrupt in the middle of training, as Ctrl-C would."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--store", default="hpdeco.db")
    parser.add_argument(
        "--interrupt-after",
        type=int,
        default=None,
        metavar="N",
        help="press Ctrl-C (in effect) during the trial after N finished ones",
    )
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=0)

    try:
        before = len(hpdeco.load_study("resume", store=args.store).trials)
    except (hpdeco.StoreError, hpdeco.StudyNotFound):  # no store, or no such study yet
        before = 0
    print(f"study 'resume' has {before} trials in {args.store} before this run")
    try:
        with hpdeco.search(
            objective="val_accuracy",
            max_trials=args.trials,
            store=args.store,
            study="resume",
            verbose=0,
        ) as search:
            for done, trial in enumerate(search):
                stop = [Stop()] if done == args.interrupt_after else []
                model = build_model()
                model.fit(
                    x_train,
                    y_train,
                    validation_data=(x_val, y_val),
                    epochs=args.epochs,
                    callbacks=[*trial.callbacks(), *stop],
                    verbose=0,
                )
                print(f"trial {trial.number} finished")
    except KeyboardInterrupt:
        study = hpdeco.load_study("resume", store=args.store)
        stopped = next(t for t in reversed(study.trials) if t.state is hpdeco.TrialState.FAIL)
        queued = [t.number for t in study.trials if t.state is hpdeco.TrialState.WAITING]
        print(
            f"interrupted: trial {stopped.number} is {stopped.state.value} ({stopped.reason}), "
            f"its parameters queued as trial {queued[0]}; the store is consistent: run the "
            "script again to resume"
        )
        sys.exit(130)
    print()
    print(search.summary())


if __name__ == "__main__":
    main()
