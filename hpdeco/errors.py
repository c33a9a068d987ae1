"""The one error hierarchy of hpdeco: every error the library raises is an ``HpdecoError``."""

from __future__ import annotations


class HpdecoError(Exception):
    """Base class of every error hpdeco raises."""


class UsageError(HpdecoError):
    """A mistake in how the search is set up; it would fail every trial alike.

    ``with trial:`` does not swallow these: they propagate so the search stops at once
    instead of burning every trial on the same mistake.
    """


class SpaceError(UsageError, ValueError):
    """A hyperparameter specification breaks a rule (bad range, unknown sampling, conflict)."""


class ObjectiveError(UsageError, ValueError):
    """The objective cannot be read: unknown direction, metric missing from Keras' logs."""


class ConfigError(UsageError, ValueError):
    """A bad option to ``search()``, ``tune()``, a sampler or a pruner."""


class ConsecutiveFailures(HpdecoError, RuntimeError):
    """Several trials in a row failed with an error (``max_consecutive_failures``), so the
    search stopped instead of spending its budget on the same mistake. The last trial's
    exception is chained (``__cause__``). Failed trials do not use up the study: once the
    code is fixed, the same command runs them again."""


class StoreError(HpdecoError, RuntimeError):
    """The store cannot be used: not an hpdeco store, newer schema, unreadable file."""


class StudyNotFound(HpdecoError, LookupError):
    """No study of that name in the store."""


class MissingDependency(HpdecoError, ImportError):
    """An optional package (matplotlib, pandas, tensorboard) is needed; the message says
    which extra installs it. It is also an ``ImportError``.

    >>> hpdeco.plots.plot_history(study)   # without matplotlib
    MissingDependency: plots need matplotlib: pip install "hpdeco[plot]" ...
    """


class TrialPruned(HpdecoError):
    """Raise inside ``with trial:`` (or let a pruning callback end ``fit``) to prune a trial."""


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn, pointing at the first caller outside hpdeco so the user sees their own line."""
    import os
    import sys
    import warnings

    package = os.path.dirname(os.path.abspath(__file__))
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    warnings.warn(message, category, stacklevel=level)
