"""Pieces shared by the model-based samplers (sobol, tpe, gp): seeds, per-trial random
generators, how a parameter is encoded on the unit interval, scrambled Sobol' points, and
the finished trials as columns for the models, and steering away from configurations that
were already tried."""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from hpdeco.records import TrialRecord, TrialState
from hpdeco.samplers.tree import ConfigTree
from hpdeco.space import Param

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial

# A stepped parameter with more values than this is modelled as continuous.
MAX_DISCRETE = 1000
# How a finished trial counts for the models: a value at the end, a value where it was
# pruned, or none (failed, or not finite).
COMPLETE, PRUNED, BAD = 0, 1, 2


def new_seed(seed: int | None) -> int:
    """``seed``, or a fresh random one (so that the sampler can report which it used)."""
    return seed if seed is not None else random.SystemRandom().randrange(2**63)


def trial_rng(seed: int, number: int, salt: int = 0) -> np.random.Generator:
    """The generator of trial ``number``: the same seed and trial give the same draws."""
    return np.random.default_rng([seed, number, salt])


def searchable(space: dict[str, Param]) -> list[str]:
    """Names of the parameters a sampler draws (``Fixed`` ones are never sent), sorted so
    that every process and every resumed run sees the same order."""
    return sorted(name for name, p in space.items() if p.kind != "fixed")


class Encoding:
    """How ``param`` lives on ``[0, 1]``: its kind for the models and, for discrete ones,
    the number of equal cells (value ``i`` is the cell ``[i/n, (i+1)/n]``)."""

    __slots__ = ("cells", "kind", "param")

    def __init__(self, param: Param) -> None:
        self.param = param
        self.cells = 0
        if param.kind == "categorical" and not param.ordered:  # type: ignore[attr-defined]
            self.kind = "categorical"
            self.cells = len(param.values)  # type: ignore[attr-defined]
        elif param.kind == "categorical":
            self.kind = "discrete"
            self.cells = len(param.values)  # type: ignore[attr-defined]
        else:
            count = param._count()  # type: ignore[attr-defined]
            if count is not None and count <= MAX_DISCRETE:
                self.kind = "discrete"
                self.cells = count
            else:
                self.kind = "continuous"

    def code(self, value: Any) -> float:
        """The value as a number: its category index, or its position in ``[0, 1]``."""
        if self.kind == "categorical":
            return float(self.param.index(value))  # type: ignore[attr-defined]
        return float(self.param.to_unit(value))

    def value(self, code: float) -> Any:
        if self.kind == "categorical":
            return self.param.values[int(code)]  # type: ignore[attr-defined]
        return self.param.from_unit(float(code))

    def log_prior(self) -> float:
        """Log density (or mass) of the uniform prior at any point."""
        if self.kind == "continuous":
            return 0.0
        return -float(np.log(self.cells))


class History:
    """The finished trials as columns of codes (NaN where a trial lacks the parameter),
    extended incrementally as trials finish; rebuilt only when the space changes."""

    def __init__(self) -> None:
        self.space: dict[str, Param] = {}
        self.encodings: dict[str, Encoding] = {}
        self.columns: dict[str, list[float]] = {}
        self.group: list[int] = []
        self.step: list[float] = []
        self.loss: list[float] = []
        self.seen = 0

    def update(self, study: Study) -> None:
        if study.space != self.space:
            self.__init__()  # type: ignore[misc]
            self.space = dict(study.space)
            self.encodings = {n: Encoding(self.space[n]) for n in searchable(self.space)}
            self.columns = {n: [] for n in self.encodings}
        sign = 1.0 if study.direction == "min" else -1.0
        for record in study.finished[self.seen :]:
            self.add(record, sign)
        self.seen = len(study.finished)

    def add(self, record: TrialRecord, sign: float) -> None:
        value = record.value
        # An infeasible trial (it broke the study's constraints) never counts as a result:
        # however good its value, the samplers must not steer toward it.
        finite = value is not None and math.isfinite(value) and record.feasible
        if record.state is TrialState.COMPLETE and finite:
            group, step = COMPLETE, 0.0
        elif record.state is TrialState.PRUNED and finite:
            group, step = PRUNED, float(record.last_step or 0)
        else:
            group, step = BAD, 0.0
        self.group.append(group)
        self.step.append(step)
        self.loss.append(sign * value if finite else math.inf)  # type: ignore[operator]
        for name, column in self.columns.items():
            column.append(self.code(name, record.params))

    def code(self, name: str, params: Any) -> float:
        encoding = self.encodings[name]
        if name not in params or not encoding.param.contains(params[name]):
            return math.nan
        return encoding.code(params[name])

    @property
    def ranked(self) -> int:
        """Trials with a value (complete, or pruned at some step)."""
        return len(self.group) - self.group.count(BAD)


class SobolPoints:
    """Point ``k`` of one scrambled Sobol' sequence, for trial ``k``, over the parameters
    known when the trial starts (one dimension each, by sorted name)."""

    CAPACITY = 32  # dimensions per block; more parameters take more blocks

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._engine: Any = None
        self._dims = 0
        self._point: tuple[int, dict[str, float]] | None = None

    def point(self, trial: Trial) -> dict[str, float]:
        """Unit coordinates by parameter name; the names are those known at the trial's
        first draw."""
        cached = self._point
        if cached is None or cached[0] != trial.number:
            names = searchable(trial.study.space)
            point = self._draw(trial.number, len(names))
            cached = (trial.number, dict(zip(names, point, strict=True)))
            self._point = cached
        return cached[1]

    def _draw(self, index: int, count: int) -> list[float]:
        from scipy.stats import qmc

        dims = self.CAPACITY * max(1, -(-count // self.CAPACITY))
        if self._engine is None or self._dims != dims:
            self._engine = qmc.Sobol(dims, scramble=True, rng=self.seed % 2**63)
            self._dims = dims
        engine = self._engine
        if engine.num_generated != index:
            engine.reset()
            if index:
                engine.fast_forward(index)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance properties: one point at a time is fine
            return [float(u) for u in engine.random(1)[0, :count]]


class Repeats:
    """Keeps samplers off configurations already finished, and says when a finite space is
    exhausted (the same tree the random and grid samplers use)."""

    def __init__(self) -> None:
        self.tree = ConfigTree()

    def alternatives(self, param: Param, trial: Trial, value: Any) -> list[Any] | None:
        """None when ``value`` is fine (or nothing better is known), else the values of
        ``param`` that still lead to untried configurations from here."""
        self.tree.update(trial.study)
        node = self.tree.node(trial.params)
        if node is None or not node.child_done(value):
            return None
        return self.tree.open_values(node, param) or None

    def steer(self, param: Param, trial: Trial, value: Any, pick: Callable[[int], int]) -> Any:
        """``value``, or, when it leads only to configurations already tried, one of the
        values that still lead to untried ones (``pick(n)`` chooses an index below n)."""
        others = self.alternatives(param, trial, value)
        return others[pick(len(others))] if others else value

    def exhausted(self, study: Study) -> bool:
        self.tree.update(study)
        return self.tree.exhausted
