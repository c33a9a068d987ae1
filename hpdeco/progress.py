"""What a search shows while it runs: a progress bar, a line per trial, a closing line.

``verbose=0`` shows nothing; 1 the bar, a line per failed trial and the closing line; 2 a
line per trial too. Lines go to the ``hpdeco`` logger when logging is configured, else to
stderr above the bar.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from hpdeco.records import TrialState

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial

logger = logging.getLogger("hpdeco")


class Progress:
    """The bar and the lines of one search over ``study``."""

    def __init__(self, study: Study, *, verbose: int, total: int | None) -> None:
        self.study = study
        self.verbose = verbose
        self.total = total
        self._bar: Any = None

    def open(self, done: int) -> None:
        """Show the bar, starting at ``done`` trials of ``total``."""
        if not self.verbose:
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=self.total,
            initial=done,
            desc=f"hpdeco {self.study.name}",
            unit="trial",
            dynamic_ncols=True,
            file=sys.stderr,
        )
        self._bar.set_postfix_str(self._postfix(None), refresh=False)

    def started(self, trial: Trial) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(trial.number), refresh=False)

    def ended(self, trial: Trial) -> None:
        """Advance the bar; a line for the trial at verbose 2 (at 1 for a failure)."""
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(None), refresh=False)
            self._bar.update(1)
        if self.verbose >= 2 or (self.verbose and trial.state is TrialState.FAIL):
            level = logging.WARNING if trial.state is TrialState.FAIL else logging.INFO
            self._line(self._describe(trial), level)

    def say(self, text: str) -> None:
        """A closing line: the bar ends first, so the line stays below it."""
        if not self.verbose:
            return
        self.close()
        self._line(text, logging.INFO)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _line(self, text: str, level: int) -> None:
        if logger.hasHandlers():
            logger.log(level, "%s", text)
        elif self._bar is not None:
            from tqdm.auto import tqdm

            tqdm.write(f"hpdeco: {text}", file=sys.stderr)
        else:
            print(f"hpdeco: {text}", file=sys.stderr)

    def _postfix(self, running: int | None) -> str:
        if len(self.study.objectives) > 1:
            text = f"front={len(self.study.best_trials)}"
        else:
            best = self.study.best
            text = "best=-" if best is None else f"best={best.value:.4g} (#{best.number})"
        ended = [r.state for r in self.study.finished]
        text += f" pruned={ended.count(TrialState.PRUNED)} failed={ended.count(TrialState.FAIL)}"
        return text if running is None else f"{text} trial=#{running}"

    def _describe(self, trial: Trial) -> str:
        """State, value and step, reason, duration, parameters."""
        record = self.study.finished_record(trial.number)
        value = record.value if record is not None else trial.value
        shown = "" if value is None else f" {self.study.objective}={value:.6g}"
        several = len(self.study.objectives) > 1
        if several and record is not None:
            shown = "".join(
                f" {o.name}={v:.6g}"
                for o, v in zip(self.study.objectives, record.values, strict=False)
                if v is not None
            )
        if record is not None and value is not None:
            step = record.best_step if record.best_step is not None else record.last_step
            shown += "" if step is None else f" at step {step}"
        if record is not None and record.reason:
            shown += f" ({record.reason})"
        if record is not None and record.duration is not None:
            shown += f", {record.duration:.1f}s"
        if record is not None and not record.feasible:
            shown += ", infeasible"
        if several:
            if any(r.number == trial.number for r in self.study.best_trials):
                shown += ", on the Pareto front"
        elif (best := self.study.best) is not None and best.number == trial.number:
            shown += ", new best"
        return f"trial {trial.number} {trial.state.value}{shown} {dict(trial.params)}"


def stop_line(
    study: Study,
    *,
    because: str | None,
    ran: int,
    counted: int,
    max_trials: int | None,
    timeout: float | None,
) -> str:
    """Why the search stopped, and what to change to go on."""
    name = study.name
    if because == "max_trials":
        if ran == 0:
            return (
                f"nothing to do: study {name!r} already has {counted} trials of "
                f"max_trials={max_trials}; raise max_trials to run more"
            )
        return (
            f"stopped after {ran} trials this run: study {name!r} has {counted} of "
            f"max_trials={max_trials}; raise max_trials to run more"
        )
    if because == "timeout":
        return (
            f"stopped after {ran} trials this run: timeout={timeout:g}s reached; run again "
            "to go on (the study resumes) or raise timeout"
        )
    return (
        f"stopped after {ran} trials this run: {because} in study {name!r} (each "
        "configuration was tried); widen the space or start a new study= to go on"
    )
