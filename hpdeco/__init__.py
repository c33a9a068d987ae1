"""hpdeco: hyperparameter tuning for Keras that fits into the code you already have."""

from hpdeco.errors import (
    ConfigError,
    ConsecutiveFailures,
    HpdecoError,
    MissingDependency,
    ObjectiveError,
    SpaceError,
    StoreError,
    StudyNotFound,
    TrialPruned,
    UsageError,
)
from hpdeco.records import TrialRecord, TrialState
from hpdeco.refit import build
from hpdeco.search import Search, search
from hpdeco.space import hp
from hpdeco.study import SpaceChangedWarning, Study, load_study
from hpdeco.trial import Trial
from hpdeco.tunable import tunable

__version__ = "0.1.0.dev0"

__all__ = [
    "ConfigError",
    "ConsecutiveFailures",
    "HpdecoError",
    "MissingDependency",
    "ObjectiveError",
    "Search",
    "SpaceChangedWarning",
    "SpaceError",
    "StoreError",
    "Study",
    "StudyNotFound",
    "Trial",
    "TrialPruned",
    "TrialRecord",
    "TrialState",
    "UsageError",
    "__version__",
    "build",
    "hp",
    "load_study",
    "search",
    "tunable",
]
