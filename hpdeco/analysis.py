"""Reading a study back for analysis: plain records, a pandas table, parameter importance.

Everything here reads the store only; it works on a finished search, on a search still
running in another process, and on :func:`hpdeco.load_study`::

    study = hpdeco.load_study("quickstart", store="hpdeco.db")
    rows = hpdeco.analysis.to_records(study)          # list of dicts, JSON-ready
    df = hpdeco.analysis.trials_dataframe(study)      # pandas (pip install "hpdeco[pandas]")
    hpdeco.analysis.param_importance(study)           # {"lr": 0.61, "layers": 0.12, ...}

``study.to_records()`` and ``study.trials_dataframe()`` (also on a search) call these.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hpdeco.errors import MissingDependency, UsageError
from hpdeco.records import TrialRecord, TrialState

if TYPE_CHECKING:
    import pandas

    from hpdeco.search import Search
    from hpdeco.study import Study

#: The fixed columns of :func:`trials_dataframe` and of ``hpdeco export --format csv``, in
#: order; each parameter follows as a ``params_<name>`` column.
COLUMNS = (
    "number",
    "state",
    "value",
    "best_step",
    "epochs",
    "runs",
    "value_std",
    "value_min",
    "value_max",
    "duration_s",
    "started_at",
    "finished_at",
    "reason",
)


def as_study(source: Study | Search) -> Study:
    """The :class:`~hpdeco.Study` behind ``source`` (a study, or a search inside or after
    its ``with`` block).

    >>> as_study(search) is search.study
    True
    """
    from hpdeco.study import Study

    if isinstance(source, Study):
        return source
    study = getattr(source, "study", None)
    if isinstance(study, Study):
        return study
    raise UsageError(
        f"{source!r} is not a study: pass a search, or hpdeco.load_study(name, store=path)"
    )


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def steps_run(record: TrialRecord) -> int:
    """How many steps (epochs, with the Keras callback) reported anything for the trial.

    >>> steps_run(study.best)
    10
    """
    steps: set[int] = set()
    for curve in record.metrics.values():
        steps.update(curve)
    return len(steps)


def value_step(record: TrialRecord, trial_value: str | None = "best") -> int | None:
    """The step whose reported objective became the trial's value, or None when no reported
    step has it (the value was set directly, ``trial.value = ...``).

    A PRUNED trial's value is the one at the step where it was stopped, and with
    ``trial_value="last"`` the one at its last step, even when an earlier step reported
    the same number; otherwise it is the first step that reached the value.

    >>> value_step(study.best)
    7
    """
    return record.value_step(trial_value)


def history(record: TrialRecord) -> list[dict[str, Any]]:
    """The trial's per-step metrics as rows, one per step: ``{"step": 1, "loss": ...}``.

    A metric that was NaN is ``None`` (JSON has no NaN).

    >>> history(study.best)[0]
    {'step': 1, 'accuracy': 0.61, 'loss': 1.32, 'val_accuracy': 0.83, 'val_loss': 0.71}
    """
    steps: dict[int, dict[str, Any]] = {}
    for name in sorted(record.metrics):
        for step, value in record.metrics[name].items():
            row = steps.setdefault(step, {"step": step})
            row[name] = None if value is None or math.isnan(value) else value
    return [steps[s] for s in sorted(steps)]


def to_record(
    record: TrialRecord, *, metrics: bool = False, objectives: Sequence[str] = ()
) -> dict[str, Any]:
    """One trial as a plain dict (the JSON export's row); ``metrics=True`` adds its per-step
    metrics under ``"history"``. With several ``objectives`` (their names, in the study's
    order), ``"values"`` maps each to the trial's value; with constraints, ``"feasible"``
    and ``"violation"`` say whether it meets them.

    >>> to_record(study.best)["params"]
    {'layers': 2, 'lr': 0.0031}
    """
    spread = record.spread
    row: dict[str, Any] = {
        "number": record.number,
        "state": record.state.value,
        "value": record.value,
        "best_step": record.best_step,
        "epochs": steps_run(record),
        # With several runs (executions, folds): how many, and the spread of their values.
        "runs": len(record.run_values) or 1,
        "value_std": spread[0] if spread else None,
        "value_min": spread[1] if spread else None,
        "value_max": spread[2] if spread else None,
        "duration_s": None if record.duration is None else round(record.duration, 3),
        "started_at": _iso(record.started_at),
        "finished_at": _iso(record.finished_at),
        "reason": record.reason,
        "params": dict(record.params),
    }
    if len(objectives) > 1:
        found = dict(zip(objectives, record.values, strict=False))
        row["values"] = {name: found.get(name) for name in objectives}
    if record.violation is not None:
        row["feasible"] = record.feasible
        row["violation"] = record.violation
    if metrics:
        row["history"] = history(record)
        if record.run_metrics:
            row["run_values"] = {str(k): v for k, v in record.run_values.items()}
            row["run_history"] = {
                str(run): history(dataclasses.replace(record, metrics=curves))
                for run, curves in record.run_metrics.items()
            }
    return row


def _states(states: Iterable[TrialState | str] | None) -> set[TrialState] | None:
    if states is None:
        return None
    if isinstance(states, (str, TrialState)):
        states = [states]
    chosen = set()
    for state in states:
        try:
            chosen.add(TrialState(str(state).upper()))
        except ValueError:
            names = ", ".join(s.value for s in TrialState)
            raise UsageError(f"state={state!r} is not a trial state; use one of {names}") from None
    return chosen


def select(
    source: Study | Search, states: Iterable[TrialState | str] | None = None
) -> list[TrialRecord]:
    """The study's trials by number, only those in ``states`` when given.

    >>> [t.number for t in select(study, ["PRUNED"])]
    [2, 5]
    """
    chosen = _states(states)
    trials = as_study(source).trials
    return trials if chosen is None else [t for t in trials if t.state in chosen]


def to_records(
    source: Study | Search,
    *,
    states: Iterable[TrialState | str] | None = None,
    metrics: bool = False,
) -> list[dict[str, Any]]:
    """Every trial as a plain dict, by number: ``number, state, value, best_step, epochs,
    duration_s, started_at, finished_at`` (ISO 8601, local time), ``reason`` and
    ``params`` (a dict). ``states`` keeps only those states; ``metrics=True`` adds each
    trial's per-step metrics under ``"history"``. No pandas needed.

    >>> rows = to_records(study, states=["COMPLETE"])
    >>> max(rows, key=lambda r: r["value"])["params"]
    {'layers': 2, 'lr': 0.0031}
    """
    names = [o.name for o in as_study(source).objectives]
    return [to_record(t, metrics=metrics, objectives=names) for t in select(source, states)]


def param_names(trials: Sequence[TrialRecord]) -> list[str]:
    """Every parameter any of ``trials`` drew, in the order a trial draws them: a name first
    seen in a later trial goes right after the one drawn before it there (``units_2`` after
    ``units_1``, not at the end).

    >>> param_names(study.trials)
    ['layers', 'units_0', 'units_1', 'units_2', 'lr', 'batch_size']
    """
    names: list[str] = []
    for trial in trials:
        previous: str | None = None
        for name in trial.params:
            if name not in names:
                names.insert(0 if previous is None else names.index(previous) + 1, name)
            previous = name
    return names


def flat_rows(
    trials: Sequence[TrialRecord], objectives: Sequence[str] = ()
) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and flat rows (one ``params_<name>`` column per parameter, ``None`` where a
    trial did not draw it), as in the CSV export and the dataframe. With several
    ``objectives``, one ``values_<name>`` column each; with constraints, ``feasible`` and
    ``violation``.

    >>> columns, rows = flat_rows(study.trials)
    >>> columns[:3], rows[0]["params_lr"]
    (['number', 'state', 'value'], 0.0031)
    """
    names = param_names(trials)
    several = list(objectives) if len(objectives) > 1 else []
    constrained = any(t.violation is not None for t in trials)
    columns = [
        *COLUMNS,
        *(f"values_{n}" for n in several),
        *(["feasible", "violation"] if constrained else []),
        *(f"params_{n}" for n in names),
    ]
    rows = []
    for trial in trials:
        row = to_record(trial, objectives=several)
        params = row.pop("params")
        values = row.pop("values", {})
        row.update({f"values_{n}": values.get(n) for n in several})
        if constrained:
            row.setdefault("feasible", None)
            row.setdefault("violation", None)
        row.update({f"params_{n}": params.get(n) for n in names})
        rows.append(row)
    return columns, rows


def trials_dataframe(
    source: Study | Search, *, states: Iterable[TrialState | str] | None = None
) -> pandas.DataFrame:
    """Every trial as a row of a pandas ``DataFrame``: the columns of :data:`COLUMNS`
    (``started_at``/``finished_at`` as datetimes) and one ``params_<name>`` column per
    parameter (missing where a trial did not draw it). Needs pandas
    (``pip install "hpdeco[pandas]"``).

    >>> df = trials_dataframe(study)
    >>> df[df.state == "COMPLETE"].sort_values("value").tail(3)
    """
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependency(
            'trials_dataframe() needs pandas: pip install "hpdeco[pandas]" '
            "(or use to_records(), which needs nothing)"
        ) from None
    names = [o.name for o in as_study(source).objectives]
    columns, rows = flat_rows(select(source, states), names)
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["value"] = frame["value"].astype(float)
    frame["duration_s"] = frame["duration_s"].astype(float)
    return frame


# -- parameter importance ---------------------------------------------------------------------

IMPORTANCE_METHOD = (
    "rank epsilon-squared: the share of the variance of the ranks of COMPLETE trials' values "
    "explained by grouping the trials by the parameter alone (each value its own group when "
    "the parameter took few values, else up to 4 quantile bins of about 3 trials or more, "
    "on a log scale when sampled so; trials without the parameter form their own group), "
    "corrected for the number of groups; ranks, so one diverged trial weighs as one trial; "
    "0 = no visible effect, 1 = it explains every difference; one parameter at a time, so "
    "interactions are not seen"
)

# A numeric parameter that took this many values or fewer (a grid, a choice of numbers) is
# grouped by value: binning three values into two bins would merge two of them.
_FEW_VALUES = 6


def _groups(values: list[Any], log: bool, bins: int) -> list[Any]:
    """A group label per trial for ``values`` of one parameter (``None``: not drawn)."""
    present = [v for v in values if v is not None]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
    distinct = sorted(set(present), key=repr) if not numeric else sorted(set(present))
    if not numeric or len(distinct) <= max(bins, _FEW_VALUES):
        return [("value", repr(v)) if v is not None else ("absent",) for v in values]
    # about 3 trials per group at least, so that a lone trial is not a group of its own
    k = max(2, min(bins, len(present) // 3))
    keyed = sorted(math.log(v) if log and v > 0 else float(v) for v in present)
    # Cut points between quantiles; equal values always fall in the same bin.
    cuts = [keyed[(i * len(keyed)) // k] for i in range(1, k)]
    labels: list[Any] = []
    for v in values:
        if v is None:
            labels.append(("absent",))
            continue
        x = math.log(v) if log and v > 0 else float(v)
        labels.append(("bin", sum(x >= c for c in cuts)))
    return labels


def _ranks(y: list[float]) -> list[float]:
    """Average ranks (1 = smallest; ties share their mean rank)."""
    order = sorted(range(len(y)), key=lambda i: y[i])
    ranks = [0.0] * len(y)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and y[order[j + 1]] == y[order[i]]:
            j += 1
        for m in range(i, j + 1):
            ranks[order[m]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _epsilon_squared(labels: list[Any], y: list[float]) -> float:
    n = len(y)
    groups: dict[Any, list[float]] = {}
    for label, value in zip(labels, y, strict=True):
        groups.setdefault(label, []).append(value)
    k = len(groups)
    mean = sum(y) / n
    total = sum((v - mean) ** 2 for v in y)
    if k < 2 or total <= 0 or n <= k:
        return 0.0
    between = sum(len(g) * (sum(g) / len(g) - mean) ** 2 for g in groups.values())
    within = total - between
    score = (between - (k - 1) * within / (n - k)) / total
    return max(0.0, min(1.0, score))


def param_importance(source: Study | Search, *, bins: int = 4) -> dict[str, float]:
    """How much each parameter seems to matter, from 0 to 1, most important first.

    The method (also :data:`IMPORTANCE_METHOD`): rank the COMPLETE trials' values (so a
    diverged trial far below the rest weighs as one trial, not as most of the variance),
    group the trials by one parameter (each value is a group for a choice and for a
    numeric parameter that took at most 6 values, as a grid gives; otherwise a numeric
    parameter drawn by ``n`` trials is cut into ``k = min(bins, n // 3)`` quantile bins
    (at least 2), on a log scale when it is sampled on one, equal values in one bin;
    trials that did not draw it are a group of their own), and compute epsilon-squared on
    the ranks: the share of their variance that the groups' means explain, minus what that
    many groups would explain by chance (``(SS_between - (groups - 1) * MS_within) /
    SS_total``, clipped to ``[0, 1]``; 0 when there are no more trials than groups). Each
    parameter is scored alone, so scores need not add up to 1 and interactions go unseen.
    Fewer than about 20 trials give a rough hint only. Needs 3 COMPLETE trials.

    >>> param_importance(study)
    {'lr': 0.64, 'layers': 0.18, 'batch_size': 0.0}
    """
    study = as_study(source)
    trials = [
        t
        for t in study.trials
        if t.state is TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
    ]
    if len(trials) < 3:
        raise UsageError(
            f"study {study.name!r} has {len(trials)} COMPLETE trial(s); parameter importance "
            "needs at least 3"
        )
    y = _ranks([float(t.value) for t in trials])  # type: ignore[arg-type]
    scores: dict[str, float] = {}
    for name in param_names(trials):
        spec = study.space.get(name)
        if spec is not None and spec.kind == "fixed":
            continue
        log = getattr(spec, "sampling", "linear") == "log"
        values = [t.params.get(name) for t in trials]
        scores[name] = _epsilon_squared(_groups(values, log, bins), y)
    return dict(sorted(scores.items(), key=lambda item: -item[1]))


def best_so_far(trials: Sequence[TrialRecord], direction: str) -> list[tuple[int, float]]:
    """``(number, best value up to it)`` after each COMPLETE trial, in trial order.

    >>> best_so_far(study.trials, "max")[-1]
    (11, 0.98)
    """
    out: list[tuple[int, float]] = []
    best: float | None = None
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.state is not TrialState.COMPLETE or trial.value is None:
            continue
        if not math.isfinite(trial.value):
            continue
        if best is None or (trial.value > best if direction == "max" else trial.value < best):
            best = trial.value
        out.append((trial.number, best))
    return out


def counts(trials: Iterable[TrialRecord]) -> dict[TrialState, int]:
    """Trials by state, in :class:`TrialState` order, only states present.

    >>> counts(study.trials)
    {<TrialState.COMPLETE: 'COMPLETE'>: 5, <TrialState.PRUNED: 'PRUNED'>: 2}
    """
    seen: dict[TrialState, int] = {}
    for trial in trials:
        seen[trial.state] = seen.get(trial.state, 0) + 1
    return {s: seen[s] for s in TrialState if s in seen}


def describe_counts(found: Mapping[TrialState, int]) -> str:
    """The counts as words.

    >>> describe_counts(counts(study.trials))
    'COMPLETE 5, PRUNED 2'
    """
    return ", ".join(f"{state.value} {n}" for state, n in found.items() if n)


__all__ = [
    "COLUMNS",
    "IMPORTANCE_METHOD",
    "as_study",
    "best_so_far",
    "counts",
    "describe_counts",
    "flat_rows",
    "history",
    "param_importance",
    "param_names",
    "select",
    "steps_run",
    "to_record",
    "to_records",
    "trials_dataframe",
    "value_step",
]
