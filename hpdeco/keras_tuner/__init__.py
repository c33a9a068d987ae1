"""KerasTuner's API on hpdeco's search: change ``import keras_tuner as kt`` to
``import hpdeco.keras_tuner as kt`` and the script runs on hpdeco, gaining its store (every
epoch of every trial), resume, pruning and the ``hpdeco`` command.

This module translates; it is not a second engine. Each tuner runs ``hpdeco.search(...)``
underneath, with the sampler and pruner below:

=========================  =========================================================
KerasTuner                 hpdeco
=========================  =========================================================
``RandomSearch``           ``sampler="random"``, ``pruner="none"``
``GridSearch``             ``sampler="grid"``, ``pruner="none"``; a numeric range
                           without a step takes KerasTuner's ten evenly spread values
``BayesianOptimization``   ``sampler="gp"`` (``num_initial_points`` random trials
                           first), ``pruner="none"``
``Hyperband``              ``sampler="random"``, ``HyperbandPruner(max_resource=
                           max_epochs, reduction_factor=factor)``; every trial is
                           fitted for ``max_epochs`` epochs and stopped early by the
                           pruner, ``max_trials`` = the configurations KerasTuner's
                           brackets would try in ``hyperband_iterations``
``directory``              the store is ``<directory>/hpdeco.db`` (default ``.``)
``project_name``           the study's name (default ``untitled_project``)
``overwrite=True``         the study (and its kept weights) is deleted first;
                           ``False`` (default) resumes it
``max_consecutive_failed   ``max_consecutive_failures``
_trials``
``executions_per_trial``   ``trial.runs(n)``: each run fits a fresh model, the
                           trial's value is the mean of the runs' values
``seed``                   ``seed`` (the sampler's)
``objective``              ``objective`` and ``direction`` (a list: several objectives)
=========================  =========================================================

Accepted and ignored: ``max_retries_per_trial`` (a FAIL trial is run again by the next run
of the script instead), ``logger``, ``tuner_id``, ``max_model_size``, ``alpha``, ``beta``.
Refused with a :class:`hpdeco.ConfigError`: ``optimizer``/``loss``/``metrics`` (compile in
``build``), ``distribution_strategy``. A list ``objective`` is several objectives: KerasTuner
sums them into one score; hpdeco keeps them apart and ranks the Pareto front first.
"""

from hpdeco.keras_tuner.parts import FrozenTrial, HyperModel, HyperParameters, Objective
from hpdeco.keras_tuner.tuner import Tuner
from hpdeco.keras_tuner.tuners import (
    BayesianOptimization,
    GridSearch,
    Hyperband,
    RandomSearch,
    bracket_trials,
)

__all__ = [
    "BayesianOptimization",
    "FrozenTrial",
    "GridSearch",
    "HyperModel",
    "HyperParameters",
    "Hyperband",
    "Objective",
    "RandomSearch",
    "Tuner",
    "bracket_trials",
]
