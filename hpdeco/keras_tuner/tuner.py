"""``Tuner``: what every KerasTuner tuner does, on ``hpdeco.search``."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable, Mapping
from typing import Any

from hpdeco.errors import ConfigError, UsageError
from hpdeco.keras_tuner.parts import (
    FunctionModel,
    HyperModel,
    Oracle,
    TrialParameters,
    hyperparameters_of,
    objectives_of,
)
from hpdeco.records import TrialRecord
from hpdeco.space import Fixed, HyperParameters
from hpdeco.space.accessor import current_trial


class Tuner:
    """What every tuner shares; use :class:`RandomSearch`, :class:`GridSearch`,
    :class:`BayesianOptimization` or :class:`Hyperband`."""

    sampler: Any = "random"
    pruner: Any = "none"

    def __init__(
        self,
        hypermodel: HyperModel | Callable[[HyperParameters], Any] | None = None,
        objective: Any = None,
        max_trials: int | None = 10,
        executions_per_trial: int = 1,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int | None = 3,
        directory: str | os.PathLike[str] | None = None,
        project_name: str | None = None,
        overwrite: bool = False,
        logger: Any = None,
        tuner_id: Any = None,
        max_model_size: Any = None,
        optimizer: Any = None,
        loss: Any = None,
        metrics: Any = None,
        distribution_strategy: Any = None,
        keep_best: int = 10,
    ) -> None:
        where = type(self).__name__
        if hypermodel is None or not (isinstance(hypermodel, HyperModel) or callable(hypermodel)):
            raise ConfigError(
                f"{where}(hypermodel={hypermodel!r}): pass a build_model(hp) function or a "
                "kt.HyperModel"
            )
        for option, value in (("optimizer", optimizer), ("loss", loss), ("metrics", metrics)):
            if value is not None:
                raise ConfigError(
                    f"{where}({option}={value!r}) is not supported: compile the model in "
                    "build_model (model.compile(optimizer=..., loss=..., metrics=[...]))"
                )
        if distribution_strategy is not None:
            raise ConfigError(
                f"{where}(distribution_strategy=...) is not supported: create the model "
                "under strategy.scope() in build_model, or run workers on one store"
            )
        if isinstance(executions_per_trial, bool) or not isinstance(executions_per_trial, int):
            raise ConfigError(f"{where}(executions_per_trial={executions_per_trial!r}): an int")
        if executions_per_trial < 1:
            raise ConfigError(f"{where}(executions_per_trial={executions_per_trial!r}): >= 1")
        self.hypermodel = (
            hypermodel if isinstance(hypermodel, HyperModel) else FunctionModel(hypermodel)
        )
        self.objectives = objectives_of(objective)
        self.objective = self.objectives[0]
        self.max_trials = max_trials
        self.executions_per_trial = executions_per_trial
        self.seed = seed
        self.hyperparameters = hyperparameters
        self.tune_new_entries = tune_new_entries
        self.allow_new_entries = allow_new_entries
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self.directory = os.fspath(directory) if directory is not None else "."
        self.project_name = project_name or "untitled_project"
        self.project_dir = os.path.join(self.directory, self.project_name)
        self.store = os.path.join(self.directory, "hpdeco.db")
        self.keep_best = keep_best
        self.oracle = Oracle(self)
        self._sample: Any = None
        self._fit_epochs: int | None = None
        if overwrite:
            self._delete_study()

    # -- the store ----------------------------------------------------------------------------

    def _delete_study(self) -> None:
        from hpdeco.store import open_store
        from hpdeco.study import Study
        from hpdeco.weights import weights_folder

        if not os.path.exists(self.store):
            return
        store = open_store(self.store)
        try:
            row = store.study(self.project_name)
            if row is not None:
                folder = weights_folder(Study(store, row))
                store.delete_study(self.project_name)
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)
        finally:
            store.close()

    def _study(self) -> Any:
        import hpdeco

        try:
            if not os.path.exists(self.store):
                raise hpdeco.StudyNotFound(self.store)
            return hpdeco.load_study(self.project_name, store=self.store)
        except hpdeco.StudyNotFound:
            raise UsageError(
                f"{type(self).__name__}: no trial yet in project {self.project_name!r} "
                f"({self.store}); call tuner.search(...) first"
            ) from None

    def _study_records(self) -> list[TrialRecord]:
        with self._study() as study:
            return list(study.trials)

    def _ranked(self) -> list[TrialRecord]:
        from hpdeco.weights import ranked

        with self._study() as study:
            return ranked(study)

    # -- searching ----------------------------------------------------------------------------

    def _policy(self, make: Any, full: str) -> Any:
        """How this tuner declares ``full``: from ``hyperparameters=``, fixed, or refused."""
        preset = self.hyperparameters
        # The container was filled outside any trial: read that bookkeeping, not the trial's.
        declared = preset._outside.declared if preset is not None else {}
        given = {name: known[0][0] for name, known in declared.items()}
        if full in given:
            spec = given[full]
            return lambda n: dataclasses.replace(spec, name=n)
        if preset is not None and not self.allow_new_entries:
            raise ConfigError(
                f"hyperparameter {full!r} is not in hyperparameters= and "
                "allow_new_entries=False; declare it there, or allow new entries"
            )
        if preset is not None and not self.tune_new_entries:
            return lambda n: Fixed(n, make(n).default)
        return make

    def _search_options(self) -> dict[str, Any]:
        return {"sampler": self.sampler, "pruner": self.pruner, "max_trials": self.max_trials}

    def _new_hp(self) -> HyperParameters:
        return TrialParameters(self)

    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """Run the search: ``fit_args``/``fit_kwargs`` go to ``model.fit`` (through
        ``HyperModel.fit``) in every trial, with hpdeco's callback added to ``callbacks``."""
        import hpdeco
        from hpdeco.callbacks import fresh

        callbacks = list(fit_kwargs.pop("callbacks", None) or [])
        verbose = fit_kwargs.get("verbose", 1)
        if self._fit_epochs is not None:
            fit_kwargs["epochs"] = self._fit_epochs
        self._sample = fit_args[0] if fit_args else fit_kwargs.get("x")
        options = self._search_options()
        os.makedirs(self.directory, exist_ok=True)
        search = hpdeco.search(
            objective=[(o.name, o.direction) for o in self.objectives],
            store=self.store,
            study=self.project_name,
            seed=self.seed,
            verbose=1 if verbose else 0,
            keep_best=self.keep_best,
            max_consecutive_failures=self.max_consecutive_failed_trials,
            **options,
        )
        try:
            with search:
                for trial in search:
                    with trial:
                        hp = self._new_hp()
                        if self.executions_per_trial == 1:
                            self._run(trial, hp, fit_args, fit_kwargs, fresh(callbacks))
                        else:
                            self._runs(trial, hp, fit_args, fit_kwargs, callbacks)
        finally:
            search.close()  # the results are read again from the store when asked for

    def _runs(
        self, trial: Any, hp: HyperParameters, args: Any, kwargs: Any, callbacks: list[Any]
    ) -> None:
        from hpdeco.callbacks import fresh

        if not hasattr(trial, "runs"):
            raise ConfigError(
                f"executions_per_trial={self.executions_per_trial}: this hpdeco has no "
                "repeated runs (trial.runs); pass executions_per_trial=1"
            )
        for run in trial.runs(self.executions_per_trial):
            self._run(run, hp, args, kwargs, fresh(callbacks))

    def _run(
        self, owner: Any, hp: HyperParameters, args: Any, kwargs: Any, callbacks: list[Any]
    ) -> None:
        """Build and fit once; ``owner`` (the trial or one of its runs) records the epochs."""
        model = self.hypermodel.build(hp)
        result = self.hypermodel.fit(
            hp, model, *args, callbacks=[*owner.callbacks(), *callbacks], **kwargs
        )
        # HyperModel.fit may return the score itself, as KerasTuner allows.
        if isinstance(result, Mapping) and self.objective.name in result:
            result = result[self.objective.name]
        if isinstance(result, (int, float)) and not isinstance(result, bool):
            trial = current_trial.get()
            if trial is not None and not trial.intermediate_values:  # type: ignore[attr-defined]
                owner.report(float(result), step=0)

    # -- results ------------------------------------------------------------------------------

    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """The best trials' values, as ``HyperParameters`` (``.values``; pass one to
        ``tuner.hypermodel.build(hp)`` to build that model untrained)."""
        return [hyperparameters_of(r) for r in self._ranked()[:num_trials]]

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The best trials' trained models: rebuilt and given the weights of their best
        epoch (kept for the ``keep_best`` best trials, 10 by default)."""
        from hpdeco.weights import best_model

        def build() -> Any:
            return self.hypermodel.build(self._new_hp())

        build.__name__ = self.hypermodel.name or type(self.hypermodel).__name__
        with self._study() as study:
            count = min(num_models, len(self._ranked()))
            return [
                best_model(study, build, rank=rank, sample=self._sample) for rank in range(count)
            ]

    def search_space_summary(self, extended: bool = False) -> None:
        """Print the parameters: those the model declares with their defaults (its build
        runs once, as KerasTuner's does), then any other the study has stored."""
        hp = self._new_hp()
        self.hypermodel.build(hp)
        specs = {p.name: p for p in hp.space}
        try:
            with self._study() as study:
                specs.update({n: p for n, p in study.space.items() if n not in specs})
        except UsageError:
            pass
        print("Search space summary")
        print(f"Default search space size: {len(specs)}")
        for name, param in specs.items():
            print(f"{name} ({type(param).__name__})")
            fields = {k: v for k, v in param.to_dict().items() if k not in ("type", "name")}
            print("{" + ", ".join(f"{k!r}: {v!r}" for k, v in fields.items()) + "}")

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the best ``num_trials`` trials, best first, as KerasTuner does."""
        print("Results summary")
        print(f"Results in {self.store} (study {self.project_name!r})")
        print(f"Showing {num_trials} best trials")
        print(self.objective)
        for record in self._ranked()[:num_trials]:
            print(f"\nTrial {record.number} summary")
            print("Hyperparameters:")
            for name, value in record.params.items():
                print(f"{name}: {value}")
            print(f"Score: {record.value}")
