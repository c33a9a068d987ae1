"""Grid search: every combination of the parameters' values, in order, each once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpdeco.samplers.tree import ConfigTree
from hpdeco.space import Param

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial


class GridSampler:
    """Walks the grid depth first: each trial takes the first combination not tried yet.

    Conditional parameters cost nothing extra (a branch not taken is not enumerated), a
    resumed study carries on where it stopped, and the search ends when the grid is
    exhausted. ``hp.Float`` needs a ``step`` here.

    With several workers on one study, each value is chosen in one locked transaction that
    sees what the running trials hold, so workers take different combinations; when every
    combination left is held by a running trial, a new trial waits for one to finish.
    """

    def __init__(self) -> None:
        self._tree = ConfigTree()

    def suggest(self, param: Param, trial: Trial) -> Any:
        values = param.grid()  # SpaceError for a Float without step
        study = trial.study

        def choose(running: dict[int, dict[str, Any]]) -> Any:
            # Runs under the study's lock: what finished meanwhile is read here too, so no
            # combination can slip between a worker's finishing and this choice.
            study.refresh()
            self._tree.update(study)
            node = self._tree.node(trial.params)
            open_values = [v for v in values if node is None or not node.child_done(v)]
            # Prefer a value no running trial is exploring; a running trial counts as done
            # where it stands, since where it goes next is not known yet.
            others = [p for number, p in running.items() if number != trial.number]
            held = self._with_running(study, others).node(trial.params)
            for value in open_values:
                if held is None or not held.child_done(value):
                    return value
            return (open_values or values)[0]

        return study.store.claim_param(study.id, trial.id, len(trial.params), param.name, choose)

    def _with_running(self, study: Study, running: list[dict[str, Any]]) -> ConfigTree:
        tree = ConfigTree()
        tree.update(study)
        for params in running:
            tree.insert(params)
        return tree

    def exhausted(self, study: Study) -> bool:
        self._tree.update(study)
        return self._tree.exhausted

    def all_taken(self, study: Study) -> bool:
        """Every combination left is held by a running trial (another worker's)."""
        running = study.store.running_params(study.id)
        return bool(running) and self._with_running(study, list(running.values())).exhausted

    def __repr__(self) -> str:
        return "GridSampler()"
