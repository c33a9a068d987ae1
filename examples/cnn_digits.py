"""Tune a small convolutional network on the 8x8 digit images, pruning bad trials early.

The images are scikit-learn's digits (1797 images of 8x8 pixels), so this runs on a CPU in
a few minutes. The median pruner stops a trial whose validation accuracy, at some epoch, is
below the median of the finished trials at that epoch.

    python examples/cnn_digits.py                         # 15 trials x 12 epochs
    python examples/cnn_digits.py --trials 2 --epochs 1 --store /tmp/cnn.db
    hpdeco trials cnn_digits --store hpdeco.db            # then look at the trials
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
    model = keras.Sequential([keras.Input((8, 8, 1))])
    for i in range(hp.Int("conv_layers", 1, 2, default=1)):
        model.add(
            keras.layers.Conv2D(
                hp.Int(f"filters_{i}", 8, 64, step=8, default=16),
                kernel_size=hp.Choice("kernel_size", [2, 3]),
                padding="same",
                activation="relu",
            )
        )
    if hp.Boolean("pooling", default=True):
        model.add(keras.layers.MaxPooling2D(2))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(hp.Int("dense_units", 32, 128, step=32), activation="relu"))
    model.add(keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log", default=1e-3)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def load_images() -> tuple:
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32").reshape(-1, 8, 8, 1)  # images, one channel
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--store", default="hpdeco.db")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    x_train, x_val, y_train, y_val = load_images()
    print(build_model.space, end="\n\n")

    with hpdeco.search(
        objective="val_accuracy",
        max_trials=args.trials,
        pruner="median",
        store=args.store,
        study="cnn_digits",
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
    print(search.summary())
    model = search.best_model(build_model)  # the best trial, with its best epoch's weights
    _, accuracy = model.evaluate(x_val, y_val, verbose=0)
    print(f"best model, evaluated again: val_accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
