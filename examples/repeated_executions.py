"""KerasTuner's ``executions_per_trial=3`` in hpdeco, with a subclassed ``keras.Model``:
each configuration trained three times from fresh weights, its value the mean of the three,
then the best retrained for 10 epochs on the training and validation data together.

Training twice from different initial weights gives different accuracies; averaging a few
executions tells a good configuration from a lucky one. hpdeco keeps each execution's
per-epoch curve in the store and scores the trial by the mean of each execution's own
value (KerasTuner instead averages the executions' per-epoch curves and takes the best
epoch of that average); the spread (std, min, max) shows how much luck there was.

    python examples/repeated_executions.py               # 8 configurations x 3 executions
    python examples/repeated_executions.py --trials 2 --executions 2 --epochs 1 --refit-epochs 1
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's start-up logs

import keras
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import hpdeco
from hpdeco import hp


class DigitsNet(keras.Model):
    """A subclassed model: ``num_layers`` hidden layers, Adam at ``learning_rate``."""

    def __init__(self, learning_rate: float = 1e-3, num_layers: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.learning_rate = learning_rate
        self.num_layers = num_layers
        self.hidden = [keras.layers.Dense(64, activation="relu") for _ in range(num_layers)]
        self.out = keras.layers.Dense(10, activation="softmax")

    def call(self, inputs):
        x = inputs
        for layer in self.hidden:
            x = layer(x)
        return self.out(x)

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate, "num_layers": self.num_layers}


@hpdeco.tunable
def build_model() -> DigitsNet:
    model = DigitsNet(
        learning_rate=hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3),
        num_layers=hp.Int("num_layers", 1, 3, default=2),
    )
    model.compile(
        keras.optimizers.Adam(model.learning_rate),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def spread_text(record: hpdeco.TrialRecord) -> str:
    """How far apart the runs' values are: their standard deviation, min and max."""
    if record.spread is None:  # fewer than two runs with a value
        return ""
    std, low, high = record.spread
    return f" (std {std:.4f}, min {low:.4f}, max {high:.4f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--executions", type=int, default=3, help="executions_per_trial")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--refit-epochs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--store", default="hpdeco.db")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=0.25, random_state=0, stratify=y_rest
    )
    result = build_model.tune(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        executions_per_trial=args.executions,
        epochs=args.epochs,
        objective="val_accuracy",
        sampler="random",
        max_trials=args.trials,
        workers=args.workers,
        store=args.store,
        study="repeated_executions",
        seed=args.seed,
        verbose=0,
    )
    print(result.summary())

    best = result.best
    spread = best.spread
    where = (
        ""
        if spread is None
        else f" (std {spread[0]:.4f}, min {spread[1]:.4f}, max {spread[2]:.4f})"
    )
    print(f"best: learning_rate={best.params['learning_rate']:.3g}, "
          f"num_layers={best.params['num_layers']}: mean val_accuracy {best.value:.4f} over "
          f"{len(best.run_values)} executions{where}")  # fmt: skip

    # Retrain the best configuration on the training and validation data together.
    model = result.refit(
        np.concatenate([x_train, x_val]),
        np.concatenate([y_train, y_val]),
        epochs=args.refit_epochs,
    )
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"retrained for {args.refit_epochs} epochs as {type(model).__name__}"
          f"(num_layers={model.num_layers}); test accuracy: {accuracy:.4f}")  # fmt: skip


if __name__ == "__main__":  # workers=N imports this file in each worker process
    main()
