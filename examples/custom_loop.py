"""A custom training loop (no ``model.fit``): report each epoch, ask whether to stop.

Any loop works the same way: ``trial.report(value, step)`` after each epoch (a number, or
a dict of metrics holding the objective), then ``trial.should_prune()``; when it says yes,
``raise hpdeco.TrialPruned()`` inside ``with trial:`` and the search goes on. Here the
loop is TensorFlow's ``GradientTape`` around a Keras model.

    python examples/custom_loop.py                        # 12 trials x 10 epochs
    python examples/custom_loop.py --trials 2 --epochs 1 --store /tmp/loop.db
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's start-up logs

import keras
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import hpdeco
from hpdeco import hp


def train(trial: hpdeco.Trial, data: tuple, epochs: int) -> None:
    x_train, x_val, y_train, y_val = data
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(hp.Int("units", 16, 128, step=16), activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    optimizer = keras.optimizers.SGD(
        hp.Float("lr", 1e-3, 0.5, sampling="log"), momentum=hp.Float("momentum", 0.0, 0.9)
    )
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    batch_size = hp.Choice("batch_size", [32, 64])
    batches = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(2048, seed=0)

    @tf.function
    def step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        optimizer.apply_gradients(
            zip(
                tape.gradient(loss, model.trainable_variables),
                model.trainable_variables,
                strict=True,
            )
        )
        return loss

    for epoch in range(1, epochs + 1):
        losses = [float(step(x, y)) for x, y in batches.batch(batch_size)]
        predicted = np.argmax(model(x_val, training=False), axis=1)
        val_accuracy = float(np.mean(predicted == y_val))
        # every metric is stored; the objective (val_accuracy) drives pruning and the value
        trial.report({"loss": float(np.mean(losses)), "val_accuracy": val_accuracy}, step=epoch)
        if trial.should_prune():
            raise hpdeco.TrialPruned(f"val_accuracy={val_accuracy:.3f} at epoch {epoch}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--store", default="hpdeco.db")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    data = train_test_split(x, y, test_size=0.25, random_state=0)

    with hpdeco.search(
        objective="val_accuracy",
        max_trials=args.trials,
        pruner="median",
        store=args.store,
        study="custom_loop",
        seed=args.seed,
    ) as search:
        for trial in search:
            with trial:  # TrialPruned (or any error) ends this trial; the search goes on
                train(trial, data, args.epochs)
            keras.backend.clear_session()  # fit() is not used, so free the graph ourselves

    print()
    print(search.summary())


if __name__ == "__main__":
    main()
