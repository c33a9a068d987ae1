"""The ``hpdeco`` commands that only read: ``studies``, ``trials``, ``best`` and ``show``."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from hpdeco import analysis
from hpdeco.cli.options import (
    CommandError,
    chosen_states,
    direction_words,
    store_of,
    store_path,
    study_of,
)
from hpdeco.cli.text import fmt, fmt_duration, fmt_time, short, table
from hpdeco.records import TrialRecord, TrialState


def cmd_studies(args: argparse.Namespace, out: TextIO) -> int:
    path = store_path(args)
    store = store_of(args)
    rows = []
    for row in store.studies():
        seen = store.overview(row.id, row.direction)
        rows.append(
            [
                row.name,
                direction_words(row),
                str(sum(seen.counts.values())),
                *(
                    str(seen.counts.get(s, 0))
                    for s in (
                        TrialState.COMPLETE,
                        TrialState.PRUNED,
                        TrialState.FAIL,
                        TrialState.RUNNING,
                    )
                ),
                "-" if seen.best is None else f"{fmt(seen.best[1])} (#{seen.best[0]})",
                fmt_time(seen.last_activity or row.created_at),
            ]
        )
    if not rows:
        print(f"store {path!r} holds no study yet", file=out)
        return 0
    headers = [
        "study",
        "objective",
        "trials",
        "COMPLETE",
        "PRUNED",
        "FAIL",
        "RUNNING",
        "best",
        "last activity",
    ]
    print(table(headers, rows, right={2, 3, 4, 5, 6}), file=out)
    return 0


SORT_KEYS = ("number", "value", "duration", "epochs", "state")


def _sorter(study: Any, key: str, names: list[str]) -> Callable[[TrialRecord], Any]:
    if key == "number":
        return lambda t: t.number
    if key == "state":
        return lambda t: (list(TrialState).index(t.state), t.number)
    if key == "value":
        sign = -1.0 if study.direction == "max" else 1.0

        def by_value(t: TrialRecord) -> Any:
            ok = t.value is not None and math.isfinite(t.value)
            # COMPLETE first (best first), then PRUNED by value, then the rest.
            rank = 0 if t.state is TrialState.COMPLETE and ok else 1 if ok else 2
            return (rank, sign * t.value if ok else 0.0, t.number)  # type: ignore[operator]

        return by_value
    if key == "duration":
        return lambda t: (t.duration is None, t.duration or 0.0, t.number)
    if key == "epochs":
        return lambda t: (analysis.steps_run(t), t.number)
    if key in names:

        def by_param(t: TrialRecord) -> Any:
            v = t.params.get(key)
            return (v is None, (0, v) if isinstance(v, (int, float)) else (1, repr(v)), t.number)

        return by_param
    raise CommandError(
        f"--sort {key!r} is not a column; use one of {', '.join(SORT_KEYS)}"
        + (f" or a parameter ({', '.join(names)})" if names else "")
    )


def cmd_trials(args: argparse.Namespace, out: TextIO) -> int:
    study = study_of(args)
    every = study.trials
    trials = analysis.select(study, chosen_states(args.state))
    names = analysis.param_names(every)
    trials = sorted(trials, key=_sorter(study, args.sort, names), reverse=args.reverse)
    if args.limit is not None:
        trials = trials[: args.limit]
    found = analysis.describe_counts(analysis.counts(every))
    print(
        f"study {study.name!r}: {direction_words(study)}, {len(every)} trials"
        + (f" ({found})" if found else ""),
        file=out,
    )
    if not trials:
        print("no trial matches" if every else "no trial yet", file=out)
        return 0
    shown = [n for n in names if any(n in t.params for t in trials)]
    notes = any(t.reason for t in trials)
    runs = any(t.run_values for t in trials)
    spread = ["runs", "± std"] if runs else []
    several = len(study.objectives) > 1
    value_headers = [o.name for o in study.objectives] + ["front"] if several else ["value"]
    constrained = any(t.violation is not None for t in trials)
    value_headers += ["feasible"] if constrained else []
    front = {r.number for r in study.best_trials} if several else set()
    headers = ["#", "state", *value_headers, *spread, "epochs", "duration", *shown]
    headers += ["note"] if notes else []
    rows = []
    for t in trials:
        deviation = t.spread[0] if t.spread is not None else None
        values = [fmt(v) for v in _padded(t.values, len(study.objectives))] if several else []
        rows.append(
            [
                str(t.number),
                t.state.value,
                *([*values, "*" if t.number in front else ""] if several else [fmt(t.value)]),
                *(
                    ["-" if t.violation is None else "yes" if t.feasible else "no"]
                    if constrained
                    else []
                ),
                *([str(len(t.run_values) or 1), fmt(deviation, 3)] if runs else []),
                str(analysis.steps_run(t)),
                fmt_duration(t.duration),
                *(fmt(t.params[n], 4) if n in t.params else "-" for n in shown),
                *([short(t.reason)] if notes else []),
            ]
        )
    first = 2 + len(value_headers)  # the column after the values
    right = {0, *range(2, 2 + len(study.objectives)), first, first + 1}
    right |= {first + 2, first + 3} if runs else set()
    print(table(headers, rows, right=right), file=out)
    return 0


def _padded(values: tuple[float | None, ...], count: int) -> list[float | None]:
    return [*values, *([None] * (count - len(values)))][:count]


def cmd_pareto(args: argparse.Namespace, out: TextIO) -> int:
    study = study_of(args)
    front = study.best_trials
    names = [o.name for o in study.objectives]
    every = study.trials
    feasible = [
        t for t in every if t.state is TrialState.COMPLETE and t.feasible and t.value is not None
    ]
    infeasible = sum(t.state is TrialState.COMPLETE and not t.feasible for t in every)
    print(
        f"study {study.name!r}: {direction_words(study)}; Pareto front: {len(front)} of "
        f"{len(feasible)} feasible COMPLETE trials"
        + (f" ({infeasible} infeasible left out)" if infeasible else ""),
        file=out,
    )
    if len(names) < 2:
        print("one objective: the front is the best trial (see `hpdeco best`)", file=out)
    if not front:
        return 0
    params = analysis.param_names(front)
    rows = [
        [
            str(t.number),
            *(fmt(v) for v in _padded(t.values, len(names))),
            *(fmt(t.params[n], 4) if n in t.params else "-" for n in params),
        ]
        for t in front
    ]
    print(
        table(["#", *names, *params], rows, right=set(range(len(names) + 1))),
        file=out,
    )
    return 0


def _weights_file(study: Any, number: int) -> Path | None:
    from hpdeco.weights import WeightKeeper  # numpy: only for the command that shows them

    path = WeightKeeper(study, 0).path(number)
    return path if path is not None and path.exists() else None


def _where(study: Any, record: TrialRecord) -> str:
    """Where the trial's value came from: ``, at epoch 4 of 10``, or, for a value the trial
    set itself, that it is not one of the epochs' values."""
    if record.run_values:
        return f", the mean of its {len(record.run_values)} runs"
    step = analysis.value_step(record, study.settings.get("trial_value"))
    epochs = analysis.steps_run(record)
    if step is not None:
        return f", at epoch {step} of {epochs}"
    reported = f"; {epochs} epochs reported" if epochs else ""
    return f", set by the trial itself (not a reported epoch's value{reported})"


def _print_runs(record: TrialRecord, out: TextIO) -> None:
    """The runs of a trial that has several (executions, folds), and its refit."""
    if record.run_values:
        values = ", ".join(fmt(v, 4) for v in record.run_values.values())
        spread = record.spread
        shown = (
            ""
            if spread is None
            else (f"; std {fmt(spread[0], 3)}, min {fmt(spread[1], 4)}, max {fmt(spread[2], 4)}")
        )
        print(f"runs: {len(record.run_values)} ({values}){shown}", file=out)
    if record.refit:
        epochs = max((max(curve) for curve in record.refit.values() if curve), default=0)
        last = {name: curve[max(curve)] for name, curve in record.refit.items() if curve}
        metrics = ", ".join(f"{k}={fmt(v, 4)}" for k, v in sorted(last.items()))
        print(f"refit on all the data: {epochs} epochs, last epoch {metrics}", file=out)


def _print_params(params: Mapping[str, Any], out: TextIO) -> None:
    """A ``parameters:`` block, one aligned ``name  value`` line each; nothing if none."""
    if not params:
        return
    print("\nparameters:", file=out)
    width = max(len(n) for n in params)
    for name, value in params.items():
        print(f"  {name.ljust(width)}  {value!r}", file=out)


def cmd_best(args: argparse.Namespace, out: TextIO) -> int:
    study = study_of(args)
    trials = study.trials
    best = study.best
    found = analysis.describe_counts(analysis.counts(trials))
    if best is None:
        raise CommandError(
            f"study {study.name!r} has no COMPLETE trial yet"
            + (f" ({found})" if found else " (no trial at all)")
        )
    print(f"study {study.name!r}: best of {len(trials)} trials ({found})", file=out)
    print(
        f"trial {best.number}: {study.objective} = {fmt(best.value, 8)} ({study.direction})"
        f"{_where(study, best)}, {fmt_duration(best.duration)}",
        file=out,
    )
    if len(study.objectives) > 1:
        others = ", ".join(
            f"{o.name} = {fmt(v)} ({o.direction})"
            for o, v in zip(study.objectives[1:], best.values[1:], strict=False)
        )
        print(
            f"  {others}; the best {study.objective} among the Pareto front of "
            f"{len(study.best_trials)} trials (`hpdeco pareto {study.name}` lists them)",
            file=out,
        )
    if best.reason:
        print(f"note: {best.reason}", file=out)
    _print_runs(best, out)
    params = dict(best.params)
    _print_params(params, out)
    print("\nas a Python dict:", file=out)
    print(f"params = {params!r}", file=out)
    weights = _weights_file(study, best.number)
    if weights is not None:
        print(f"\nweights: {weights}", file=out)
        print(
            "the trained model, in Python:\n"
            f"  study = hpdeco.load_study({study.name!r}, store={study.store.path!r})\n"
            "  model = hpdeco.weights.best_model(study, build_model)",
            file=out,
        )
    else:
        print(
            "\nweights: none kept for this trial (they are kept when the search runs with "
            "keep_best >= 1 and fit gets callbacks=trial.callbacks())",
            file=out,
        )
    return 0


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    study = study_of(args)
    record = next((t for t in study.trials if t.number == args.number), None)
    if record is None:
        numbers = [t.number for t in study.trials]
        span = f"0 to {max(numbers)}" if numbers else "none yet"
        raise CommandError(
            f"study {study.name!r} has no trial {args.number} (trial numbers: {span})"
        )
    print(f"trial {record.number} of study {study.name!r}: {record.state.value}", file=out)
    step = analysis.value_step(record, study.settings.get("trial_value"))
    if record.value is not None:
        if record.state is TrialState.PRUNED:
            what = f", when it was stopped after epoch {step}" if step is not None else ""
        else:
            what = _where(study, record)
        print(f"value: {study.objective} = {fmt(record.value, 8)}{what}", file=out)
    print(
        f"started {fmt_time(record.started_at)}, finished {fmt_time(record.finished_at)}, "
        f"took {fmt_duration(record.duration)}",
        file=out,
    )
    if record.reason:
        print(f"reason: {record.reason}", file=out)
    _print_runs(record, out)
    _print_params(record.params, out)
    rows = analysis.history(record)
    if rows:
        metrics = sorted({k for r in rows for k in r if k != "step"})
        if study.objective in metrics:
            metrics.remove(study.objective)
            metrics.insert(0, study.objective)
        print("\nper epoch (* the trial's value):", file=out)
        cells = [
            [
                str(r["step"]) + ("*" if r["step"] == step else " "),
                *(fmt(r.get(m), 6) for m in metrics),
            ]
            for r in rows
        ]
        print(table(["epoch ", *metrics], cells, right=set(range(len(metrics) + 1))), file=out)
    else:
        print("\nno epoch reported", file=out)
    if record.traceback:
        if args.traceback:
            print("\ntraceback:\n" + record.traceback.rstrip(), file=out)
        else:
            print("\n(--traceback prints where it failed)", file=out)
    return 0
