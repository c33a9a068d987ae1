"""Record real Keras learning curves (sklearn digits, or a synthetic task) for offline pruner
benchmarks.

For each of ``--configs`` randomly drawn MLP configurations (1-3 Dense layers, 16-256 units
per layer, log-uniform Adam learning rate, batch size, dropout) this trains for ``--epochs``
epochs on a fixed 75/25 stratified split of ``sklearn.datasets.load_digits`` and writes one
CSV row per (config, epoch) with the training and validation loss/accuracy after that epoch.
A benchmark can then replay these curves through pruning algorithms (median pruner, ASHA, ...)
without retraining anything.

Configurations come from ``numpy.random.default_rng(seed)`` and each config's Keras seed is
``seed * 1000 + config_id``, so a rerun on the same software stack reproduces the table
(TensorFlow is pinned to one intra-op and one inter-op thread, which also keeps it deterministic
on CPU and leaves the other cores free).

Rerun (about 10-20 minutes on 2 CPU cores for the default size)::

    .venv/bin/python bench/record_curves.py --configs 120 --epochs 20 \
        --out bench/data/digits_curves.csv
    .venv/bin/python bench/record_curves.py --dataset synthetic --seed 1 --configs 100 \
        --epochs 20 --out bench/data/synthetic_curves.csv

The CSV is rewritten atomically every 10 configs, so an interrupted run keeps its progress;
``--resume`` continues from such a partial file instead of starting over.

This script deliberately uses only Keras, numpy and scikit-learn (not hpdeco).
"""

from __future__ import annotations

import argparse
import csv
import gc
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import tensorflow as tf

# Must happen before TensorFlow runs any op (and before keras builds anything).
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

import keras  # noqa: E402
from sklearn.datasets import load_digits, make_classification  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

CONFIG_COLUMNS = ["layers", "units", "lr", "batch_size", "dropout"]
CURVE_COLUMNS = ["loss", "accuracy", "val_loss", "val_accuracy"]
COLUMNS = ["config_id", "epoch", *CURVE_COLUMNS, *CONFIG_COLUMNS]
FLUSH_EVERY = 10
DROPOUT_MIN = 0.05  # dropout below this is treated as "no dropout layer"


@dataclass(frozen=True)
class Config:
    """One sampled MLP configuration."""

    config_id: int
    units: tuple[int, ...]
    lr: float
    batch_size: int
    dropout: float

    @property
    def layers(self) -> int:
        return len(self.units)

    def describe(self) -> str:
        return (
            f"layers={self.layers} units={'-'.join(map(str, self.units))} "
            f"lr={fmt(self.lr)} batch={self.batch_size} dropout={fmt(self.dropout)}"
        )


def fmt(x: float) -> str:
    """Format a float with 5 significant digits; non-finite values become nan/inf/-inf."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.5g}"


def sample_configs(n: int, seed: int) -> list[Config]:
    """Draw ``n`` configurations from ``default_rng(seed)``, in config_id order."""
    rng = np.random.default_rng(seed)
    configs: list[Config] = []
    for config_id in range(n):
        layers = int(rng.integers(1, 4))  # 1..3
        units = tuple(int(u) * 16 for u in rng.integers(1, 17, size=layers))  # 16..256 step 16
        lr = float(10.0 ** rng.uniform(-4.0, -1.0))
        batch_size = int(rng.choice([32, 64, 128]))
        dropout = float(rng.uniform(0.0, 0.5))
        configs.append(Config(config_id, units, lr, batch_size, dropout))
    return configs


def load_data(dataset: str = "digits") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The data with a fixed stratified 75/25 split.

    ``digits``: sklearn's 8x8 digits, 64 features scaled to [0, 1]. ``synthetic``: a
    second, different task for checking that a pruner tuned on digits is not tuned to it:
    ``make_classification`` with 2000 rows, 30 features (12 informative), 5 classes, 3 %
    flipped labels, standardised with the training split's statistics; made offline.
    """
    if dataset == "digits":
        digits = load_digits()
        x = (digits.data / 16.0).astype(np.float32)
        y = digits.target.astype(np.int64)
    elif dataset == "synthetic":
        x, y = make_classification(
            n_samples=2000,
            n_features=30,
            n_informative=12,
            n_redundant=6,
            n_classes=5,
            n_clusters_per_class=2,
            flip_y=0.03,
            random_state=0,
        )
        x, y = x.astype(np.float32), y.astype(np.int64)
    else:
        raise SystemExit(f"--dataset {dataset!r} is unknown; use digits or synthetic")
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    if dataset == "synthetic":
        # Standardise with the training split only, so nothing of the validation split leaks.
        mean, std = x_tr.mean(axis=0), x_tr.std(axis=0) + 1e-7
        x_tr, x_val = (x_tr - mean) / std, (x_val - mean) / std
    return x_tr, x_val, y_tr, y_val


def build_model(cfg: Config, n_features: int, n_classes: int) -> keras.Model:
    """Dense/ReLU stack (+ optional dropout after each Dense) with a softmax head."""
    model = keras.Sequential([keras.Input(shape=(n_features,))])
    for u in cfg.units:
        model.add(keras.layers.Dense(u, activation="relu"))
        if cfg.dropout > DROPOUT_MIN:
            model.add(keras.layers.Dropout(cfg.dropout))
    model.add(keras.layers.Dense(n_classes, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=cfg.lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train_config(
    cfg: Config,
    epochs: int,
    seed: int,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> list[dict[str, str]]:
    """Train one config and return its per-epoch rows (already formatted as strings)."""
    x_tr, x_val, y_tr, y_val = data
    keras.utils.set_random_seed(seed * 1000 + cfg.config_id)
    model = build_model(cfg, x_tr.shape[1], int(y_tr.max()) + 1)
    hist = model.fit(
        x_tr,
        y_tr,
        batch_size=cfg.batch_size,
        epochs=epochs,
        validation_data=(x_val, y_val),
        verbose=0,
    ).history
    config_cells = {
        "layers": str(cfg.layers),
        "units": "-".join(map(str, cfg.units)),
        "lr": fmt(cfg.lr),
        "batch_size": str(cfg.batch_size),
        "dropout": fmt(cfg.dropout),
    }
    rows: list[dict[str, str]] = []
    for e in range(len(hist["loss"])):
        row = {"config_id": str(cfg.config_id), "epoch": str(e + 1)}
        row.update({c: fmt(hist[c][e]) for c in CURVE_COLUMNS})
        row.update(config_cells)
        rows.append(row)
    return rows


def write_csv_atomic(path: Path, rows: list[dict[str, str]]) -> None:
    """Write ``rows`` to ``path`` via a temp file in the same directory plus ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_partial(path: Path, epochs: int) -> list[dict[str, str]]:
    """Rows of configs that are complete (all ``epochs`` rows) in an existing partial CSV."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and list(rows[0].keys()) != COLUMNS:
        raise SystemExit(f"{path}: unexpected columns, refusing to resume")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["config_id"]] = counts.get(r["config_id"], 0) + 1
    return [r for r in rows if counts[r["config_id"]] == epochs]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", type=int, default=120, help="number of configurations")
    p.add_argument("--epochs", type=int, default=20, help="epochs per configuration")
    p.add_argument("--seed", type=int, default=0, help="sampling / Keras seed base")
    p.add_argument(
        "--dataset",
        choices=("digits", "synthetic"),
        default="digits",
        help="digits (sklearn load_digits) or synthetic (make_classification, 5 classes)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "data" / "digits_curves.csv",
        help="output CSV path",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep complete configs already in --out and train only the missing ones",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = load_data(args.dataset)
    configs = sample_configs(args.configs, args.seed)

    rows = read_partial(args.out, args.epochs) if args.resume else []
    done = {int(r["config_id"]) for r in rows}
    if done:
        print(f"resuming: {len(done)} configs already in {args.out}", file=sys.stderr)

    t_start = time.perf_counter()
    trained = 0
    for cfg in configs:
        if cfg.config_id in done:
            continue
        t0 = time.perf_counter()
        cfg_rows = train_config(cfg, args.epochs, args.seed, data)
        rows.extend(cfg_rows)
        trained += 1
        keras.backend.clear_session()
        gc.collect()
        print(
            f"[{cfg.config_id + 1:>4}/{args.configs}] {cfg.describe()} "
            f"val_acc={cfg_rows[-1]['val_accuracy']} {time.perf_counter() - t0:.1f}s",
            file=sys.stderr,
            flush=True,
        )
        if trained % FLUSH_EVERY == 0:
            rows.sort(key=lambda r: (int(r["config_id"]), int(r["epoch"])))
            write_csv_atomic(args.out, rows)

    rows.sort(key=lambda r: (int(r["config_id"]), int(r["epoch"])))
    write_csv_atomic(args.out, rows)
    print(
        f"wrote {len(rows)} rows to {args.out} in {time.perf_counter() - t_start:.0f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
