"""RandomizedSearchCV's job in hpdeco: 10 random configurations, 5-fold cross-validation,
then the best refit on all the training data and evaluated on a held-out test split.

scikit-learn's version is ``RandomizedSearchCV(model, distributions, n_iter=10,
cv=5).fit(x, y)``. Here ``max_trials`` is ``n_iter``, the distributions are the ``hp.*``
calls in the model function, and ``cv=5`` makes each trial's value the mean of its five
folds (their spread kept); a configuration clearly behind the best after its first folds
is stopped there, and the median pruner stops a hopeless fold between epochs.

    python examples/random_search_cv.py                  # 10 configurations x 5 folds
    python examples/random_search_cv.py --trials 2 --folds 2 --epochs 1 --store /tmp/r.db
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


@hpdeco.tunable
def build_model() -> keras.Model:
    model = keras.Sequential([keras.Input((64,))])
    model.add(keras.layers.Dense(hp.Int("units", 16, 256, step=16), activation="relu"))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(0.2))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-1, sampling="log", default=1e-3)),
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
    parser.add_argument("--trials", type=int, default=10, help="n_iter")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="processes (n_jobs)")
    parser.add_argument("--store", default="hpdeco.db")
    parser.add_argument("--seed", type=int, default=0, help="the draws and the folds")
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=y
    )
    result = build_model.tune(
        x_train,
        y_train,
        cv=args.folds,
        epochs=args.epochs,
        batch_size=32,
        objective="val_accuracy",
        trial_value="last",  # each fold scored after its last epoch, as scikit-learn does
        sampler="random",
        max_trials=args.trials,
        workers=args.workers,
        store=args.store,
        study="random_search_cv",
        seed=args.seed,
        verbose=0,
    )
    print(result.summary())
    folds = sum(len(r.run_values) for r in result.trials)
    pruned = sum(r.state is hpdeco.TrialState.PRUNED for r in result.trials)
    print(f"folds trained: {folds} of {len(result.trials) * args.folds} "
          f"({pruned} configurations pruned)")  # fmt: skip

    best = result.best
    spread = best.spread
    where = (
        ""
        if spread is None
        else f" (std {spread[0]:.4f}, min {spread[1]:.4f}, max {spread[2]:.4f})"
    )
    params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in best.params.items())  # fmt: skip
    print(f"best: {params}: mean CV accuracy {best.value:.4f} over {len(best.run_values)} "
          f"folds{where}")  # fmt: skip

    model = result.refit(x_train, y_train, epochs=args.epochs, batch_size=32)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"refit on {len(x_train)} images; test accuracy: {accuracy:.4f}")


if __name__ == "__main__":  # workers=N imports this file in each worker process
    main()
