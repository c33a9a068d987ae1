"""Cross-validation on sklearn's digits, 5 folds, side by side: hpdeco with fold pruning
(its default), hpdeco without, and scikit-learn's GridSearchCV / RandomizedSearchCV over
the same Keras model.

Jobs (the same configurations for every method):

- ``grid-lr``: a grid over 6 learning rates (1e-4 .. 3e-2), 32 relu units: the
  GridSearchCV job;
- ``grid-lr-units``: the same learning rates x units (8, 32, 128), 18 configurations;
- ``random``: 10 configurations drawn by hpdeco's random sampler (learning rate log-uniform
  in 1e-4 .. 1e-1, units 8 .. 128 step 8): the RandomizedSearchCV(n_iter=10) job.
  scikit-learn gets the same 10 configurations (a list of one-point distributions, which
  RandomizedSearchCV samples without replacement).

Methods:

- ``hpdeco``: ``tune(cv=folds)`` with its defaults: the median pruner within folds and
  pruning between folds (``prune_runs``);
- ``hpdeco-no-fold-pruning``: ``prune_runs=False`` (the median pruner still works within
  folds);
- ``hpdeco-full``: ``pruner="none", prune_runs=False``: every fold of every configuration
  trained to the end, the same folds and epochs as scikit-learn's loop; Keras validates
  the held-out fold after every epoch (the per-epoch curves hpdeco keeps), scikit-learn
  scores it once after the last;
- ``hpdeco-full-validate-last``: the same with ``validation_freq=epochs`` (Keras validates
  after the last epoch only): the same work as scikit-learn's loop, so its wall time
  against scikit-learn's is hpdeco's own cost;
- ``keras-loop``: no tuner: a hand-written loop over the configurations and folds calling
  ``model.fit`` with the fold held out as ``validation_data``, as ``tune(cv=)`` does; it
  splits hpdeco's cost against scikit-learn into Keras validating each epoch (scikit-learn
  predicts once, after the last) and hpdeco's own bookkeeping;
- ``sklearn``: GridSearchCV / RandomizedSearchCV (``n_jobs=1``, ``refit=False``) over
  ``KerasDigits``, a small scikit-learn classifier written here around the same model.

Everyone gets the same folds (``StratifiedKFold(5, shuffle=True, random_state=seed)``) and
the same model: each build seeds Keras with the run's seed first, so one configuration
trains identically whoever trains it. A fold's score is the held-out accuracy after the
last epoch (scikit-learn's ``score``; hpdeco runs with ``trial_value="last"``, its default
takes each fold's best epoch). Each (job, seed, method) runs in its own process after an
untimed warm-up fit (``--quick``: all in one process), in an order rotated from seed to
seed; the wall time is that of the search call alone.

Reported per job and method (medians over seeds): folds trained (started; a fold stopped by
the pruner counts), epochs trained, wall time, best mean CV accuracy, the best
configuration, and whether it is full CV's (``hpdeco-full``'s) best.

    .venv/bin/python bench/cv.py                      # 3 jobs x 2 seeds x 5-6 methods (~28 min)
    .venv/bin/python bench/cv.py --quick --out /tmp/cv.json   # a smoke run (~1 min)

Raw results go to bench/results/cv.json (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "cv.json"
JOBS = ("grid-lr", "grid-lr-units", "random")
METHODS = (
    "hpdeco",
    "hpdeco-no-fold-pruning",
    "hpdeco-full",
    "hpdeco-full-validate-last",
    "keras-loop",
    "sklearn",
)
LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]
UNITS = [8, 32, 128]
RANDOM_TRIALS = 10
BATCH_SIZE = 64

import provenance  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402

import hpdeco  # noqa: E402  (after the environment: hpdeco imports no TensorFlow itself)
from hpdeco import hp  # noqa: E402

# The run's settings, set by one_run before any model is built (one run per process).
SETTINGS: dict[str, Any] = {"seed": 0, "lrs": LRS, "units": UNITS}


def make_model(units: int, lr: float, seed: int) -> Any:
    """The one model every method trains: 64 inputs, ``units`` relu units, 10 classes,
    Adam at ``lr``; Keras seeded first, so a configuration trains the same every time."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


@hpdeco.tunable
def grid_lr() -> Any:
    return make_model(32, hp.Choice("lr", SETTINGS["lrs"]), SETTINGS["seed"])


@hpdeco.tunable
def grid_lr_units() -> Any:
    units = hp.Choice("units", SETTINGS["units"])
    return make_model(units, hp.Choice("lr", SETTINGS["lrs"]), SETTINGS["seed"])


def draw_random() -> tuple[float, int]:
    return hp.Float("lr", 1e-4, 1e-1, sampling="log"), hp.Int("units", 8, 128, step=8)


@hpdeco.tunable
def random_space() -> Any:
    lr, units = draw_random()
    return make_model(units, lr, SETTINGS["seed"])


BUILDS = {"grid-lr": grid_lr, "grid-lr-units": grid_lr_units, "random": random_space}


class KerasDigits(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier around :func:`make_model`: what a user writes to give a
    Keras model to GridSearchCV. ``BaseEstimator`` gives ``get_params``/``set_params``
    from ``__init__``'s arguments (scikit-learn 1.6+ also requires it for its tags)."""

    def __init__(self, units: int = 32, lr: float = 1e-3, epochs: int = 3, seed: int = 0) -> None:
        self.units = units
        self.lr = lr
        self.epochs = epochs
        self.seed = seed

    def fit(self, x: Any, y: Any) -> KerasDigits:
        self.model_ = make_model(int(self.units), float(self.lr), self.seed)
        self.model_.fit(x, y, epochs=self.epochs, batch_size=BATCH_SIZE, verbose=0)
        return self

    def predict(self, x: Any) -> Any:
        return self.model_.predict(x, batch_size=256, verbose=0).argmax(axis=1)

    def score(self, x: Any, y: Any) -> float:
        return float((self.predict(x) == y).mean())


def load_digits(limit: int | None) -> tuple[Any, Any]:
    from sklearn.datasets import load_digits as load

    x, y = load(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return (x[:limit], y[:limit]) if limit else (x, y)


def random_configurations(seed: int, trials: int) -> list[dict[str, Any]]:
    """The configurations hpdeco's random sampler draws with ``seed`` for the random job,
    drawn without training (the draws of trial n depend on the seed and n only)."""
    from hpdeco.samplers import RandomSampler

    drawn = []
    with hpdeco.search(
        objective="score",
        direction="max",
        sampler=RandomSampler(seed=seed),
        pruner="none",
        max_trials=trials,
        store=":memory:",
        verbose=0,
    ) as search:
        for trial in search:
            lr, units = draw_random()
            drawn.append({"lr": lr, "units": units})
            trial.report(0.0, 1)
    return drawn


def one_run(job: str, method: str, seed: int, quick: bool) -> dict[str, Any]:
    """In a child process: one search of ``job`` by ``method``, timed."""
    from sklearn.model_selection import StratifiedKFold

    folds = 2 if quick else 5
    epochs = 1 if quick else 3
    if quick:
        SETTINGS.update(lrs=LRS[2:4], units=UNITS[:2])
    SETTINGS["seed"] = seed
    x, y = load_digits(300 if quick else None)
    trials = 3 if quick else RANDOM_TRIALS
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    make_model(8, 1e-3, seed).fit(x[:64], y[:64], epochs=1, verbose=0)  # warm-up, untimed
    if method == "sklearn":
        return sklearn_run(job, seed, x, y, cv, epochs, trials)
    if method == "keras-loop":
        return keras_loop_run(job, seed, x, y, cv, epochs, trials)
    return hpdeco_run(job, method, seed, x, y, cv, epochs, trials)


def hpdeco_run(
    job: str, method: str, seed: int, x: Any, y: Any, cv: Any, epochs: int, trials: int
) -> dict[str, Any]:
    from hpdeco.samplers import RandomSampler

    pruning = {
        "hpdeco": {},
        "hpdeco-no-fold-pruning": {"prune_runs": False},
        "hpdeco-full": {"pruner": "none", "prune_runs": False},
        # Keras validates the held-out fold after the last epoch only, as scikit-learn
        # scores it once after fit: the same work, so the difference is hpdeco's.
        "hpdeco-full-validate-last": {
            "pruner": "none",
            "prune_runs": False,
            "validation_freq": epochs,
        },
    }[method]
    with tempfile.TemporaryDirectory(prefix="cv-bench-") as tmp:
        started = time.perf_counter()
        result = BUILDS[job].tune(
            x,
            y,
            cv=cv,
            epochs=epochs,
            batch_size=BATCH_SIZE,
            objective="val_accuracy",
            trial_value="last",
            sampler=RandomSampler(seed=seed) if job == "random" else "grid",
            max_trials=trials if job == "random" else None,
            store=str(Path(tmp) / "cv.db"),
            study=job,
            seed=seed,
            verbose=0,
            **pruning,
        )
        wall = time.perf_counter() - started
        records = result.trials
        best = result.best
        row = {
            "job": job,
            "method": method,
            "seed": seed,
            "wall_s": wall,
            "configurations": len(records),
            "folds_trained": sum(len(fold_curves(r)) for r in records),
            "epochs_trained": sum(
                len(curves.get("loss", {})) for r in records for curves in fold_curves(r)
            ),
            "states": {s: sum(r.state.value == s for r in records) for s in ("COMPLETE", "PRUNED")},
            "best_params": dict(best.params),
            "best_cv_accuracy": best.value,
            "best_fold_scores": [best.run_values[k] for k in sorted(best.run_values)],
            "trials": [
                {
                    "params": dict(r.params),
                    "state": r.state.value,
                    "folds": len(fold_curves(r)),
                    "value": r.value,
                    "fold_scores": [r.run_values[k] for k in sorted(r.run_values)],
                    "reason": r.reason,
                }
                for r in records
            ],
        }
        result.close()
    return row


def configurations(job: str, seed: int, trials: int) -> list[dict[str, Any]]:
    """The configurations of ``job``, in the order hpdeco's grid walks them."""
    if job == "random":
        return random_configurations(seed, trials)
    if job == "grid-lr":
        return [{"lr": lr, "units": 32} for lr in SETTINGS["lrs"]]
    return [{"units": u, "lr": lr} for u in SETTINGS["units"] for lr in SETTINGS["lrs"]]


def keras_loop_run(
    job: str, seed: int, x: Any, y: Any, cv: Any, epochs: int, trials: int
) -> dict[str, Any]:
    """The hand-written loop: every configuration on every fold, ``model.fit`` with the
    fold held out as ``validation_data`` (as hpdeco's ``tune(cv=)`` fits), no tuner."""
    drawn = configurations(job, seed, trials)
    folds = list(cv.split(x, y))
    started = time.perf_counter()
    scores = []
    for config in drawn:
        mine = []
        for train, held_out in folds:
            model = make_model(config["units"], config["lr"], seed)
            history = model.fit(
                x[train],
                y[train],
                validation_data=(x[held_out], y[held_out]),
                epochs=epochs,
                batch_size=BATCH_SIZE,
                verbose=0,
            )
            mine.append(float(history.history["val_accuracy"][-1]))
        scores.append(mine)
    wall = time.perf_counter() - started
    means = [sum(f) / len(f) for f in scores]
    best = max(range(len(drawn)), key=lambda i: (means[i], -i))
    return {
        "job": job,
        "method": "keras-loop",
        "seed": seed,
        "wall_s": wall,
        "configurations": len(drawn),
        "folds_trained": len(drawn) * len(folds),
        "epochs_trained": len(drawn) * len(folds) * epochs,
        "states": {"COMPLETE": len(drawn), "PRUNED": 0},
        "best_params": drawn[best],
        "best_cv_accuracy": means[best],
        "best_fold_scores": scores[best],
        "trials": [
            {"params": c, "value": m, "fold_scores": f}
            for c, m, f in zip(drawn, means, scores, strict=True)
        ],
    }


def fold_curves(record: Any) -> list[Any]:
    """Each fold's curves that a trial trained. A trial stopped after its first fold has
    them in ``metrics``, not ``run_metrics`` (which the store fills from two runs on)."""
    if record.run_metrics:
        return list(record.run_metrics.values())
    return [record.metrics] if record.metrics else []


def sklearn_run(
    job: str, seed: int, x: Any, y: Any, cv: Any, epochs: int, trials: int
) -> dict[str, Any]:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    estimator = KerasDigits(epochs=epochs, seed=seed)
    if job == "random":
        drawn = configurations(job, seed, trials)
        grid = [{"lr": [c["lr"]], "units": [c["units"]]} for c in drawn]
        search: Any = RandomizedSearchCV(
            estimator, grid, n_iter=len(grid), cv=cv, n_jobs=1, refit=False,
            random_state=seed, error_score="raise",
        )  # fmt: skip
    else:
        units = [32] if job == "grid-lr" else SETTINGS["units"]
        grid = {"lr": SETTINGS["lrs"], "units": units}
        search = GridSearchCV(estimator, grid, cv=cv, n_jobs=1, refit=False, error_score="raise")
    started = time.perf_counter()
    search.fit(x, y)
    wall = time.perf_counter() - started
    results = search.cv_results_
    splits = search.n_splits_
    candidates = len(results["params"])
    best = int(search.best_index_)
    return {
        "job": job,
        "method": "sklearn",
        "seed": seed,
        "wall_s": wall,
        "configurations": candidates,
        "folds_trained": candidates * splits,
        "epochs_trained": candidates * splits * epochs,
        "states": {"COMPLETE": candidates, "PRUNED": 0},
        "best_params": {"lr": search.best_params_["lr"], "units": search.best_params_["units"]},
        "best_cv_accuracy": float(search.best_score_),
        "best_fold_scores": [float(results[f"split{k}_test_score"][best]) for k in range(splits)],
        "trials": [
            {
                "params": dict(results["params"][i]),
                "value": float(results["mean_test_score"][i]),
                "fold_scores": [float(results[f"split{k}_test_score"][i]) for k in range(splits)],
            }
            for i in range(candidates)
        ],
    }


def spawn(job: str, method: str, seed: int, quick: bool) -> dict[str, Any]:
    """One run in a process of its own (``quick``: in this one; a smoke run times nothing,
    and a TensorFlow start per run was most of its minute)."""
    if quick:
        row = one_run(job, method, seed, quick)
        report_row(job, method, seed, row)
        return row
    with tempfile.TemporaryDirectory(prefix="cv-bench-") as tmp:
        out = Path(tmp) / "run.json"
        spec = json.dumps([job, method, seed, quick])
        proc = subprocess.run(
            [sys.executable, __file__, "--run", spec, "--run-out", str(out)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"{job} {method} seed {seed} failed:\n{proc.stderr[-3000:]}")
        row = json.loads(out.read_text())
    report_row(job, method, seed, row)
    return row


def report_row(job: str, method: str, seed: int, row: dict[str, Any]) -> None:
    print(
        f"  {job:<13} {method:<22} seed {seed}: {row['folds_trained']:3d} folds, "
        f"{row['wall_s']:6.1f} s, best {row['best_cv_accuracy']:.4f} {row['best_params']}",
        file=sys.stderr,
        flush=True,
    )


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same configuration (grid-lr's hpdeco names no units: the fixed 32)."""
    return all(a[k] == b[k] for k in a.keys() & b.keys())


def summarize(rows: list[dict[str, Any]], jobs: list[str], methods: list[str]) -> dict[str, Any]:
    """Per job and method: medians over seeds, and whether each seed found full CV's best."""
    summary: dict[str, Any] = {}
    for job in jobs:
        full = {r["seed"]: r for r in rows if r["job"] == job and r["method"] == "hpdeco-full"}
        summary[job] = {}
        for method in methods:
            mine = [r for r in rows if r["job"] == job and r["method"] == method]
            if not mine:
                continue
            agree = [same(r["best_params"], full[r["seed"]]["best_params"]) for r in mine]
            summary[job][method] = {
                "folds_median": statistics.median(r["folds_trained"] for r in mine),
                "epochs_median": statistics.median(r["epochs_trained"] for r in mine),
                "wall_s_median": statistics.median(r["wall_s"] for r in mine),
                "best_cv_accuracy_median": statistics.median(r["best_cv_accuracy"] for r in mine),
                "best_params": [r["best_params"] for r in mine],
                "same_best_as_full_cv": sum(agree),
                "seeds": len(mine),
            }
            if full and method != "hpdeco-full":
                summary[job][method]["folds_vs_full_median"] = statistics.median(
                    r["folds_trained"] / full[r["seed"]]["folds_trained"] for r in mine
                )
            sk = {r["seed"]: r for r in rows if r["job"] == job and r["method"] == "sklearn"}
            if sk and method != "sklearn":
                summary[job][method]["wall_vs_sklearn_median"] = statistics.median(
                    r["wall_s"] / sk[r["seed"]]["wall_s"] for r in mine if r["seed"] in sk
                )
    return summary


def goals(rows: list[dict[str, Any]], summary: dict[str, Any]) -> dict[str, Any]:
    """The issue's two goals, job by job."""
    out: dict[str, Any] = {}
    for job, methods in summary.items():
        pruned, full, sk = (methods.get(m) for m in ("hpdeco", "hpdeco-full", "sklearn"))
        entry: dict[str, Any] = {}
        if pruned and full:
            entry["fold_pruning_at_most_half_with_same_best"] = (
                pruned["folds_vs_full_median"] <= 0.5
                and pruned["same_best_as_full_cv"] == pruned["seeds"]
            )
        if full and sk:
            entry["full_cv_wall_at_most_1.05x_sklearn"] = full["wall_vs_sklearn_median"] <= 1.05
            last = methods.get("hpdeco-full-validate-last")
            if last:
                entry["full_cv_validate_last_wall_at_most_1.05x_sklearn"] = (
                    last["wall_vs_sklearn_median"] <= 1.05
                )
            # Equal folds: the same configurations, every fold trained to the end, and the
            # same fold scores (the same model trained the same way).
            pairs = [
                (a, b)
                for a in rows
                for b in rows
                if a["job"] == b["job"] == job
                and a["seed"] == b["seed"]
                and (a["method"], b["method"]) == ("hpdeco-full", "sklearn")
            ]
            entry["full_cv_same_fold_scores_as_sklearn"] = all(
                abs(x - y) < 1e-6
                for a, b in pairs
                for x, y in zip(a["best_fold_scores"], b["best_fold_scores"], strict=True)
            )
        out[job] = entry
    return out


def table(summary: dict[str, Any]) -> str:
    lines = [
        "| job | method | folds trained | vs full CV | epochs | wall s | vs sklearn | "
        "best mean CV acc | best configuration | same best as full CV |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for job, methods in summary.items():
        for method, s in methods.items():
            configs = sorted({json.dumps(p, sort_keys=True) for p in s["best_params"]})
            shown = "; ".join(
                ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in
                          json.loads(c).items())
                for c in configs
            )  # fmt: skip
            vs_full = s.get("folds_vs_full_median")
            vs_sk = s.get("wall_vs_sklearn_median")
            lines.append(
                f"| {job} | {method} | {s['folds_median']:g} | "
                f"{'-' if vs_full is None else f'{vs_full:.2f}'} | {s['epochs_median']:g} | "
                f"{s['wall_s_median']:.1f} | {'-' if vs_sk is None else f'{vs_sk:.3f}x'} | "
                f"{s['best_cv_accuracy_median']:.4f} | {shown} | "
                f"{s['same_best_as_full_cv']}/{s['seeds']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default=",".join(JOBS), help=f"of {', '.join(JOBS)}")
    parser.add_argument(
        "--methods",
        help=f"of {', '.join(METHODS)} (default: all; keras-loop on grid-lr only, for time)",
    )
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny data and grids")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--run-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        job, method, seed, quick = json.loads(args.run)
        Path(args.run_out).write_text(json.dumps(one_run(job, method, seed, quick)))
        return
    jobs = [j for j in args.jobs.split(",") if j]
    methods = [m for m in (args.methods or ",".join(METHODS)).split(",") if m]
    for name, known in [*((j, JOBS) for j in jobs), *((m, METHODS) for m in methods)]:
        if name not in known:
            raise SystemExit(f"unknown {name!r}; use one of {', '.join(known)}")
    record: dict[str, Any] = {
        **provenance.record("tensorflow", "keras", "numpy", "scikit-learn"),
        "quick": args.quick,
        "folds": 2 if args.quick else 5,
        "epochs": 1 if args.quick else 3,
        "batch_size": BATCH_SIZE,
        "seeds": list(range(args.seeds)),
    }
    started = time.perf_counter()
    rows = []
    for seed in range(args.seeds):
        for job in jobs:
            # Rotate the order from seed to seed: no method always runs first or last.
            mine = [m for m in methods if args.methods or m != "keras-loop" or job == "grid-lr"]
            turn = seed % len(mine)
            for method in mine[turn:] + mine[:turn]:
                rows.append(spawn(job, method, seed, args.quick))
    summary = summarize(rows, jobs, methods)
    record.update(
        summary=summary,
        goals=goals(rows, summary),
        load_average_at_end=list(os.getloadavg()),
        total_s=time.perf_counter() - started,
        runs=rows,
    )
    print(table(summary))
    print()
    for job, entry in record["goals"].items():
        print(f"{job}: " + ", ".join(f"{k}={v}" for k, v in entry.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"raw results: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
