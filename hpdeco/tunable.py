"""``@hpdeco.tunable``: wrap a model-building function without changing what it builds."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, cast

from hpdeco.errors import ConfigError
from hpdeco.search import Search
from hpdeco.space import current_trial, hp
from hpdeco.static import StaticSpace, read_space
from hpdeco.store import Store

R = TypeVar("R")


class Tunable(Protocol[R]):
    """A function decorated with ``@hpdeco.tunable``."""

    space: StaticSpace

    def __call__(self, *args: Any, **kwargs: Any) -> R: ...

    def tune(self, x: Any = None, y: Any = None, **options: Any) -> Search: ...


def tunable(fn: Callable[..., R]) -> Tunable[R]:
    """Mark a model-building function as tunable.

    Calling it still builds the original model (every ``hp.*`` returns its default outside
    a search). ``fn.space`` shows the ``hp.*`` calls read from its source; ``fn.tune(...)``
    runs a whole search in one line.

    >>> @hpdeco.tunable
    ... def build_model():
    ...     return make_mlp(units=hp.Int("units", 16, 256, step=16))
    >>> print(build_model.space)
    """
    if not callable(fn):
        raise ConfigError(f"@tunable decorates a function, not {fn!r}")
    space = read_space(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        trial = current_trial.get()
        if trial is not None:
            trial.study.declare_many(space.params.values())  # type: ignore[attr-defined]
        return fn(*args, **kwargs)

    def tune_(x: Any = None, y: Any = None, **options: Any) -> Search:
        return tune(cast(Tunable[R], wrapper), x, y, **options)

    tune_.__doc__ = tune.__doc__
    wrapper.space = space  # type: ignore[attr-defined]
    wrapper.tune = tune_  # type: ignore[attr-defined]
    return cast(Tunable[R], wrapper)


def _wants_hp(fn: Callable[..., Any]) -> bool:
    """KerasTuner-style ``build_model(hp)`` functions get ``hpdeco.hp`` passed in."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    first = next(iter(parameters.values()), None)
    return first is not None and first.name == "hp" and first.default is inspect.Parameter.empty


def tune(
    build: Tunable[Any],
    x: Any = None,
    y: Any = None,
    *,
    validation_data: Any = None,
    epochs: int = 10,
    objective: str = "val_loss",
    direction: str | None = None,
    max_trials: int | None = 10,
    timeout: float | None = None,
    sampler: Any = None,
    pruner: Any = None,
    store: str | os.PathLike[str] | Store | None = None,
    study: str | None = None,
    seed: int | None = None,
    trial_value: str = "best",
    verbose: int = 1,
    callbacks: Sequence[Any] = (),
    keep_best: int = 1,
    **fit_kwargs: Any,
) -> Search:
    """Build, fit and score the model for each trial; return the finished search.

    Other keyword arguments go to ``model.fit`` (``batch_size``, ``validation_split``...).
    A trial that raises is recorded FAIL and the search goes on. Each trial gets fresh
    copies of ``callbacks`` (so an ``EarlyStopping`` or ``ModelCheckpoint`` keeps no state
    from one trial to the next). ``result.best_model()`` is the best trial's trained model
    (``keep_best=0`` keeps no weights).

    >>> result = build_model.tune(x, y, validation_data=(xv, yv), epochs=20, max_trials=30)
    >>> result.best.params, result.best.value
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"epochs={epochs!r} must be an int >= 1")
    fit_kwargs.setdefault("verbose", 0)
    pass_hp = _wants_hp(build)
    with Search(
        objective=objective,
        direction=direction,
        max_trials=max_trials,
        timeout=timeout,
        sampler=sampler,
        pruner=pruner,
        store=store,
        study=study or getattr(build, "__name__", None),
        seed=seed,
        trial_value=trial_value,
        space=build,
        verbose=verbose,
        keep_best=keep_best,
    ) as search:
        for trial in search:
            with trial:
                from hpdeco.callbacks import fresh  # keras is imported only here

                model = build(hp) if pass_hp else build()
                model.fit(
                    x,
                    y,
                    validation_data=validation_data,
                    epochs=epochs,
                    callbacks=[*trial.callbacks(), *fresh(callbacks)],
                    **fit_kwargs,
                )
    return search
