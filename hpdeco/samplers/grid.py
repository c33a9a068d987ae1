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
    """

    def __init__(self) -> None:
        self._tree = ConfigTree()

    def suggest(self, param: Param, trial: Trial) -> Any:
        values = param.grid()  # SpaceError for a Float without step
        self._tree.update(trial.study)
        node = self._tree.node(trial.params)
        if node is None:
            return values[0]
        for value in values:
            if not node.child_done(value):
                return value
        return values[0]

    def exhausted(self, study: Study) -> bool:
        self._tree.update(study)
        return self._tree.exhausted

    def __repr__(self) -> str:
        return "GridSampler()"
