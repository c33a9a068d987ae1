"""Stopping a search whose trials keep failing (``max_consecutive_failures``).

A set-up mistake (a typo in ``fit``'s arguments, missing data) fails every trial alike;
after a few in a row the search stops with the error rather than spend its budget on it.
A diverged trial (NaN loss) is a result of its configuration, not a mistake: it neither
counts nor breaks a streak.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpdeco.errors import ConsecutiveFailures
from hpdeco.records import TrialState

if TYPE_CHECKING:
    from hpdeco.trial import Trial, TrialRecord


class FailureStreak:
    """Counts trials that failed in a row; ``limit`` None never stops."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._failed: list[Trial] = []

    def ended(self, trial: Trial, record: TrialRecord | None) -> None:
        """Take the end of ``trial`` (``record``: its stored row); raise
        :class:`ConsecutiveFailures` when the streak reaches the limit."""
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
            self._failed.clear()
            return
        if self.limit is None or trial.state is not TrialState.FAIL:
            return
        if record is None or record.diverged:
            return
        self._failed.append(trial)
        if len(self._failed) < self.limit:
            return
        numbers = ", ".join(str(t.number) for t in self._failed)
        # In a child process (isolate=True) the exception is gone: show its traceback.
        shown = "" if trial.error is not None else f"\n{record.traceback or ''}"
        raise ConsecutiveFailures(
            f"{len(self._failed)} trials in a row failed (trials {numbers}), the last with: "
            f"{record.reason}; fix the error and run the same command again: failed trials "
            "do not use up the study (max_consecutive_failures= sets how many are allowed, "
            "None never stops)" + shown.rstrip()
        ) from trial.error
