"""GridSearchCV's job in hpdeco: a grid over learning rates, 5-fold cross-validation, trials
in parallel, then the best configuration refit on all the training data and evaluated on a
held-out test split.

scikit-learn's version of this job is ``GridSearchCV(model, {"lr": [...]}, cv=5,
n_jobs=-1).fit(x, y)`` over a wrapped Keras model. Here it is ``tune(cv=5, workers=2,
sampler="grid")``: every fold's per-epoch curve lands in the store, a trial's value is the
mean of its folds' values (with their spread), and a configuration whose first folds
already fall clearly behind the best one is stopped before its remaining folds.

    python examples/grid_search_cv.py                    # 6 learning rates x 5 folds, 2 workers
    python examples/grid_search_cv.py --trials 2 --folds 2 --epochs 1 --store /tmp/g.db

Run it again and it resumes the study (the grid done, it goes straight to the refit).
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
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    lr = hp.Choice("lr", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2], default=1e-3)
    model.compile(
        keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"]
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
    parser.add_argument("--trials", type=int, default=None, help="default: the whole grid")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="processes (n_jobs)")
    parser.add_argument("--store", default="hpdeco.db")
    parser.add_argument("--seed", type=int, default=0, help="shuffles the folds")
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=y
    )
    result = build_model.tune(
        x_train,
        y_train,
        cv=args.folds,  # stratified folds of the training part; no validation_data
        epochs=args.epochs,
        batch_size=32,
        objective="val_accuracy",
        trial_value="last",  # score each fold after its last epoch, as GridSearchCV does
        sampler="grid",
        max_trials=args.trials,
        workers=args.workers,
        store=args.store,
        study="grid_search_cv",
        seed=args.seed,
        verbose=0,
    )

    # The grid, as GridSearchCV's cv_results_ shows it: each configuration's folds and mean.
    print(f"{'lr':>8}  {'state':<8}  folds  mean val_accuracy  per fold")
    for record in sorted(result.trials, key=lambda r: r.params["lr"]):
        folds = [record.run_values[k] for k in sorted(record.run_values)]
        value = "-" if record.value is None else f"{record.value:.4f}"
        shown = " ".join(f"{v:.3f}" for v in folds if v is not None)
        print(f"{record.params['lr']:>8g}  {record.state.value:<8}  {len(folds):>5}  "
              f"{value:>17}  {shown}")  # fmt: skip
    print()
    print(result.summary())

    best = result.best
    spread = best.spread
    where = (
        ""
        if spread is None
        else f" (std {spread[0]:.4f}, min {spread[1]:.4f}, max {spread[2]:.4f})"
    )
    print(f"best: lr={best.params['lr']:g}, mean CV accuracy {best.value:.4f} over "
          f"{len(best.run_values)} folds{where}")  # fmt: skip

    # Refit on all the training data (every fold), then the one look at the test split.
    model = result.refit(x_train, y_train, epochs=args.epochs, batch_size=32)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"refit on {len(x_train)} images; test accuracy: {accuracy:.4f}")


if __name__ == "__main__":  # required: worker processes import this file without running it
    main()
