"""Replay recorded learning curves through hpdeco's pruners (and Optuna's) and compare them.

``bench/data/digits_curves.csv`` holds the per-epoch validation curves of 120 Keras MLPs
trained 20 epochs each on scikit-learn's digits; ``bench/data/synthetic_curves.csv`` those
of 100 MLPs on a synthetic 5-class task, a second table the defaults were not tuned on
(``--curves``; see ``bench/data/README.md``). This script
plays those curves back, one configuration per trial, in many random orders, through a
real ``hpdeco.search`` (``trial.report`` / ``trial.should_prune`` against a SQLite store in
memory), and through Optuna's pruners on the same orders (``study.ask`` / ``trial.report`` /
``trial.should_prune`` / ``study.tell``). Nothing is trained.

For each pruner it reports, averaged over the orders:

- ``epochs``: epochs consumed, as a fraction of running every configuration to the end;
- ``best final``: the true final (last epoch) ``val_accuracy`` of the configuration the
  search ranks best (the COMPLETE trial with the best value, where a trial's value is its
  best epoch, hpdeco's default ``trial_value="best"``), and how far it is from what no
  pruning ranks best;
- ``found best``: in how many orders that configuration is as good (by its final value) as
  the one no pruning ranks best, i.e. pruning did not lose the best configuration;
- ``regret``: the table's best final value minus the final value of the configuration the
  search ranks best;
- ``@budget``: the regret when the search may only spend a fixed number of epochs
  (``--budget``, default 10 % of the table): trials are taken in the order's sequence until
  the budget is spent, and a trial cut off by the budget does not count.

Run (about 70 s of CPU per table, 1 to 4 minutes on 2 shared cores; ``--quick`` takes a few
seconds)::

    .venv/bin/python bench/pruning.py          # 100 orders: table + bench/results/pruning.json
    .venv/bin/python bench/pruning.py --curves bench/data/synthetic_curves.csv \
        --out bench/results/pruning-synthetic.json
    .venv/bin/python bench/pruning.py --quick  # 3 orders of 40 configurations

Optuna is an optional benchmark dependency (``pip install -e '.[bench]'``); without it the
Optuna rows are skipped with a note.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

import hpdeco  # noqa: E402
from hpdeco import pruners  # noqa: E402

CURVES = ROOT / "data" / "digits_curves.csv"
OBJECTIVE = "val_accuracy"
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")

Curve = dict[int, dict[str, float]]


def load_curves(path: Path) -> dict[int, Curve]:
    """config_id -> epoch -> metrics, checked to be complete (same epochs for every config)."""
    curves: dict[int, Curve] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            metrics = {m: float(row[m]) for m in METRICS}
            curves.setdefault(int(row["config_id"]), {})[int(row["epoch"])] = metrics
    epochs = {len(c) for c in curves.values()}
    if len(epochs) != 1:
        raise SystemExit(f"{path}: configurations have different numbers of epochs {epochs}")
    for cid, curve in curves.items():
        if sorted(curve) != list(range(1, len(curve) + 1)):
            raise SystemExit(f"{path}: config {cid} does not have epochs 1..{len(curve)}")
    return curves


# -- the pruners compared ----------------------------------------------------------------------

DEFAULT = "median (default)"
HPDECO: dict[str, Callable[[], Any]] = {
    "none": pruners.NoPruner,
    DEFAULT: pruners.MedianPruner,
    "percentile 25": lambda: pruners.PercentilePruner(25.0),
    "asha": pruners.AshaPruner,
    "hyperband": pruners.HyperbandPruner,
    "patient(median, 3)": lambda: pruners.PatientPruner("median", patience=3),
    "threshold(lower=0.9, warm-up 5)": lambda: pruners.ThresholdPruner(lower=0.9, n_warmup_steps=5),
}


def optuna_pruners() -> dict[str, Callable[[], Any]] | None:
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return {
        "optuna median": optuna.pruners.MedianPruner,
        "optuna percentile 25": lambda: optuna.pruners.PercentilePruner(25.0),
        "optuna successive halving": optuna.pruners.SuccessiveHalvingPruner,
        "optuna hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1),
    }


# -- one replay --------------------------------------------------------------------------------

Outcome = list[tuple[int, str, float | None, int]]  # (config_id, state, value, epochs used)


def replay_hpdeco(make: Callable[[], Any], order: list[int], curves: dict[int, Curve]) -> Outcome:
    max_epochs = len(curves[order[0]])
    used: dict[int, int] = {}
    with hpdeco.search(
        objective=OBJECTIVE,
        max_trials=len(order),
        pruner=make(),
        store=":memory:",
        study="replay",
        verbose=0,
        keep_best=0,
    ) as search:
        for trial in search:
            cid = order[trial.number]
            trial.max_steps = max_epochs  # what the Keras callback tells HyperbandPruner
            for epoch in range(1, max_epochs + 1):
                trial.report(curves[cid][epoch], step=epoch)
                used[trial.number] = epoch
                if trial.should_prune():
                    break
        records = search.trials
        ranked = search.best
    outcome = [(order[r.number], r.state.value, r.value, used[r.number]) for r in records]
    mine = rank_best(outcome)
    if ranked is not None and mine is not None:
        assert order[ranked.number] == mine, "the benchmark's ranking must match search.best"
    return outcome


def replay_optuna(make: Callable[[], Any], order: list[int], curves: dict[int, Curve]) -> Outcome:
    import optuna

    study = optuna.create_study(
        direction="maximize", pruner=make(), sampler=optuna.samplers.RandomSampler(seed=0)
    )
    max_epochs = len(curves[order[0]])
    outcome: Outcome = []
    for cid in order:
        trial = study.ask()
        values = []
        state = "COMPLETE"
        for epoch in range(1, max_epochs + 1):
            value = curves[cid][epoch][OBJECTIVE]
            values.append(value)
            trial.report(value, epoch)
            if trial.should_prune():
                state = "PRUNED"
                break
        if state == "PRUNED":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, max(values))
        outcome.append((cid, state, max(values) if state == "COMPLETE" else None, len(values)))
    return outcome


def rank_best(outcome: Outcome, budget: int | None = None) -> int | None:
    """The configuration the search ranks best: the COMPLETE trial with the highest value,
    the earliest among equals; with a budget, among trials finished within it."""
    spent = 0
    best: tuple[float, int] | None = None
    for cid, state, value, epochs in outcome:
        spent += epochs
        if budget is not None and spent > budget:
            break
        if state == "COMPLETE" and value is not None and (best is None or value > best[0]):
            best = (value, cid)
    return None if best is None else best[1]


# -- the whole benchmark -----------------------------------------------------------------------


def summarise(
    outcomes: list[Outcome], curves: dict[int, Curve], budget: int, reference: list[float]
) -> dict[str, Any]:
    """Averages over the orders; ``reference`` is the final value of what no pruning ranks
    best in each order."""
    max_epochs = len(next(iter(curves.values())))
    top = max(c[max_epochs][OBJECTIVE] for c in curves.values())

    def final(cid: int | None) -> float:
        return math.nan if cid is None else curves[cid][max_epochs][OBJECTIVE]

    fractions = [sum(o[3] for o in out) / (len(out) * max_epochs) for out in outcomes]
    finals = [final(rank_best(out)) for out in outcomes]
    at_budget = [final(rank_best(out, budget)) for out in outcomes]
    pruned = [sum(o[1] == "PRUNED" for o in out) / len(out) for out in outcomes]
    # Found: pruning did not lose the best configuration, what the search ranks best is as
    # good at the end as what no pruning ranks best (the same one, or one as good).
    found = [f >= r for f, r in zip(finals, reference, strict=True)]
    return {
        "epochs_fraction": statistics.fmean(fractions),
        "pruned_fraction": statistics.fmean(pruned),
        "best_final_mean": _mean(finals),
        "best_final_min": min(finals),
        "delta_vs_none_mean": _mean([f - r for f, r in zip(finals, reference, strict=True)]),
        "within_half_point": statistics.fmean(
            f >= r - 0.005 for f, r in zip(finals, reference, strict=True)
        ),
        "found_best": sum(found),
        "regret_mean": _mean([top - f for f in finals]),
        "budget_final_mean": _mean(at_budget),
        "budget_final_min": min(at_budget),
        "budget_regret_mean": _mean([top - f for f in at_budget]),
        "per_order": {
            "epochs_fraction": fractions,
            "best_final": finals,
            "budget_final": at_budget,
        },
    }


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.fmean(finite) if finite else math.nan


def run(
    *,
    curves_path: Path = CURVES,
    orders: int,
    configs: int | None,
    budget_fraction: float,
    seed: int,
    only: list[str] | None = None,
) -> dict[str, Any]:
    curves = load_curves(curves_path)
    ids = sorted(curves)
    if configs is not None:
        ids = ids[:configs]
        curves = {c: curves[c] for c in ids}
    max_epochs = len(curves[ids[0]])
    budget = round(budget_fraction * len(ids) * max_epochs)
    rng = np.random.default_rng(seed)
    sequences = [[int(c) for c in rng.permutation(ids)] for _ in range(orders)]

    contenders: list[tuple[str, str, Callable[[], Any]]] = [
        ("hpdeco", name, make) for name, make in HPDECO.items()
    ]
    theirs = optuna_pruners()
    notes = []
    if theirs is None:
        notes.append("optuna is not installed (pip install -e '.[bench]'): its rows are skipped")
    else:
        contenders += [("optuna", name, make) for name, make in theirs.items()]
    if only:
        contenders = [c for c in contenders if any(o in c[1] for o in only) or c[1] == "none"]

    # What no pruning ranks best in each order (orders matter through ties of the best value).
    peak = {c: max(e[OBJECTIVE] for e in curves[c].values()) for c in ids}
    reference = [
        curves[rank_best([(c, "COMPLETE", peak[c], max_epochs) for c in order])][max_epochs][
            OBJECTIVE
        ]
        for order in sequences
    ]
    results: dict[str, Any] = {}
    for library, name, make in contenders:
        replay = replay_hpdeco if library == "hpdeco" else replay_optuna
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcomes = [replay(make, order, curves) for order in sequences]
        row = summarise(outcomes, curves, budget, reference)
        row.update(library=library, seconds=time.perf_counter() - started, repr=repr(make()))
        results[name] = row
        print(
            f"  {name:<34} epochs {row['epochs_fraction']:6.1%}  found {row['found_best']:>3}  "
            f"regret {row['regret_mean']:.4f}  @budget {row['budget_regret_mean']:.4f}  "
            f"({row['seconds']:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
    return {
        "curves": os.path.relpath(curves_path, ROOT.parent),
        "configs": len(ids),
        "epochs": max_epochs,
        "orders": orders,
        "seed": seed,
        "budget_epochs": budget,
        "budget_fraction": budget_fraction,
        "no_pruning_best_final": statistics.fmean(reference),
        "table_best_final": max(curves[c][max_epochs][OBJECTIVE] for c in ids),
        "notes": notes,
        "environment": {
            "python": platform.python_version(),
            "hpdeco": hpdeco.__version__,
            "optuna": _version("optuna"),
            "numpy": np.__version__,
        },
        "results": results,
    }


def _version(package: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(package)
    except Exception:
        return None


def table(report: dict[str, Any]) -> str:
    budget_pct = report["budget_fraction"] * 100
    lines = [
        f"| pruner | epochs vs no pruning | found the best (of {report['orders']} orders) | "
        f"regret | best final {OBJECTIVE} (Δ vs none) | regret at {budget_pct:.0f} % budget |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in report["results"].items():
        delta = row["delta_vs_none_mean"] * 100
        lines.append(
            f"| {name} | {row['epochs_fraction']:.1%} | {row['found_best']} | "
            f"{row['regret_mean']:.4f} | {row['best_final_mean']:.4f} ({delta:+.2f} pt) | "
            f"{row['budget_regret_mean']:.4f} |"
        )
    return "\n".join(lines)


def goals(report: dict[str, Any]) -> dict[str, bool | None]:
    """The issue's goals, checked on this run (None where a row is missing)."""
    rows = report["results"]

    def get(name: str, key: str) -> float | None:
        return rows[name][key] if name in rows else None

    def check(ok: Callable[[], bool], *needed: float | None) -> bool | None:
        return None if any(v is None for v in needed) else ok()

    def as_economical(ours: str, theirs: str) -> dict[str, bool | None]:
        """Issue 15: no more epochs than the peer, the best found in as many orders."""
        epochs, peer_epochs = get(ours, "epochs_fraction"), get(theirs, "epochs_fraction")
        found, peer_found = get(ours, "found_best"), get(theirs, "found_best")
        return {
            f"{ours}: epochs <= {theirs}": check(
                lambda: epochs <= peer_epochs, epochs, peer_epochs
            ),
            f"{ours}: found the best in >= as many orders as {theirs}": check(
                lambda: found >= peer_found, found, peer_found
            ),
        }

    m_epochs, m_delta = get(DEFAULT, "epochs_fraction"), get(DEFAULT, "delta_vs_none_mean")
    asha = get("asha", "epochs_fraction")
    m_budget, none_budget = get(DEFAULT, "budget_regret_mean"), get("none", "budget_regret_mean")
    optuna_budget = get("optuna median", "budget_regret_mean")
    return {
        **as_economical(DEFAULT, "optuna median"),
        **as_economical("hyperband", "optuna hyperband"),
        **as_economical("asha", "optuna successive halving"),
        "median: epochs <= 50% of no pruning": check(lambda: m_epochs <= 0.5, m_epochs),
        "median: best final within 0.5 pt of no pruning (mean over orders)": check(
            lambda: m_delta >= -0.005, m_delta
        ),
        "asha: epochs <= 40% of no pruning": check(lambda: asha <= 0.4, asha),
        "default at equal budget: regret <= no pruning's": check(
            lambda: m_budget <= none_budget, m_budget, none_budget
        ),
        "default at equal budget: regret <= optuna median's": check(
            lambda: m_budget <= optuna_budget, m_budget, optuna_budget
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--curves",
        type=Path,
        default=CURVES,
        help="the recorded table (default bench/data/digits_curves.csv)",
    )
    parser.add_argument("--orders", type=int, default=100, help="random orders replayed")
    parser.add_argument("--configs", type=int, default=None, help="use only the first N configs")
    parser.add_argument(
        "--budget",
        type=float,
        default=0.10,
        help="epoch budget as a fraction of the whole table (default 0.10)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random orders")
    parser.add_argument("--only", nargs="*", help="only pruners whose name contains one of these")
    parser.add_argument("--quick", action="store_true", help="3 orders of 40 configurations")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON file (default bench/results/pruning.json for the digits table, "
        "pruning-<table>.json for another, -quick before .json with --quick)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.orders, args.configs = 3, args.configs or 40
    table_name = "" if args.curves == CURVES else "-" + args.curves.stem.removesuffix("_curves")
    default_out = f"pruning{table_name}{'-quick' if args.quick else ''}.json"
    out = args.out or ROOT / "results" / default_out
    report = run(
        curves_path=args.curves,
        orders=args.orders,
        configs=args.configs,
        budget_fraction=args.budget,
        seed=args.seed,
        only=args.only,
    )
    report["argv"] = sys.argv[1:] if argv is None else list(argv)
    report["goals"] = goals(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(table(report))
    print(
        f"\nno pruning ranks best a config whose final is {report['no_pruning_best_final']:.4f} "
        "on average over the orders (ties of the best value make it depend on the order); "
        f"the table's best final is {report['table_best_final']:.4f}; "
        f"{report['orders']} orders of {report['configs']} configs; raw results in "
        f"{os.path.relpath(out)}"
    )
    for goal, ok in report["goals"].items():
        print(f"goal {'-' if ok is None else 'met' if ok else 'MISSED'}: {goal}")
    for note in report["notes"]:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
