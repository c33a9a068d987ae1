"""Several objectives: hpdeco's multi-objective samplers against Optuna's, in one run.

Three parts:

1. **Hypervolume on test problems.** Each sampler runs ``--trials`` (200) trials per
   problem for each of ``--seeds`` (20) seeds, through its library's public loop
   (``hpdeco.search(objective=[...])`` with an in-memory store and ``trial.set_value``;
   ``optuna.create_study(directions=[...]).optimize``). The table gives the median over
   seeds of the hypervolume of the feasible front found after 50 and after 200 trials (the
   first 50 trials of the same runs: no sampler here knows the budget). Problems (every
   objective minimised, variables in [0, 1]):

   - ``zdt1``, ``zdt2``: Zitzler, Deb and Thiele's two-objective problems with 8 variables
     (convex and concave fronts); reference point (1.1, 11), which every point of the space
     is inside (f1 <= 1, f2 <= 10), so no run scores 0; the best possible hypervolume is
     12.1 - 1/3 (zdt1) and 12.1 - 2/3 (zdt2);
   - ``dtlz2``: Deb, Thiele, Laumanns and Zitzler's three-objective problem with 8
     variables (front: the unit sphere's positive octant); reference point (2.5, 2.5, 2.5),
     the largest any objective reaches (1 + g <= 2.5); best possible 2.5^3 - pi/6.

   Samplers: hpdeco ``nsga2``, ``motpe``, ``default`` (what ``hpdeco.search`` picks for
   several objectives: :class:`hpdeco.samplers.multi.MultiObjectiveSampler`) and
   ``random``; Optuna's ``NSGAIISampler`` and ``TPESampler`` (its multi-objective TPE),
   each with its defaults and the run's seed.

2. **Bookkeeping.** Milliseconds per trial over ``--timing-trials`` (200) trials of zdt1
   and of dtlz2 (``--timing-problems``; the objective costs microseconds, so this is the
   library's own cost: sampler and store; dtlz2's three objectives make MOTPE's
   hypervolumes dearer), both with the store in memory (the sampler's cost) and with an
   SQLite file (Optuna: its SQLite RDB storage).

3. **Keras: accuracy against parameters on digits.** Small MLPs (1-3 hidden layers of
   8-128 units, learning rate) trained ``--epochs`` (8) epochs on scikit-learn's digits;
   objectives ``val_accuracy`` (max) and ``params`` (min, set before fit with
   ``trial.set_value("params", model.count_params())``), ``--keras-seeds`` (8) seeds.
   hpdeco's default sampler with its default pruner (``median``), the same with
   ``pruner="none"``, and Optuna's TPE (which cannot prune with several objectives). The
   unpruned runs and Optuna's run ``--keras-trials`` (30) trials; the pruned run goes on to
   ``--keras-extra`` (20) more, so that it can show what the epochs it saved buy. Two
   tables, the hypervolume of the front of COMPLETE trials (reference: accuracy 0.5 and the
   largest model of the space, parameters scaled by that size, so the best possible is below
   0.5):

   - the same ``--keras-trials`` trials for each: hypervolume and epochs trained;
   - at equal hypervolume, per seed: the epochs the pruned search needed to reach the
     hypervolume the unpruned one ended with (its whole budget, trials x epochs), when the
     unpruned search itself first reached it, and each one's hypervolume after the unpruned
     search's epoch budget.

   Training on several CPU threads is not bit-for-bit repeatable, and one different
   validation accuracy changes a pruning decision and then the sampler's path: a rerun
   gives other figures per seed, hence the seeds.

4. **Pruning replayed on recorded curves.** The recorded learning curves of
   ``bench/data/*_curves.csv`` (MLPs of 1-3 layers on digits and on a synthetic task, 20
   epochs each) replayed through ``trial.report``/``should_prune`` in ``--orders`` (10)
   random orders, objectives ``val_accuracy`` (max) and the MLP's parameter count (min,
   set before the first epoch), with the default median pruner and with none: the epochs
   used and the hypervolume of the final front (reference: accuracy 0.5 and the table's
   largest model). The order is random (as a random sampler would give), which the live
   Keras part, whose sampler proposes mostly small models, does not show.

Optuna is optional (``pip install optuna``); without it its columns are left out.

Rerun (about 25 minutes on 2 busy cores, and 30 more for the Keras part; ``--quick``
takes about a minute)::

    nice .venv/bin/python bench/multiobjective.py --out bench/results/multiobjective.json

The reported seeds are 0-19; settings were chosen on ``--first-seed 1000`` only. With
``--parts``, the parts not run keep their results from an existing ``--out`` file.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import hpdeco  # noqa: E402
from hpdeco import hp  # noqa: E402
from hpdeco.pareto import hypervolume  # noqa: E402

# -- the test problems ---------------------------------------------------------------------------

VARIABLES = 8


def _draw(trial: Any, n: int) -> list[float]:
    """``n`` variables in [0, 1], from hpdeco's ``hp`` (trial None) or an Optuna trial."""
    if trial is None:
        return [hp.Float(f"x{i}", 0.0, 1.0) for i in range(n)]
    return [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(n)]


def zdt1(x: Sequence[float]) -> tuple[float, ...]:
    g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
    return x[0], g * (1.0 - math.sqrt(x[0] / g))


def zdt2(x: Sequence[float]) -> tuple[float, ...]:
    g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
    return x[0], g * (1.0 - (x[0] / g) ** 2)


def dtlz2(x: Sequence[float]) -> tuple[float, ...]:
    g = sum((v - 0.5) ** 2 for v in x[2:])
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    r = 1.0 + g
    return r * math.cos(a) * math.cos(b), r * math.cos(a) * math.sin(b), r * math.sin(a)


@dataclass(frozen=True)
class Problem:
    name: str
    function: Callable[[Sequence[float]], tuple[float, ...]]
    reference: tuple[float, ...]
    best: float  # the best possible hypervolume

    @property
    def objectives(self) -> int:
        return len(self.reference)


PROBLEMS = {
    "zdt1": Problem("zdt1", zdt1, (1.1, 11.0), 1.1 * 11.0 - 1.0 / 3.0),
    "zdt2": Problem("zdt2", zdt2, (1.1, 11.0), 1.1 * 11.0 - 2.0 / 3.0),
    "dtlz2": Problem("dtlz2", dtlz2, (2.5, 2.5, 2.5), 2.5**3 - math.pi / 6.0),
}


def front_volume(points: list[tuple[float, ...]], reference: Sequence[float]) -> float:
    """The hypervolume of the non-dominated ones among ``points`` (all minimised)."""
    from hpdeco.samplers._ranking import nondominated_fronts

    if not points:
        return 0.0
    import numpy as np

    fronts = nondominated_fronts(np.array(points, dtype=float))
    return hypervolume([p for p, f in zip(points, fronts, strict=True) if f == 0], reference)


# -- the samplers --------------------------------------------------------------------------------

HPDECO = ("default", "nsga2", "motpe", "random")
OPTUNA = ("optuna-nsga2", "optuna-tpe")


def hpdeco_sampler(name: str, seed: int) -> Any:
    from hpdeco.samplers.motpe import MOTPESampler
    from hpdeco.samplers.multi import MultiObjectiveSampler
    from hpdeco.samplers.nsga2 import NSGA2Sampler
    from hpdeco.samplers.random import RandomSampler

    makers: dict[str, Callable[..., Any]] = {
        "default": MultiObjectiveSampler,
        "nsga2": NSGA2Sampler,
        "motpe": MOTPESampler,
        "random": RandomSampler,
    }
    return makers[name](seed=seed)


def optuna_sampler(name: str, seed: int) -> Any:
    import optuna

    if name == "optuna-nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def has_optuna() -> bool:
    try:
        import optuna  # noqa: F401
    except ImportError:
        return False
    return True


def run_hpdeco(problem: Problem, sampler: str, seed: int, trials: int, store: str) -> list:
    names = [f"f{k}" for k in range(problem.objectives)]
    points: list[tuple[float, ...]] = []
    with hpdeco.search(
        objective=[(n, "min") for n in names],
        store=store,
        study="mo",
        max_trials=trials,
        sampler=hpdeco_sampler(sampler, seed),
        verbose=0,
    ) as search:
        for trial in search:
            values = problem.function(_draw(None, VARIABLES))
            for name, value in zip(names[1:], values[1:], strict=True):
                trial.set_value(name, value)
            trial.value = values[0]
            points.append(values)
    return points


def run_optuna(problem: Problem, sampler: str, seed: int, trials: int, storage: Any) -> list:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        directions=["minimize"] * problem.objectives,
        sampler=optuna_sampler(sampler, seed),
        storage=storage,
    )
    points: list[tuple[float, ...]] = []

    def objective(trial: Any) -> tuple[float, ...]:
        values = problem.function(_draw(trial, VARIABLES))
        points.append(values)
        return values

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=trials)
    return points


def volume_job(job: tuple[str, str, int, int, list[int]]) -> dict[str, Any]:
    name, sampler, seed, trials, checkpoints = job
    problem = PROBLEMS[name]
    start = time.perf_counter()
    if sampler.startswith("optuna"):
        points = run_optuna(problem, sampler, seed, trials, None)
    else:
        points = run_hpdeco(problem, sampler, seed, trials, ":memory:")
    seconds = time.perf_counter() - start
    volumes = {n: front_volume(points[:n], problem.reference) for n in checkpoints}
    return {"problem": name, "sampler": sampler, "seed": seed, "hv": volumes, "seconds": seconds}


def timing_job(job: tuple[str, str, int, int, str]) -> dict[str, Any]:
    sampler, where, seed, trials, name = job
    problem = PROBLEMS[name]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "study.db")
        start = time.perf_counter()
        if sampler.startswith("optuna"):
            storage = f"sqlite:///{path}" if where == "sqlite" else None
            run_optuna(problem, sampler, seed, trials, storage)
        else:
            run_hpdeco(problem, sampler, seed, trials, path if where == "sqlite" else ":memory:")
        seconds = time.perf_counter() - start
    return {
        "problem": name,
        "sampler": sampler,
        "store": where,
        "seed": seed,
        "trials": trials,
        "ms_per_trial": 1000 * seconds / trials,
    }


# -- Keras: accuracy against parameters on digits ------------------------------------------------

KERAS_OBJECTIVES = [("val_accuracy", "max"), ("params", "min")]
KERAS_MODES = ("hpdeco-median", "hpdeco-none", "optuna-tpe")
LARGEST = 64 * 128 + 128 + 2 * (128 * 128 + 128) + 128 * 10 + 10  # 3 layers of 128 units
KERAS_REFERENCE = (-0.5, 1.0)  # accuracy 0.5, the largest model (parameters / LARGEST)


def keras_config(trial: Any) -> dict[str, Any]:
    """The MLP's settings, from hpdeco's ``hp`` (trial None) or an Optuna trial."""
    if trial is None:
        layers = hp.Int("layers", 1, 3)
        units = [hp.Int(f"units_{i}", 8, 128, sampling="log") for i in range(layers)]
        return {"units": units, "lr": hp.Float("lr", 1e-3, 3e-2, sampling="log")}
    layers = trial.suggest_int("layers", 1, 3)
    units = [trial.suggest_int(f"units_{i}", 8, 128, log=True) for i in range(layers)]
    return {"units": units, "lr": trial.suggest_float("lr", 1e-3, 3e-2, log=True)}


def build_mlp(config: dict[str, Any], seed: int) -> Any:
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((64,))])
    for units in config["units"]:
        model.add(keras.layers.Dense(units, activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        keras.optimizers.Adam(config["lr"]),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def digits() -> tuple[Any, ...]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = __import__("numpy").random.default_rng(0).permutation(len(x))
    x, y = (x[order] / 16.0).astype("float32"), y[order]
    return x[:1200], y[:1200], x[1200:], y[1200:]


def keras_job(job: tuple[str, int, int, int, int]) -> dict[str, Any]:
    """One Keras search; ``path`` holds each trial in order: epochs trained, whether it
    COMPLETEd, its accuracy and its parameters scaled by LARGEST."""
    mode, seed, trials, epochs, extra = job
    import keras

    x, y, xv, yv = digits()
    path: list[tuple[int, bool, float, float]] = []
    curves: list[tuple[int, list[float]]] = []
    start = time.perf_counter()
    if mode.startswith("hpdeco"):
        from hpdeco.samplers.multi import MultiObjectiveSampler

        pruning = mode == "hpdeco-median"
        with (
            tempfile.TemporaryDirectory() as folder,
            hpdeco.search(
                objective=KERAS_OBJECTIVES,
                store=os.path.join(folder, "keras.db"),
                max_trials=trials + (extra if pruning else 0),
                sampler=MultiObjectiveSampler(seed=seed),
                pruner="median" if pruning else "none",
                verbose=0,
            ) as search,
        ):
            for trial in search:
                model = build_mlp(keras_config(None), seed * 1000 + trial.number)
                trial.set_value("params", model.count_params())
                model.fit(
                    x,
                    y,
                    validation_data=(xv, yv),
                    epochs=epochs,
                    batch_size=64,
                    verbose=0,
                    callbacks=trial.callbacks(),
                )
                keras.backend.clear_session()
            records = search.trials
        for r in sorted(records, key=lambda r: r.number):
            complete = r.state is hpdeco.TrialState.COMPLETE
            accuracy, size = (r.values[0], r.values[1] / LARGEST) if complete else (0.0, 0.0)
            path.append((len(r.intermediate_values), complete, accuracy, size))
            if not pruning:  # the whole curves, which the ceiling table replays
                curve = r.intermediate_values
                curves.append((r.values[1], [curve[step] for step in sorted(curve)]))
    else:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            directions=["maximize", "minimize"], sampler=optuna.samplers.TPESampler(seed=seed)
        )

        def objective(trial: Any) -> tuple[float, float]:
            model = build_mlp(keras_config(trial), seed * 1000 + trial.number)
            size = model.count_params()
            history = model.fit(
                x, y, validation_data=(xv, yv), epochs=epochs, batch_size=64, verbose=0
            )
            keras.backend.clear_session()
            accuracy = max(history.history["val_accuracy"])  # the best epoch, as hpdeco's
            path.append((epochs, True, accuracy, size / LARGEST))
            return accuracy, size

        study.optimize(objective, n_trials=trials)
    first = path[:trials]
    return {
        "mode": mode,
        "seed": seed,
        "trials": trials,
        "epochs_each": epochs,
        "epochs_used": sum(p[0] for p in first),
        "pruned": sum(not p[1] for p in first),
        "hv": keras_volume(first),
        "path": path,
        **({"curves": curves} if curves else {}),
        "seconds": time.perf_counter() - start,
    }


def keras_volume(path: Sequence[Sequence[Any]]) -> float:
    """The hypervolume of the COMPLETE trials of a ``path`` (see :func:`keras_job`)."""
    points = [(-accuracy, size) for _, complete, accuracy, size in path if complete]
    return front_volume(points, KERAS_REFERENCE)


def keras_progress(path: Sequence[Sequence[Any]]) -> list[tuple[int, float]]:
    """(epochs trained so far, hypervolume so far) after each trial of a ``path``."""
    progress, used = [], 0
    for count in range(1, len(path) + 1):
        used += path[count - 1][0]
        progress.append((used, keras_volume(path[:count])))
    return progress


# -- the report ----------------------------------------------------------------------------------


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def volume_table(results: list[dict[str, Any]], checkpoints: list[int], samplers: list[str]) -> str:
    lines = [
        "| problem | trials | best possible | " + " | ".join(samplers) + " |",
        "|" + "---|" * (len(samplers) + 3),
    ]
    for name in dict.fromkeys(r["problem"] for r in results):
        for n in checkpoints:
            meds = {
                s: median(
                    [r["hv"][n] for r in results if r["problem"] == name and r["sampler"] == s]
                )
                for s in samplers
                if any(r["problem"] == name and r["sampler"] == s for r in results)
            }
            top = max(meds.values())
            cells = [
                "-"
                if s not in meds
                else (f"**{meds[s]:.4f}**" if meds[s] == top else f"{meds[s]:.4f}")
                for s in samplers
            ]
            best = PROBLEMS[name].best
            lines.append(f"| {name} | {n} | {best:.4f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def timing_table(timings: list[dict[str, Any]]) -> str:
    lines = ["| problem | sampler | store | runs | ms per trial |", "|---|---|---|---|---|"]
    keys = dict.fromkeys((t.get("problem", "zdt1"), t["sampler"], t["store"]) for t in timings)
    for name, sampler, where in keys:
        rows = [
            t["ms_per_trial"]
            for t in timings
            if (t.get("problem", "zdt1"), t["sampler"], t["store"]) == (name, sampler, where)
        ]
        lines.append(f"| {name} | {sampler} | {where} | {len(rows)} | {median(rows):.2f} |")
    return "\n".join(lines)


def keras_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| run | seeds | median hypervolume | median epochs | epochs vs no pruning | pruned |",
        "|---|---|---|---|---|---|",
    ]
    base = {r["seed"]: r["epochs_used"] for r in rows if r["mode"] == "hpdeco-none"}
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        share = [r["epochs_used"] / base[r["seed"]] for r in mine if base.get(r["seed"])]
        lines.append(
            f"| {mode} | {len(mine)} | {median([r['hv'] for r in mine]):.4f} | "
            f"{median([r['epochs_used'] for r in mine]):.0f} | "
            f"{f'{median(share):.2f}' if share else '-'} | "
            f"{median([r['pruned'] for r in mine]):.0f} |"
        )
    return "\n".join(lines)


def equal_volume_table(rows: list[dict[str, Any]]) -> str:
    """Per seed: the epochs the pruned search needed to reach the unpruned one's final
    hypervolume, and both hypervolumes after the unpruned search's epoch budget."""
    lines = [
        "| seed | unpruned: final hypervolume | epochs it first had it | epochs the pruned search"
        " needed for it | saved (of the budget) | hypervolume after the budget:"
        " unpruned / pruned |",
        "|---|---|---|---|---|---|",
    ]
    none = {r["seed"]: r for r in rows if r["mode"] == "hpdeco-none" and "path" in r}
    pruned = {r["seed"]: r for r in rows if r["mode"] == "hpdeco-median" and "path" in r}
    saved = []
    for seed in sorted(set(none) & set(pruned)):
        base, mine = keras_progress(none[seed]["path"]), keras_progress(pruned[seed]["path"])
        budget, target = base[-1]
        first = next(used for used, volume in base if volume >= target)
        reached = next((used for used, volume in mine if volume >= target), None)
        within = [volume for used, volume in mine if used <= budget]
        after = within[-1] if within else 0.0
        saved.append(1 - reached / budget if reached is not None else -math.inf)
        lines.append(
            f"| {seed} | {target:.4f} | {first} | "
            f"{reached if reached is not None else f'not in {mine[-1][0]}'} | "
            f"{f'{100 * saved[-1]:.0f}%' if reached is not None else '-'} | "
            f"{target:.4f} / {after:.4f} |"
        )
    if saved:
        middle = median(saved)
        lines.append(
            f"| median | | | | {f'{100 * middle:.0f}%' if math.isfinite(middle) else '-'} | |"
        )
    return "\n".join(lines)


def run_jobs(
    function: Callable[[Any], dict[str, Any]], jobs: list[Any], workers: int, fresh: bool = False
) -> list:
    """``function`` over ``jobs`` in ``workers`` processes; ``fresh``: a new process per job
    (Keras: TensorFlow's memory would otherwise grow across runs)."""
    if workers <= 1 and not fresh:
        return [function(job) for job in jobs]
    with ProcessPoolExecutor(workers, max_tasks_per_child=1 if fresh else None) as pool:
        return list(pool.map(function, jobs))


DATA = Path(__file__).parent / "data"
TABLES = ("digits_curves", "synthetic_curves", "digits_seed1_curves")


def mlp_params(units: str, inputs: int = 64, classes: int = 10) -> int:
    """The parameter count of a dense MLP with hidden layers ``units`` ("64-32")."""
    sizes = [inputs, *(int(u) for u in units.split("-")), classes]
    return sum(a * b + b for a, b in itertools.pairwise(sizes))


def read_table(name: str) -> dict[int, tuple[int, dict[int, float]]]:
    """A recorded table: each configuration's parameter count and val_accuracy curve."""
    import csv

    configs: dict[int, tuple[int, dict[int, float]]] = {}
    with open(DATA / f"{name}.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            key = int(row["config_id"])
            if key not in configs:
                classes = 5 if name.startswith("synthetic") else 10
                inputs = 30 if name.startswith("synthetic") else 64
                configs[key] = (mlp_params(row["units"], inputs, classes), {})
            configs[key][1][int(row["epoch"])] = float(row["val_accuracy"])
    return configs


def replay_job(job: tuple[str, str, int]) -> dict[str, Any]:
    """One order of one table, with the median pruner or none."""
    import random

    table, pruner, seed = job
    configs = read_table(table)
    order = sorted(configs)
    random.Random(seed).shuffle(order)
    largest = max(size for size, _ in configs.values())
    used, points = replay_curves([configs[key] for key in order], pruner, largest)
    return {
        "table": table,
        "pruner": pruner,
        "seed": seed,
        "epochs_used": used,
        "epochs_total": sum(len(curve) for _, curve in configs.values()),
        "hv": hypervolume(points, KERAS_REFERENCE),
    }


def replay_curves(
    items: Sequence[tuple[int, Mapping[int, float]]], pruner: str, largest: int
) -> tuple[int, list[tuple[float, float]]]:
    """Feed (parameter count, val_accuracy per epoch) pairs, in order, to a search with
    ``pruner``: the epochs it let run and the COMPLETE trials' points for the hypervolume."""
    with hpdeco.search(
        objective=["val_accuracy", ("params", "min")],
        store=":memory:",
        max_trials=len(items),
        pruner=pruner,
        sampler=lambda param, trial: param.default,
        verbose=0,
    ) as search:
        for trial in search:
            size, curve = items[trial.number]
            trial.set_value("params", size)
            for step in sorted(curve):
                trial.report(curve[step], step)
                if trial.should_prune():
                    break
        records = search.trials
    points = [
        (-r.values[0], r.values[1] / largest)
        for r in records
        if r.state is hpdeco.TrialState.COMPLETE
    ]
    return sum(len(r.intermediate_values) for r in records), points


def oracle_epochs(
    items: Sequence[tuple[int, Sequence[float]]], share: float, *, startup: int = 0
) -> tuple[int, list[tuple[float, float]]]:
    """A pruner that knows every trial's end, in the order given: it stops at the first
    epoch every trial that would add at most ``share`` of the hypervolume of the COMPLETE
    trials before it (``share`` 0: the trials that end dominated by them), once ``startup``
    trials have COMPLETEd (as a real pruner's ``n_startup_trials``). The epochs it lets run
    and the COMPLETE trials' points; no real pruner can save more at no loss."""
    used, points, volume = 0, [], 0.0
    for size, curve in items:
        point = (-max(curve), size / LARGEST)
        grown = front_volume([*points, point], KERAS_REFERENCE)
        if len(points) >= max(startup, 1) and grown - volume <= share * volume:
            used += 1
        else:
            used += len(curve)
            points.append(point)
            volume = grown
    return used, points


# The default pruner stops nothing before this many trials COMPLETE (its n_startup_trials).
STARTUP: int = hpdeco.pruners.MedianPruner().n_startup_trials


def ceiling_table(rows: list[dict[str, Any]]) -> str:
    """The unpruned search's own trials, in its order, replayed: what the default pruner
    saves there and what a pruner that knows every end could save."""
    lines = [
        "| seed | no pruning: hypervolume | default pruner: saved, hypervolume | knowing the"
        " end, stopping what ends dominated: saved | ... after the default's"
        f" {STARTUP} start-up trials | knowing the end (no start-up), also stopping what adds"
        " under 0.1%: saved, hypervolume |",
        "|---|---|---|---|---|---|",
    ]
    shares: dict[str, list[float]] = {"default": [], "dominated": [], "startup": [], "sliver": []}
    for row in sorted(
        (r for r in rows if r["mode"] == "hpdeco-none" and "curves" in r), key=lambda r: r["seed"]
    ):
        items = row["curves"]
        total = sum(len(curve) for _, curve in items)
        used, points = replay_curves(
            [(size, dict(enumerate(curve, 1))) for size, curve in items], "median", LARGEST
        )
        dominated, _ = oracle_epochs(items, 0.0)
        late, _ = oracle_epochs(items, 0.0, startup=STARTUP)
        sliver, kept = oracle_epochs(items, 0.001)
        for name, epochs in (
            ("default", used),
            ("dominated", dominated),
            ("startup", late),
            ("sliver", sliver),
        ):
            shares[name].append(1 - epochs / total)
        lines.append(
            f"| {row['seed']} | {row['hv']:.4f} | {100 * shares['default'][-1]:.0f}%, "
            f"{front_volume(points, KERAS_REFERENCE):.4f} | {100 * shares['dominated'][-1]:.0f}% | "
            f"{100 * shares['startup'][-1]:.0f}% | "
            f"{100 * shares['sliver'][-1]:.0f}%, {front_volume(kept, KERAS_REFERENCE):.4f} |"
        )
    if shares["default"]:
        lines.append(
            f"| median | | {100 * median(shares['default']):.0f}% | "
            f"{100 * median(shares['dominated']):.0f}% | {100 * median(shares['startup']):.0f}% | "
            f"{100 * median(shares['sliver']):.0f}% |"
        )
    return "\n".join(lines)


def replay_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| table | epochs used, median pruner | hypervolume, median pruner"
        " | hypervolume, no pruning |",
        "|---|---:|---:|---:|",
    ]
    for table in dict.fromkeys(r["table"] for r in rows):
        mine = [r for r in rows if r["table"] == table and r["pruner"] == "median"]
        none = [r for r in rows if r["table"] == table and r["pruner"] == "none"]
        used = statistics.median(r["epochs_used"] / r["epochs_total"] for r in mine)
        lines.append(
            f"| {table} | {100 * used:.1f}% | {statistics.median(r['hv'] for r in mine):.4f} "
            f"| {statistics.median(r['hv'] for r in none):.4f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (about a minute)")
    parser.add_argument("--parts", default="volume,timing,keras,replay")
    parser.add_argument("--orders", type=int, default=10, help="replay: random orders per table")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="volume: seeds first-seed .. first-seed + seeds - 1 (tune on 1000+, report on 0+)",
    )
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--samplers", default=None)
    parser.add_argument("--timing-trials", type=int, default=200)
    parser.add_argument("--timing-seeds", type=int, default=3)
    parser.add_argument(
        "--timing-problems", default="zdt1,dtlz2", help="timing: the problems timed"
    )
    parser.add_argument("--keras-seeds", type=int, default=8)
    parser.add_argument("--keras-trials", type=int, default=30)
    parser.add_argument(
        "--keras-extra", type=int, default=20, help="keras: more trials for the pruned search"
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", default=None, help="write the raw results here (JSON)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.trials, args.problems = 2, 60, "zdt1,dtlz2"
        args.timing_trials, args.timing_seeds, args.timing_problems = 20, 1, "zdt1"
        args.keras_seeds, args.keras_trials, args.epochs, args.keras_extra = 1, 4, 2, 2
        args.orders = 1
    parts = args.parts.split(",")
    notes: list[str] = []
    optuna_ok = has_optuna()
    if not optuna_ok:
        notes.append("optuna is not installed: its columns are left out (pip install optuna)")
    samplers = args.samplers.split(",") if args.samplers else [*HPDECO, *OPTUNA]
    samplers = [s for s in samplers if optuna_ok or not s.startswith("optuna")]
    checkpoints = sorted({min(50, args.trials), args.trials})
    report: dict[str, Any] = {"meta": {}, "volume": [], "timing": [], "keras": [], "replay": []}
    started = time.perf_counter()
    if "volume" in parts:
        jobs = [
            (p, s, seed, args.trials, checkpoints)
            for p in args.problems.split(",")
            for s in samplers
            for seed in range(args.first_seed, args.first_seed + args.seeds)
        ]
        jobs.sort(key=lambda j: j[1] != "optuna-tpe")  # the slowest first
        report["volume"] = run_jobs(volume_job, jobs, args.workers)
        print(f"Median hypervolume over {args.seeds} seeds (higher is better; best in bold)\n")
        print(volume_table(report["volume"], checkpoints, samplers))
    if "timing" in parts:
        # One at a time, after a warm-up, so that imports and other jobs do not count.
        timed = [s for s in samplers if s != "default"]
        problems = args.timing_problems.split(",")
        for s in timed:
            timing_job((s, "memory", 0, 5, problems[0]))
        report["timing"] = [
            timing_job((s, where, seed, args.timing_trials, name))
            for name in problems
            for where in ("memory", "sqlite")
            for s in timed
            for seed in range(args.timing_seeds)
        ]
        print(f"\nMilliseconds per trial over {args.timing_trials} trials\n")
        print(timing_table(report["timing"]))
    if "keras" in parts:
        modes = [m for m in KERAS_MODES if optuna_ok or not m.startswith("optuna")]
        jobs = [
            (m, seed, args.keras_trials, args.epochs, args.keras_extra)
            for seed in range(args.keras_seeds)
            for m in modes
        ]
        report["keras"] = run_jobs(keras_job, jobs, args.workers, fresh=True)
        print(
            f"\nKeras on digits: {args.keras_trials} trials of up to {args.epochs} epochs, "
            "val_accuracy (max) against params (min)\n"
        )
        print(keras_table(report["keras"]))
        print(
            f"\nAt equal hypervolume: the pruned search goes on for up to {args.keras_extra} "
            "more trials\n"
        )
        print(equal_volume_table(report["keras"]))
        print(
            "\nThe unpruned search's own trials replayed in its order: what the default "
            "pruner saves, and what a pruner that knew every trial's end could\n"
        )
        print(ceiling_table(report["keras"]))
    if "replay" in parts:
        tables = TABLES[:1] if args.quick else TABLES
        jobs = [
            (t, p, seed) for t in tables for p in ("median", "none") for seed in range(args.orders)
        ]
        report["replay"] = run_jobs(replay_job, jobs, args.workers)
        print(
            f"\nPruning replayed on recorded curves, {args.orders} random orders: val_accuracy "
            "(max) against the parameter count (min), medians\n"
        )
        print(replay_table(report["replay"]))
    for note in notes:
        print("note:", note)
    elapsed = time.perf_counter() - started
    print(f"\ntotal {elapsed:.0f} s")
    if args.out:
        import provenance

        report["meta"] = {
            **provenance.record("numpy", "scipy", "optuna", "tensorflow", "keras"),
            "args": vars(args),
            "notes": notes,
            "seconds": elapsed,
            "references": {n: list(p.reference) for n, p in PROBLEMS.items()},
            "best_possible": {n: p.best for n, p in PROBLEMS.items()},
        }
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            # Parts not run this time keep their results from the file (a rerun of the
            # volume part must not wipe the Keras one).
            previous = json.loads(out.read_text())
            kept = [p for p in ("volume", "timing", "keras", "replay") if p not in parts]
            kept = [p for p in kept if previous.get(p)]
            for part in kept:
                report[part] = previous[part]
            report["meta"]["kept_from_previous_run"] = kept
            if kept:  # where the kept parts came from
                report["meta"]["previous_meta"] = previous.get("meta", {})
        out.write_text(json.dumps(report, indent=1))
        print(f"raw results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
