"""Head to head on real Keras tuning of sklearn's digits: hpdeco against a plain Keras loop,
KerasTuner (RandomSearch, BayesianOptimization, Hyperband) and Optuna (TPE + MedianPruner
+ its Keras pruning callback from optuna-integration).

Three measurements, on one fixed split of the digits (1,437 training, 360 validation
images, stratified, ``random_state=0``):

- **overhead**: one fixed MLP (64 relu units) with only the learning rate tuned, 8 trials
  x 3 epochs: a plain Keras loop over 8 random learning rates, hpdeco (random sampler, no
  pruner), KerasTuner RandomSearch and Optuna (random sampler, no pruner); several
  repeats, interleaved, each run in its own process after an untimed warm-up fit (in one
  shared process the heap grows run after run and every full garbage collection slows
  down); the medians' ratio to the plain loop. Each method's time inside ``model.fit``
  (on_train_begin to on_train_end, or the last epoch of a fit ended by an exception) is
  measured too, so what a tuner adds outside training is visible.
- **quality per second**: one space (layers 1-3, units 16-256 step 16, learning rate
  1e-4-1e-1 log, batch size 32/64/128), the same trials x epochs for everyone (KerasTuner's
  Hyperband runs its own schedule up to that many epochs), several seeds: wall time, epochs
  trained, best validation accuracy, time to 97% validation accuracy, and the time each
  needs to reach KerasTuner RandomSearch's best accuracy of the same seed.
- **memory**: every quality run is its own process; its peak resident memory (VmHWM) is
  read at the end, with its resident memory before the tuner started (TensorFlow and the
  data loaded).

Every library runs with its defaults except where the comparison needs a setting (the
samplers and pruners named above, seeds, ``verbose=0``). hpdeco's store is an on-disk
SQLite file in a temporary folder (its default), Optuna's an in-memory study (its default),
KerasTuner's a temporary project folder. Best accuracy and the times are read from one
callback shared by all (each epoch's ``val_accuracy`` with its time since the tuner
started), so every tuner is scored the same way.

    nice .venv/bin/python bench/headtohead.py            # the full run (~36 min, 2 cores)
    .venv/bin/python bench/headtohead.py --quick         # a smoke run, one process

Optional bench dependencies: ``pip install -e ".[bench]"`` (keras-tuner, optuna,
optuna-integration, tensorboard: KerasTuner 1.4.8 fails every trial under TF 2.21 without
it). A tuner whose library is missing is skipped with a note. Raw results go to
bench/results/headtohead.json (--quick: headtohead-quick.json).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

import provenance  # bench/provenance.py, beside this script

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = Path(__file__).parent / "results"
TARGET = 0.97  # validation accuracy for "time to 97%"
TUNERS = ("hpdeco", "kt_random", "kt_bayes", "kt_hyperband", "optuna")
LABELS = {
    "plain": "plain Keras loop",
    "hpdeco": "hpdeco (auto sampler + median pruner, defaults)",
    "hpdeco_random": "hpdeco (random, no pruner)",
    "kt_random": "KerasTuner RandomSearch",
    "kt_bayes": "KerasTuner BayesianOptimization",
    "kt_hyperband": "KerasTuner Hyperband",
    "optuna": "Optuna TPE + MedianPruner",
    "optuna_random": "Optuna (random, no pruner)",
}
LIBRARIES = {
    "hpdeco": ("hpdeco",),
    "kt": ("keras_tuner",),
    "optuna": ("optuna", "optuna_integration"),
}
NEEDS = {
    "hpdeco": (),
    "kt_random": ("keras_tuner", "tensorboard"),
    "kt_bayes": ("keras_tuner", "tensorboard"),
    "kt_hyperband": ("keras_tuner", "tensorboard"),
    "optuna": ("optuna", "optuna_integration"),
}


# -- measuring ------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    """A memory figure of this process from /proc (Linux), in KiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mib() -> float:
    """This process' peak resident memory: VmHWM, else ru_maxrss (KiB on Linux)."""
    kib = _status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024


def rss_mib() -> float | None:
    kib = _status_kib("VmRSS")
    return None if kib is None else kib / 1024


class Clock:
    """What every tuner is scored by: each epoch's validation accuracy with its time since
    the run started and its trial (the fit it belongs to), and the time spent inside
    ``model.fit``. Module state, because KerasTuner deep-copies the callbacks of every
    trial."""

    t0 = 0.0
    events: ClassVar[list[tuple[float, float, int]]] = []
    fits = 0
    fit_s = 0.0
    _fit_start = 0.0
    _last_epoch = 0.0
    _open = False

    @classmethod
    def start(cls) -> None:
        cls.events, cls.fits, cls.fit_s, cls._open = [], 0, 0.0, False
        cls.t0 = time.perf_counter()

    @classmethod
    def elapsed(cls) -> float:
        return time.perf_counter() - cls.t0

    @classmethod
    def close_fit(cls, now: float | None = None) -> None:
        """End the fit in flight. A fit stopped by an exception (Optuna's pruning callback
        raises TrialPruned) never reaches on_train_end: it counts up to its last epoch."""
        if cls._open:
            cls.fit_s += (now if now is not None else cls._last_epoch) - cls._fit_start
            cls._open = False


def clock_callback() -> Any:
    import keras

    class ClockCallback(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            Clock.close_fit()
            Clock.fits += 1
            Clock._open = True
            Clock._fit_start = Clock._last_epoch = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            Clock._last_epoch = time.perf_counter()
            value = (logs or {}).get("val_accuracy")
            if value is not None:
                Clock.events.append((Clock.elapsed(), float(value), Clock.fits - 1))

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            Clock.close_fit(time.perf_counter())

    return ClockCallback()


# -- the data and the models ----------------------------------------------------------------


def load_data() -> tuple[Any, Any, Any, Any]:
    """sklearn's digits, scaled to [0, 1], one fixed stratified 80/20 split."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x, xv, y, yv = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    return x, y.astype(np.int32), xv, yv.astype(np.int32)


def mlp(units: list[int], lr: float) -> Any:
    import keras

    model = keras.Sequential([keras.Input((64,))])
    for n in units:
        model.add(keras.layers.Dense(n, activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def build_fixed(hp: Any) -> Any:
    """The overhead model: only the learning rate is tuned (KerasTuner's and hpdeco's hp)."""
    return mlp([64], hp.Float("lr", 1e-4, 1e-1, sampling="log"))


def build_space(hp: Any) -> Any:
    """The quality space (batch size is drawn in the fit call). Runs with KerasTuner's hp
    and, unchanged, with hpdeco's."""
    layers = hp.Int("layers", 1, 3)
    units = [hp.Int(f"units_{i}", 16, 256, step=16) for i in range(layers)]
    return mlp(units, hp.Float("lr", 1e-4, 1e-1, sampling="log"))


def optuna_model(trial: Any) -> Any:
    layers = trial.suggest_int("layers", 1, 3)
    units = [trial.suggest_int(f"units_{i}", 16, 256, step=16) for i in range(layers)]
    return mlp(units, trial.suggest_float("lr", 1e-4, 1e-1, log=True))


BATCH_SIZES = [32, 64, 128]


def kt_hypermodel(build: Any, tune_batch: bool) -> Any:
    import keras_tuner as kt

    class HyperModel(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            return build(hp)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            if tune_batch:
                kwargs["batch_size"] = hp.Choice("batch_size", BATCH_SIZES)
            return model.fit(*args, **kwargs)

    return HyperModel()


# -- one run of one tuner -------------------------------------------------------------------


def run_tuner(
    name: str,
    data: tuple[Any, Any, Any, Any],
    *,
    seed: int,
    trials: int,
    epochs: int,
    tmp: str,
    fixed: bool = False,
) -> dict[str, Any]:
    """One search with one tuner; returns what the clock saw and what the tuner says.

    ``fixed``: the overhead model (lr only, batch size 32, no pruning) instead of the
    quality space.
    """
    import keras

    x, y, xv, yv = data
    keras.utils.set_random_seed(seed)
    build = build_fixed if fixed else build_space
    fit_kwargs: dict[str, Any] = {"validation_data": (xv, yv), "epochs": epochs, "verbose": 0}
    if fixed:
        fit_kwargs["batch_size"] = 32
    own: dict[str, Any] = {}
    for module in LIBRARIES.get(name.split("_")[0], ()):  # imports are not timed
        importlib.import_module(module)
    Clock.start()

    if name == "plain":
        import numpy as np

        rng = np.random.default_rng(seed)
        for _ in range(trials):
            lr = float(10 ** rng.uniform(-4, -1))
            model = mlp([64], lr)
            model.fit(x, y, callbacks=[clock_callback()], **fit_kwargs)

    elif name in ("hpdeco", "hpdeco_random"):
        import hpdeco
        from hpdeco import hp

        model_fn = hpdeco.tunable(build)
        options: dict[str, Any] = {}
        if name == "hpdeco_random":
            options = {"sampler": "random", "pruner": "none"}
        with hpdeco.search(
            objective="val_accuracy",
            max_trials=trials,
            store=os.path.join(tmp, "hpdeco.db"),
            study="headtohead",
            seed=seed,
            verbose=0,
            **options,
        ) as search:
            for trial in search:
                model = model_fn(hp)
                kwargs = dict(fit_kwargs)
                if not fixed:
                    kwargs["batch_size"] = hp.Choice("batch_size", BATCH_SIZES)
                model.fit(x, y, callbacks=[clock_callback(), *trial.callbacks()], **kwargs)
        states = [r.state.value for r in search.trials]
        own = {
            "best": search.best.value if search.best else None,
            "pruned": states.count("PRUNED"),
            "failed": states.count("FAIL"),
            "sampler": repr(search.study.sampler),
            "pruner": repr(search.study.pruner),
        }

    elif name.startswith("kt_"):
        import keras_tuner as kt

        common: dict[str, Any] = {
            "objective": "val_accuracy",
            "seed": seed,
            "directory": tmp,
            "project_name": name,
            "overwrite": True,
        }
        hypermodel = kt_hypermodel(build, tune_batch=not fixed)
        if name == "kt_random":
            tuner = kt.RandomSearch(hypermodel, max_trials=trials, **common)
        elif name == "kt_bayes":
            tuner = kt.BayesianOptimization(hypermodel, max_trials=trials, **common)
        else:
            tuner = kt.Hyperband(hypermodel, max_epochs=epochs, factor=3, **common)
        kwargs = {k: v for k, v in fit_kwargs.items() if k != "verbose"}
        tuner.search(x, y, callbacks=[clock_callback()], verbose=0, **kwargs)
        best = tuner.oracle.get_best_trials(1)
        done = tuner.oracle.trials.values()
        own = {
            "best": best[0].score if best else None,
            "failed": sum(t.status == "FAILED" for t in done),
            "kt_trials": len(done),
        }

    elif name in ("optuna", "optuna_random"):
        import optuna
        from optuna_integration import KerasPruningCallback

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if name == "optuna":
            sampler: Any = optuna.samplers.TPESampler(seed=seed)
            pruner: Any = optuna.pruners.MedianPruner()
        else:
            sampler = optuna.samplers.RandomSampler(seed=seed)
            pruner = optuna.pruners.NopPruner()

        def objective(trial: Any) -> float:
            keras.backend.clear_session()  # as Optuna's Keras example does
            if fixed:
                model = mlp([64], trial.suggest_float("lr", 1e-4, 1e-1, log=True))
                kwargs = dict(fit_kwargs)
            else:
                model = optuna_model(trial)
                kwargs = dict(
                    fit_kwargs, batch_size=trial.suggest_categorical("batch_size", BATCH_SIZES)
                )
            callbacks = [clock_callback()]
            if name == "optuna":
                callbacks.append(KerasPruningCallback(trial, "val_accuracy"))
            history = model.fit(x, y, callbacks=callbacks, **kwargs)
            return max(history.history["val_accuracy"])

        study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
        study.optimize(objective, n_trials=trials)
        states = [t.state.name for t in study.trials]
        own = {
            "best": study.best_value,
            "pruned": states.count("PRUNED"),
            "failed": states.count("FAIL"),
        }
    else:
        raise ValueError(f"unknown tuner {name!r}")

    wall = Clock.elapsed()
    Clock.close_fit()
    events = list(Clock.events)
    values = [v for _, v, _ in events]
    return {
        "tuner": name,
        "seed": seed,
        "wall_s": wall,
        "fit_s": Clock.fit_s,
        "outside_fit_s": wall - Clock.fit_s,
        "trials": Clock.fits,
        "epochs": len(events),
        "best_val_accuracy": max(values) if values else None,
        "time_to_target_s": time_to(events, TARGET),
        "events": [[round(t, 3), round(v, 5), n] for t, v, n in events],
        "own": own,
    }


def time_to(events: list[Any], target: float) -> float | None:
    """When an epoch first reached ``target`` validation accuracy (None: never)."""
    for t, value, *_ in events:
        if value >= target - 1e-9:
            return float(t)
    return None


# -- jobs: what one process does ------------------------------------------------------------


def missing(name: str) -> list[str]:
    return [m for m in NEEDS.get(name, ()) if importlib.util.find_spec(m) is None]


def quality_job(job: dict[str, Any]) -> dict[str, Any]:
    import keras  # noqa: F401  (TensorFlow loaded before the baseline memory is read)

    data = load_data()
    before = rss_mib()
    peak_before = peak_rss_mib()
    with tempfile.TemporaryDirectory(prefix="headtohead-") as tmp:
        result = run_tuner(
            job["tuner"],
            data,
            seed=job["seed"],
            trials=job["trials"],
            epochs=job["epochs"],
            tmp=tmp,
        )
    result["rss_before_mib"] = before
    result["peak_before_mib"] = peak_before
    result["peak_rss_mib"] = peak_rss_mib()
    return result


_warm = False  # this process has trained once


def overhead_job(job: dict[str, Any]) -> dict[str, Any]:
    """One method's overhead run, after an untimed warm-up fit (TensorFlow's first fit in a
    process pays one-time set-up that every method would share)."""
    global _warm
    data = load_data()
    if not _warm:
        with tempfile.TemporaryDirectory(prefix="headtohead-") as tmp:
            run_tuner("plain", data, seed=999, trials=1, epochs=1, tmp=tmp, fixed=True)
        _warm = True
    with tempfile.TemporaryDirectory(prefix="headtohead-") as tmp:
        result = run_tuner(
            job["method"],
            data,
            seed=job["seed"],
            trials=job["trials"],
            epochs=job["epochs"],
            tmp=tmp,
            fixed=True,
        )
    result.pop("events")
    result["peak_rss_mib"] = peak_rss_mib()
    return result


JOBS = {"quality": quality_job, "overhead": overhead_job}


def run_job(job: dict[str, Any], isolate: bool) -> dict[str, Any]:
    """A job in a fresh process (``isolate``), or in this one."""
    if not isolate:
        return JOBS[job["kind"]](job)
    with tempfile.TemporaryDirectory(prefix="headtohead-job-") as tmp:
        out = Path(tmp) / "result.json"
        proc = subprocess.run(
            [sys.executable, __file__, "--job", json.dumps(job), "--job-out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=sys.stderr,
        )
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"job {job} failed with exit code {proc.returncode}")
        return json.loads(out.read_text())


# -- summaries ------------------------------------------------------------------------------


def median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def fmt(value: float | None, digits: int = 1, missing: str = "-") -> str:
    return missing if value is None else f"{value:.{digits}f}"


def summarise_overhead(result: dict[str, Any]) -> dict[str, Any]:
    runs = result["runs"]
    rows = {}
    for method, items in runs.items():
        rows[method] = {
            "wall_s": median([r["wall_s"] for r in items]),
            "fit_s": median([r["fit_s"] for r in items]),
            "outside_fit_s": median([r["outside_fit_s"] for r in items]),
            "walls_s": [round(r["wall_s"], 3) for r in items],
        }
    plain = rows["plain"]["wall_s"]
    for row in rows.values():
        row["ratio_to_plain"] = row["wall_s"] / plain
    # Paired ratios: each repeat's run against the plain loop of the same repeat.
    for method, items in runs.items():
        rows[method]["paired_ratio_median"] = median(
            [r["wall_s"] / p["wall_s"] for r, p in zip(items, runs["plain"], strict=True)]
        )
    return rows


def print_overhead(rows: dict[str, Any], job: dict[str, Any]) -> None:
    print(
        f"\n### Overhead: {job['trials']} trials x {job['epochs']} epochs, fixed MLP, lr only "
        f"(medians of {job['repeats']} interleaved repeats"
        + (", each run in its own process)\n" if job.get("isolated") else ", one process)\n")
    )
    print("| method | wall s | inside fit s | outside fit s | wall / plain loop |")
    print("|---|---:|---:|---:|---:|")
    for method, row in rows.items():
        print(
            f"| {LABELS[method]} | {row['wall_s']:.2f} | {row['fit_s']:.2f} | "
            f"{row['outside_fit_s']:.2f} | {row['ratio_to_plain']:.2f}x |"
        )
    ratio = rows.get("hpdeco_random", {}).get("ratio_to_plain")
    if ratio is not None:
        verdict = "met" if ratio <= 1.10 else "MISSED"
        print(f"\ngoal hpdeco <= 1.10x the plain loop: {ratio:.2f}x, {verdict}")


def summarise_quality(results: list[dict[str, Any]]) -> dict[str, Any]:
    by_tuner: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_tuner.setdefault(r["tuner"], []).append(r)
    rs_best = {r["seed"]: r["best_val_accuracy"] for r in by_tuner.get("kt_random", [])}
    rs_wall = {r["seed"]: r["wall_s"] for r in by_tuner.get("kt_random", [])}
    table = {}
    for tuner, items in by_tuner.items():
        reach = []
        for r in items:
            target = rs_best.get(r["seed"])
            reach.append(None if target is None else time_to(r["events"], target))
            r["time_to_rs_best_s"] = reach[-1]
        reached = [t for t in (r["time_to_target_s"] for r in items) if t is not None]
        table[tuner] = {
            "seeds": len(items),
            "trials": median([r["trials"] for r in items]),
            "epochs": median([r["epochs"] for r in items]),
            "wall_s": median([r["wall_s"] for r in items]),
            "best_val_accuracy": median([r["best_val_accuracy"] for r in items]),
            "best_min": min(r["best_val_accuracy"] or 0 for r in items),
            "best_max": max(r["best_val_accuracy"] or 0 for r in items),
            "time_to_target_s": median(reached) if len(reached) == len(items) else None,
            "time_to_target_each_s": [r["time_to_target_s"] for r in items],
            "target_reached": len(reached),
            "time_to_rs_best_each_s": reach,
            "peak_rss_mib": median([r.get("peak_rss_mib") for r in items]),
            "rss_before_mib": median([r.get("rss_before_mib") for r in items]),
        }
    goals: dict[str, Any] = {}
    if "hpdeco" in by_tuner and rs_best:
        per_seed = []
        for r in by_tuner["hpdeco"]:
            seed = r["seed"]
            if seed not in rs_wall:
                continue
            reach_t = r["time_to_rs_best_s"]
            per_seed.append(
                {
                    "seed": seed,
                    "rs_best": rs_best[seed],
                    "rs_wall_s": rs_wall[seed],
                    "hpdeco_time_to_rs_best_s": reach_t,
                    "met": reach_t is not None and reach_t <= rs_wall[seed] / 2,
                }
            )
        goals["half_of_rs_wall"] = per_seed
    if "hpdeco" in table and "optuna" in table:
        h, o = table["hpdeco"], table["optuna"]
        goals["vs_optuna"] = {
            "wall": h["wall_s"] <= o["wall_s"],
            "best_val_accuracy": h["best_val_accuracy"] >= o["best_val_accuracy"],
            "time_to_target": h["time_to_target_s"] is not None
            and (o["time_to_target_s"] is None or h["time_to_target_s"] <= o["time_to_target_s"]),
        }
    return {"table": table, "goals": goals}


def print_quality(summary: dict[str, Any], job: dict[str, Any]) -> None:
    table = summary["table"]
    print(
        f"\n### Quality per second: {job['trials']} trials x {job['epochs']} epochs, "
        f"{len(job['seeds'])} seeds (medians; best accuracy also min-max)\n"
    )
    print(
        "| tuner | trials | epochs trained | wall s | best val acc | "
        f"time to {TARGET:.0%} s | time to RS best s | peak RSS MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for tuner, row in table.items():
        seeds = row["seeds"]
        to_target = fmt(row["time_to_target_s"])
        if row["target_reached"] < seeds:
            to_target = f"{to_target} ({row['target_reached']}/{seeds} reached)"
        reach = row["time_to_rs_best_each_s"]
        got = [t for t in reach if t is not None]
        to_rs = (
            fmt(median(got))
            if len(got) == len(reach)
            else (f"{fmt(median(got))} ({len(got)}/{len(reach)} reached)")
        )
        print(
            f"| {LABELS[tuner]} | {row['trials']:.0f} | {row['epochs']:.0f} | "
            f"{row['wall_s']:.0f} | {row['best_val_accuracy']:.4f} "
            f"({row['best_min']:.4f}-{row['best_max']:.4f}) | {to_target} | {to_rs} | "
            f"{fmt(row['peak_rss_mib'], 0)} |"
        )
    goals = summary["goals"]
    for item in goals.get("half_of_rs_wall", []):
        reached = item["hpdeco_time_to_rs_best_s"]
        print(
            f"seed {item['seed']}: RandomSearch best {item['rs_best']:.4f} in "
            f"{item['rs_wall_s']:.0f} s; hpdeco reached it "
            + ("never " if reached is None else f"at {reached:.0f} s ")
            + f"(goal <= {item['rs_wall_s'] / 2:.0f} s): {'met' if item['met'] else 'MISSED'}"
        )
    vs = goals.get("vs_optuna")
    if vs:
        print(
            "hpdeco vs Optuna (medians): "
            + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in vs.items())
        )


def dumps(record: dict[str, Any]) -> str:
    """The results as indented JSON, each run's epoch events on one line."""
    compact = {}
    quality = record.get("quality")
    if quality:
        runs = []
        for i, run in enumerate(quality["runs"]):
            key = f"@events{i}@"
            compact[key] = json.dumps(run.get("events", []), separators=(",", ":"))
            runs.append({**run, "events": key})
        record = {**record, "quality": {**quality, "runs": runs}}
    text = json.dumps(record, indent=1)
    for key, value in compact.items():
        text = text.replace(f'"{key}"', value)
    return text + "\n"


# -- the KerasTuner script, on hpdeco and on KerasTuner --------------------------------------

KT_SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "keras_tuner_script.py"
KT_IMPORT = "import hpdeco.keras_tuner as keras_tuner"


def kt_script_row(args: argparse.Namespace, seeds: list[int], tmp: str) -> dict[str, Any]:
    """examples/keras_tuner_script.py as it is (hpdeco) and with its import line changed
    back to ``import keras_tuner`` (KerasTuner), same flags and seeds, each run in its own
    process: wall time (TensorFlow's start-up included, the same for both) and the best
    val_accuracy the script's last tuner reports."""
    source = KT_SCRIPT.read_text()
    kt_copy = Path(tmp) / "keras_tuner_script_on_kerastuner.py"
    kt_copy.write_text(source.replace(KT_IMPORT, "import keras_tuner"))
    flags = ["--trials", str(args.trials), "--epochs", str(args.epochs),
             "--max-epochs", str(args.epochs), "--executions", "2"]  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {"hpdeco": [], "keras_tuner": []}
    for seed in seeds:
        for library, script in (("hpdeco", KT_SCRIPT), ("keras_tuner", kt_copy)):
            folder = Path(tmp) / f"{library}-{seed}"
            command = [sys.executable, str(script), *flags, "--dir", str(folder),
                       "--seed", str(seed)]  # fmt: skip
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, cwd=tmp)
            wall = time.perf_counter() - started
            best = [
                float(line.split(":", 1)[1])
                for line in done.stdout.splitlines()
                if line.startswith("best val_accuracy:")
            ]
            runs[library].append(
                {"seed": seed, "wall_s": wall, "best_val_accuracy": best[-1] if best else None,
                 "returncode": done.returncode, "stderr_tail": done.stderr[-500:]}
            )  # fmt: skip
            print(f"kt script seed {seed} {library:11s} {wall:6.1f} s, best {best}",
                  file=sys.stderr, flush=True)  # fmt: skip
    summary = {
        library: {
            "wall_s": median([r["wall_s"] for r in items]),
            "best_val_accuracy": median([r["best_val_accuracy"] for r in items]),
            "failed": sum(r["returncode"] != 0 for r in items),
        }
        for library, items in runs.items()
    }
    print(f"\n### The KerasTuner script ({KT_SCRIPT.name}): {args.trials} trials x "
          f"{args.epochs} epochs, 2 executions, Hyperband max_epochs={args.epochs}, "
          f"{len(seeds)} seeds (medians)\n")  # fmt: skip
    print("| runs on | wall s | best val acc (Hyperband) | failed runs |")
    print("|---|---:|---:|---:|")
    for library, row in summary.items():
        print(f"| {library} | {fmt(row['wall_s'])} | {fmt(row['best_val_accuracy'], 4)} | "
              f"{row['failed']} |")  # fmt: skip
    return {"config": {"trials": args.trials, "epochs": args.epochs, "seeds": seeds},
            "summary": summary, "runs": runs}  # fmt: skip


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run in one process")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=5, help="overhead repeats")
    parser.add_argument("--tuners", default=",".join(TUNERS), help="quality tuners (a,b,...)")
    parser.add_argument(
        "--overhead-methods", help="plain,hpdeco_random,kt_random,optuna_random (default all)"
    )
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument(
        "--isolate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="each job in its own process (default; --quick: one process)",
    )
    parser.add_argument(
        "--kt-script",
        action="store_true",
        help="only the KerasTuner script row: examples/keras_tuner_script.py on hpdeco and "
        "on KerasTuner",
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--job-out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.job:  # a child: one job, its result as JSON
        result = run_job(json.loads(args.job), isolate=False)
        Path(args.job_out).write_text(json.dumps(result))
        return

    overhead_size = {"trials": 8, "epochs": 3, "repeats": args.repeats}
    if args.quick:
        args.seeds, args.trials, args.epochs = 1, 2, 2
        overhead_size = {"trials": 2, "epochs": 1, "repeats": 1}
    isolate = (not args.quick) if args.isolate is None else args.isolate
    out = args.out or RESULTS / ("headtohead-quick.json" if args.quick else "headtohead.json")

    tuners = [t for t in args.tuners.split(",") if t]
    unknown = [t for t in tuners if t not in TUNERS]
    if unknown:
        parser.error(f"--tuners: unknown {unknown}; choose from {', '.join(TUNERS)}")
    skipped = {}
    for t in tuners:
        lacks = missing(t)
        if lacks:
            skipped[t] = f"not installed: {', '.join(lacks)}"
            print(f"skipping {t}: {skipped[t]} (pip install -e '.[bench]')", file=sys.stderr)
    tuners = [t for t in tuners if t not in skipped]

    record: dict[str, Any] = {
        **provenance.record(
            "tensorflow",
            "keras",
            "keras-tuner",
            "optuna",
            "optuna-integration",
            "tensorboard",
            "numpy",
            "scikit-learn",
        ),
        "isolated_processes": isolate,
        "skipped": skipped,
        "target": TARGET,
    }
    started = time.perf_counter()
    if args.kt_script:
        args.skip_overhead = args.skip_quality = True
        if missing("kt_random"):
            print("skipping the KerasTuner script: keras-tuner missing", file=sys.stderr)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                seeds = list(range(args.seeds))
                record["kt_script"] = kt_script_row(args, seeds, tmp)

    if not args.skip_overhead:
        methods = ["plain", "hpdeco_random"]
        methods += [
            m
            for m, lib in (("kt_random", "kt_random"), ("optuna_random", "optuna"))
            if lib not in skipped and not missing(lib)
        ]
        if args.overhead_methods:
            methods = [m for m in methods if m in args.overhead_methods.split(",")]
        job = {"kind": "overhead", "methods": methods, "isolated": isolate, **overhead_size}
        print(f"overhead: {methods}", file=sys.stderr, flush=True)
        runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
        for repeat in range(job["repeats"]):  # interleaved, the order rotating every repeat
            shift = repeat % len(methods)
            for method in methods[shift:] + methods[:shift]:
                run = {k: job[k] for k in ("trials", "epochs")}
                result = run_job(
                    {"kind": "overhead", "method": method, "seed": repeat, **run}, isolate
                )
                runs[method].append(result)
                print(
                    f"  overhead repeat {repeat} {method:14s} {result['wall_s']:6.2f} s "
                    f"(inside fit {result['fit_s']:6.2f} s)",
                    file=sys.stderr,
                    flush=True,
                )
        rows = summarise_overhead({"runs": runs})
        record["overhead"] = {"config": job, "summary": rows, "runs": runs}
        print_overhead(rows, job)

    if not args.skip_quality and tuners:
        seeds = list(range(args.seeds))
        job_base = {"kind": "quality", "trials": args.trials, "epochs": args.epochs}
        results = []
        for seed in seeds:
            order = tuners[seed % len(tuners) :] + tuners[: seed % len(tuners)]
            for tuner in order:
                result = run_job({**job_base, "tuner": tuner, "seed": seed}, isolate)
                results.append(result)
                print(
                    f"quality seed {seed} {tuner:13s} wall {result['wall_s']:6.1f} s, "
                    f"{result['trials']} trials, {result['epochs']} epochs, best "
                    f"{fmt(result['best_val_accuracy'], 4)}, to {TARGET:.0%} "
                    f"{fmt(result['time_to_target_s'])} s, peak {result['peak_rss_mib']:.0f} MiB"
                    f"  [{time.perf_counter() - started:.0f} s]",
                    file=sys.stderr,
                    flush=True,
                )
        summary = summarise_quality(results)
        config = {**job_base, "seeds": seeds, "tuners": tuners}
        record["quality"] = {"config": config, "summary": summary, "runs": results}
        print_quality(summary, config)

    record["load_average_at_end"] = list(os.getloadavg())
    record["total_s"] = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dumps(record))
    print(f"\nraw results: {out} ({record['total_s']:.0f} s in all)")


if __name__ == "__main__":
    main()
