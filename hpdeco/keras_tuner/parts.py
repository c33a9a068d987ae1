"""The pieces a KerasTuner script handles besides the tuners: ``Objective``, ``HyperModel``,
the trials as KerasTuner shows them, and the oracle."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hpdeco.errors import ConfigError
from hpdeco.objective import infer_direction
from hpdeco.records import TrialRecord
from hpdeco.space import Choice, HyperParameters, Param

if TYPE_CHECKING:
    from hpdeco.keras_tuner.tuner import Tuner


class Objective:
    """The metric to optimise and its direction (``"min"`` or ``"max"``)."""

    def __init__(self, name: str, direction: str) -> None:
        if direction not in ("min", "max"):
            raise ConfigError(
                f"Objective(direction={direction!r}): direction must be 'min' or 'max'"
            )
        self.name = name
        self.direction = direction

    def __repr__(self) -> str:
        return f'Objective(name="{self.name}", direction="{self.direction}")'


def objectives_of(objective: Any) -> list[Objective]:
    """The objectives of ``objective=``: one, or several from a list (KerasTuner adds a
    list's metrics into one score; hpdeco keeps them apart and finds their Pareto front)."""
    items = list(objective) if isinstance(objective, (list, tuple)) else [objective]
    if not items:
        raise ConfigError("objective=[] names no objective; pass a metric name")
    return [_one_objective(item) for item in items]


def _one_objective(objective: Any) -> Objective:
    if objective is None:
        objective = "val_loss"
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        return Objective(objective, infer_direction(objective, None))
    raise ConfigError(f"objective={objective!r}: pass a metric name or kt.Objective(name, dir)")


class HyperModel:
    """Subclass and define ``build(hp)``; override ``fit(hp, model, *args, **kwargs)`` to
    tune the training too (its default calls ``model.fit(*args, **kwargs)``)."""

    def __init__(self, name: str | None = None, tunable: bool = True) -> None:
        self.name = name
        self.tunable = tunable

    def build(self, hp: HyperParameters) -> Any:
        raise NotImplementedError("a HyperModel subclass defines build(self, hp)")

    def declare_hyperparameters(self, hp: HyperParameters) -> None:
        return None

    def fit(self, hp: HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        return model.fit(*args, **kwargs)


class FunctionModel(HyperModel):
    def __init__(self, build: Callable[[HyperParameters], Any]) -> None:
        super().__init__(getattr(build, "__name__", None))
        self._build = build

    def build(self, hp: HyperParameters) -> Any:
        return self._build(hp)


class TrialParameters(HyperParameters):
    """The ``hp`` a tuner hands to ``build``: ``hyperparameters=`` override the model's
    declarations, ``tune_new_entries=False`` fixes the others at their default,
    ``allow_new_entries=False`` refuses them; GridSearch enumerates ranges without a step."""

    def __init__(self, tuner: Tuner | None = None) -> None:
        super().__init__()
        self._tuner = tuner

    def _retrieve(self, make: Any, name: str, parent_name: Any, parent_values: Any) -> Any:
        tuner = self._tuner
        if tuner is not None:
            make = tuner._policy(make, self._scope().full(name))
        return super()._retrieve(make, name, parent_name, parent_values)


def grid_choice(param: Param) -> Param:
    """A numeric range without a step becomes KerasTuner's grid values."""
    if param.kind in ("int", "float") and param.step is None:  # type: ignore[attr-defined]
        return Choice(param.name, param.values, ordered=True)  # type: ignore[attr-defined]
    return param


def user_name(name: str, params: Mapping[str, Any]) -> str:
    """``layers[model=v2]`` (a conditional parameter stored apart) is ``layers`` to the
    model code."""
    if name.endswith("]") and "[" in name:
        plain = name[: name.index("[")]
        if plain not in params:
            return plain
    return name


def hyperparameters_of(record: TrialRecord) -> HyperParameters:
    hp = HyperParameters()
    hp.values.update({user_name(k, record.params): v for k, v in record.params.items()})
    return hp


@dataclasses.dataclass
class FrozenTrial:
    """What ``oracle.get_best_trials`` returns: KerasTuner's trial fields."""

    trial_id: str
    hyperparameters: HyperParameters
    score: float | None
    best_step: int | None
    status: str
    record: TrialRecord


_STATUS = {"COMPLETE": "COMPLETED", "PRUNED": "STOPPED", "FAIL": "FAILED"}


class Oracle:
    def __init__(self, tuner: Tuner) -> None:
        self._tuner = tuner
        self.objective = tuner.objective

    @property
    def trials(self) -> dict[str, FrozenTrial]:
        return {str(r.number): self._frozen(r) for r in self._tuner._study_records()}

    def _frozen(self, record: TrialRecord) -> FrozenTrial:
        return FrozenTrial(
            str(record.number),
            hyperparameters_of(record),
            record.value,
            record.value_step(),
            _STATUS.get(record.state.value, record.state.value),
            record,
        )

    def get_best_trials(self, num_trials: int = 1) -> list[FrozenTrial]:
        return [self._frozen(r) for r in self._tuner._ranked()[:num_trials]]
