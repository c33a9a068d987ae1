"""``@hpdeco.tunable``: wrap a model-building function without changing what it builds."""

from __future__ import annotations

import difflib
import functools
import inspect
import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, cast

from hpdeco.errors import ConfigError
from hpdeco.search import Search
from hpdeco.space import current_trial
from hpdeco.static import StaticSpace, read_space
from hpdeco.store import Store
from hpdeco.trial import Trial
from hpdeco.validate import check_int
from hpdeco.workers import FitJob, check_shared_store, run_isolated, start_workers

R = TypeVar("R", covariant=True)


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
    if inspect.isclass(fn):
        return cast(Tunable[R], _tunable_class(fn))
    space = read_space(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        trial = current_trial.get()
        if trial is not None:
            trial.study.declare_many(space.params.values())  # type: ignore[attr-defined]
            if isinstance(trial, Trial) and trial.built_by is None:
                trial.built_by = functools.partial(wrapper, *args, **kwargs)
        return fn(*args, **kwargs)

    def tune_(x: Any = None, y: Any = None, **options: Any) -> Search:
        return tune(cast(Tunable[R], wrapper), x, y, **options)

    # help(build_model.tune) shows tune()'s real options, not (x, y, **options).
    tune_.__doc__ = tune.__doc__
    tune_.__name__ = "tune"
    tune_.__qualname__ = f"{getattr(fn, '__qualname__', 'tunable')}.tune"
    signature = inspect.signature(tune)
    tune_.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[1:]
    )
    wrapper.space = space  # type: ignore[attr-defined]
    wrapper.tune = tune_  # type: ignore[attr-defined]
    return cast(Tunable[R], wrapper)


def _tunable_class(cls: type) -> type:
    """``@tunable`` on a class (a ``keras.Model`` subclass whose ``__init__`` draws
    ``hp.*``) keeps it the same class, so ``isinstance``, subclassing and
    ``Model.from_config`` still work: only its ``__init__`` is wrapped, and the class gains
    ``space`` (read from ``__init__``) and ``tune``."""
    init: Callable[..., None] = getattr(cls, "__init__")  # noqa: B009 (mypy: cls.__init__)
    space = read_space(init) if inspect.isfunction(init) else read_space(cls)

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        trial = current_trial.get()
        if trial is not None:
            trial.study.declare_many(space.params.values())  # type: ignore[attr-defined]
            # Only for the class itself: a subclass calls this through super().__init__
            # with arguments of its own choosing, which would not rebuild it.
            if isinstance(trial, Trial) and trial.built_by is None and type(self) is cls:
                trial.built_by = functools.partial(cast(Callable[..., Any], cls), *args, **kwargs)
        init(self, *args, **kwargs)

    def tune_(x: Any = None, y: Any = None, **options: Any) -> Search:
        return tune(cast(Tunable[Any], cls), x, y, **options)

    tune_.__doc__ = tune.__doc__
    # Keras reads __init__'s argument spec (getfullargspec, which ignores __wrapped__) to
    # rebuild the model from its config: show it the original's.
    __init__.__signature__ = inspect.signature(init)  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]
    cls.space = space  # type: ignore[attr-defined]
    cls.tune = staticmethod(tune_)  # type: ignore[attr-defined]
    return cls


def _wants_hp(fn: Callable[..., Any]) -> bool:
    """KerasTuner-style ``build_model(hp)`` functions get ``hpdeco.hp`` passed in: those
    that take exactly one required positional parameter, whatever its name (``hps``...)."""
    return _hp_argument(fn) is not None


def _hp_argument(fn: Callable[..., Any]) -> str | None:
    """The name of ``fn``'s one required positional parameter (``self``/``cls`` of a plain
    function read from a class skipped), or None when it has none or several."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if parameters and parameters[0].name in ("self", "cls") and not inspect.isclass(fn):
        parameters = parameters[1:]
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [
        p for p in parameters if p.kind in positional and p.default is inspect.Parameter.empty
    ]
    return required[0].name if len(required) == 1 else None


def tune(
    build: Tunable[Any],
    x: Any = None,
    y: Any = None,
    *,
    validation_data: Any = None,
    epochs: int = 10,
    objective: str | Sequence[str | tuple[str, str]] = "val_loss",
    direction: str | Sequence[str | None] | None = None,
    constraints: Any = None,
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
    callback_options: dict[str, Any] | None = None,
    keep_best: int = 1,
    retries: int = 0,
    max_consecutive_failures: int | None = 3,
    executions_per_trial: int = 1,
    cv: Any = None,
    prune_runs: bool | None = None,
    isolate: bool = False,
    workers: int = 1,
    **fit_kwargs: Any,
) -> Search:
    """Build, fit and score the model for each trial; return the finished search.

    The search options are :class:`hpdeco.Search`'s. Other keyword arguments go to
    ``model.fit`` (``batch_size``, ``validation_split``...); one that is neither is refused
    before the first trial.
    A trial that raises is recorded FAIL and the search goes on. Each trial gets fresh
    copies of ``callbacks`` (so an ``EarlyStopping`` or ``ModelCheckpoint`` keeps no state
    from one trial to the next); ``callback_options`` go to ``trial.callbacks()``, e.g.
    ``dict(patience=3, restore_best_weights=True)`` for early stopping.
    ``result.best_model()`` is the best trial's trained model (``keep_best=0`` keeps no
    weights).

    ``executions_per_trial=N`` trains each configuration N times on the same data, ``cv=K``
    once per fold of K-fold cross-validation over ``x``, ``y`` (stratified for class
    labels; or pass a scikit-learn splitter); the trial's value is then the mean of the
    runs' values, and ``prune_runs`` (default: with the pruner) stops a trial between runs
    when it cannot reach the best (see :meth:`hpdeco.Trial.runs`).

    ``isolate=True`` runs each trial in a fresh child process, so a leaky model cannot grow
    memory across trials (each child pays TensorFlow's start-up, a few seconds).
    ``workers=N`` runs N processes on the same study at once (its store must be a file or
    a PostgreSQL URL). Both need ``build`` importable by the children: define it at module
    level and keep the script's work under ``if __name__ == "__main__":``.

    >>> result = build_model.tune(x, y, validation_data=(xv, yv), epochs=20, max_trials=30)
    >>> result.best.params, result.best.value
    """
    check_int("tune", "epochs", epochs, minimum=1)
    check_int("tune", "workers", workers, minimum=1)
    _check_fit_options(fit_kwargs)
    check_int("tune", "executions_per_trial", executions_per_trial, minimum=1)
    if cv is not None and executions_per_trial != 1:
        raise ConfigError(
            f"tune(cv={cv!r}, executions_per_trial={executions_per_trial!r}): choose one way "
            "to run each configuration several times"
        )
    if cv is not None and (validation_data is not None or "validation_split" in fit_kwargs):
        raise ConfigError(
            f"tune(cv={cv!r}): each fold holds out its own validation part; drop "
            "validation_data= and validation_split="
        )
    fit_kwargs.setdefault("verbose", 0)
    job = FitJob(
        build,
        _wants_hp(build),
        x,
        y,
        validation_data,
        epochs,
        callbacks,
        dict(callback_options or {}),
        fit_kwargs,
        executions_per_trial,
        cv,
        prune_runs,
    )
    study = study or getattr(build, "__name__", None)
    options = dict(
        objective=objective,
        direction=direction,
        constraints=constraints,
        max_trials=max_trials,
        timeout=timeout,
        sampler=sampler,
        pruner=pruner,
        store=store,
        study=study,
        seed=seed,
        trial_value=trial_value,
        keep_best=keep_best,
        retries=retries,
        max_consecutive_failures=max_consecutive_failures,
    )
    helpers = []
    if workers > 1 or isolate:
        check_shared_store(store, "workers > 1" if workers > 1 else "isolate=True")
    if workers > 1:
        helpers = start_workers(
            workers - 1,
            dict(
                build=build,
                x=x,
                y=y,
                validation_data=validation_data,
                epochs=epochs,
                callbacks=callbacks,
                callback_options=callback_options,
                executions_per_trial=executions_per_trial,
                cv=cv,
                prune_runs=prune_runs,
                isolate=isolate,
                verbose=0,
                **options,
                **{k: v for k, v in fit_kwargs.items() if k != "verbose"},
            ),
        )
    try:
        with Search(**options, space=build, verbose=verbose) as search:
            for trial in search:
                with trial:
                    if isolate:
                        run_isolated(search, trial, job)
                    else:
                        job.run(trial)
    finally:
        for helper in helpers:
            helper.join()
    return search


def _check_fit_options(fit_kwargs: dict[str, Any]) -> None:
    """Refuse, before any trial, an option that is neither tune()'s nor ``model.fit``'s: it
    would fail every trial alike."""
    if not fit_kwargs:
        return
    import keras  # tune() trains Keras models: keras is imported by the first trial anyway

    fit = inspect.signature(keras.Model.fit).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in fit.values()):
        return
    unknown = [name for name in fit_kwargs if name not in fit]
    if not unknown:
        return
    ours = [n for n in inspect.signature(tune).parameters if n not in ("build", "fit_kwargs")]
    name = unknown[0]
    close = difflib.get_close_matches(name, [*ours, *fit], n=1)
    hint = f"did you mean {close[0]}=? " if close else ""
    raise ConfigError(
        f"tune({name}={fit_kwargs[name]!r}): {name!r} is neither an option of tune() nor an "
        f"argument of model.fit(); {hint}tune() takes {', '.join(ours)}, and passes on to "
        f"fit {', '.join(n for n in fit if n not in ('self', 'x', 'y'))}"
    )
