"""Tune a small MLP on scikit-learn's digits and keep every trial in ``hpdeco.db``.

Run it twice: the second run resumes the study instead of starting over.

    python examples/quickstart.py                    # 20 trials x 10 epochs
    python examples/quickstart.py --trials 3 --epochs 2 --store /tmp/q.db
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

# TensorFlow's C++ logs: "3" keeps even its ERROR lines (such as "failed call to cuInit" on
# a machine without a GPU, printed while the first trial builds its model, in the middle of
# the progress bar) off the screen. It must be set before TensorFlow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import hpdeco
from hpdeco import hp


@contextlib.contextmanager
def stderr_silenced():
    """Send what is written to the standard error *file descriptor* to /dev/null: the lines
    TensorFlow prints while it loads ("All log messages before absl::InitializeLog() ...")
    come from C++ before it reads TF_CPP_MIN_LOG_LEVEL. An import error still shows."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


with stderr_silenced():
    import keras


@hpdeco.tunable
def build_model() -> keras.Model:
    model = keras.Sequential([keras.Input((64,))])
    for i in range(hp.Int("layers", 1, 3, default=2)):
        model.add(keras.layers.Dense(hp.Int(f"units_{i}", 16, 256, step=16, default=64),
                                     activation=hp.Choice("activation", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(hp.Float("rate", 0.1, 0.5, step=0.1)))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-1, sampling="log", default=1e-3)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--store", default="hpdeco.db")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )

    print("The space, read from build_model's source before any trial:")
    print(build_model.space, end="\n\n")

    with hpdeco.search(objective="val_accuracy", max_trials=args.trials, store=args.store,
                       study="quickstart", seed=args.seed) as search:
        for trial in search:
            model = build_model()
            model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs,
                      batch_size=hp.Choice("batch_size", [32, 64, 128]),
                      callbacks=trial.callbacks(), verbose=0)

    if search.stopped_because == "max_trials":
        print(f"(here: run it with --trials N, N above {args.trials}, to go on)")
    print()
    print(search.summary())


if __name__ == "__main__":
    main()
