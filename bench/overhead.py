"""Bookkeeping cost per trial: hpdeco vs Optuna, both on an on-disk SQLite store.

The objective is trivial (three parameters, a sum), so what is timed is the framework:
starting a trial, drawing parameters, reporting steps, finishing, writing it all to disk.
Two workloads: one report per trial, and 20 reported steps per trial (an epoch loop).
Random sampler, no pruning, for both libraries.

    .venv/bin/python bench/overhead.py                 # 1,000 trials, medians of 3 runs
    .venv/bin/python bench/overhead.py --quick         # a smoke run in seconds

Optuna is an optional bench dependency (``pip install optuna``); without it only hpdeco
runs. Results go to bench/results/overhead.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import hpdeco
from hpdeco import hp

RESULTS = Path(__file__).parent / "results" / "overhead.json"


def hpdeco_run(path: str, trials: int, steps: int, seed: int) -> float:
    start = time.perf_counter()
    with hpdeco.search(
        objective="loss",
        max_trials=trials,
        store=path,
        study="bench",
        sampler="random",
        pruner="none",
        seed=seed,
        verbose=0,
    ) as search:
        for trial in search:
            value = (
                hp.Float("x", -5.0, 5.0) + hp.Int("n", 1, 100) + len(hp.Choice("c", ["a", "bb"]))
            )
            for step in range(1, steps + 1):
                trial.report(value / step, step)
                if trial.should_prune():
                    break
    elapsed = time.perf_counter() - start
    assert len(search.trials) == trials
    return elapsed


def optuna_run(path: str, trials: int, steps: int, seed: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> float:
        value = (
            trial.suggest_float("x", -5.0, 5.0)
            + trial.suggest_int("n", 1, 100)
            + len(trial.suggest_categorical("c", ["a", "bb"]))
        )
        for step in range(1, steps + 1):
            trial.report(value / step, step)
            if trial.should_prune():
                break
        return value / steps

    start = time.perf_counter()
    study = optuna.create_study(
        storage=f"sqlite:///{path}",
        study_name="bench",
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=optuna.pruners.NopPruner(),
    )
    study.optimize(objective, n_trials=trials)
    elapsed = time.perf_counter() - start
    assert len(study.trials) == trials
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of hpdeco per workload")
    parser.add_argument(
        "--optuna-repeats",
        type=int,
        default=1,
        help="runs of Optuna per workload (each takes minutes at 1,000 trials)",
    )
    parser.add_argument("--quick", action="store_true", help="50 trials, one run each")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.trials, args.repeats, args.optuna_repeats = 50, 1, 1
    try:
        import optuna

        optuna_version: str | None = optuna.__version__
    except ImportError:
        optuna_version = None
        print("optuna is not installed: timing hpdeco only (pip install optuna)", file=sys.stderr)

    rows = []
    for steps in (1, 20):
        row: dict[str, Any] = {"steps": steps, "trials": args.trials}
        for name, run, repeats in (
            ("hpdeco", hpdeco_run, args.repeats),
            ("optuna", optuna_run, args.optuna_repeats),
        ):
            if name == "optuna" and optuna_version is None:
                continue
            times = []
            for seed in range(repeats):
                with tempfile.TemporaryDirectory() as tmp:
                    times.append(run(str(Path(tmp) / "bench.db"), args.trials, steps, seed))
                print(
                    f"{name:7s} steps={steps:2d} run {seed}: "
                    f"{times[-1] / args.trials * 1e3:.3f} ms/trial",
                    file=sys.stderr,
                )
            row[f"{name}_ms_per_trial"] = statistics.median(times) / args.trials * 1e3
            row[f"{name}_runs_s"] = times
        if "optuna_ms_per_trial" in row:
            row["ratio"] = row["optuna_ms_per_trial"] / row["hpdeco_ms_per_trial"]
        rows.append(row)

    print(
        f"\n{args.trials} trials, random sampler, on-disk SQLite; median of "
        f"{args.repeats} (hpdeco) / {args.optuna_repeats} (Optuna) runs\n"
    )
    print("| reported steps per trial | hpdeco ms/trial | Optuna ms/trial | Optuna / hpdeco |")
    print("|---:|---:|---:|---:|")
    for row in rows:
        optuna_ms = row.get("optuna_ms_per_trial")
        print(
            f"| {row['steps']} | {row['hpdeco_ms_per_trial']:.2f} | "
            + (f"{optuna_ms:.1f} | {row['ratio']:.0f}x |" if optuna_ms else "- | - |")
        )
    if not args.quick:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "machine": f"{platform.machine()} {platform.processor()}".strip(),
                    "python": platform.python_version(),
                    "hpdeco": hpdeco.__version__,
                    "optuna": optuna_version,
                    "rows": rows,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"\nraw results: {args.out}")


if __name__ == "__main__":
    main()
