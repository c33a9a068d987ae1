"""Grid search: every combination of the parameters' values, in order, each once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpdeco.records import TrialState
from hpdeco.samplers.tree import ConfigTree, Node, finite_values, key
from hpdeco.space import Param

if TYPE_CHECKING:
    from hpdeco.study import Study
    from hpdeco.trial import Trial


class GridSampler:
    """Walks the grid depth first: each trial takes the first combination not tried yet.

    Conditional parameters cost nothing extra (a branch not taken is not enumerated), a
    resumed study carries on where it stopped, and the search ends when the grid is
    exhausted. ``hp.Float`` needs a ``step`` here.

    With several workers on one study, a new trial claims its whole path through the part
    of the grid the finished trials have mapped in the same locked transaction that starts
    it, seeing what the running trials hold, so workers take different combinations; when
    every combination left is held by a running trial, the new trial waits for one to end.
    """

    def __init__(self) -> None:
        self._tree = ConfigTree()

    def plan(self, study: Study, running: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
        """The values a new trial takes, as far as the tree knows the parameters; None when
        every combination left is held by a running trial. Runs under the study's lock."""
        held = self._held(study, list(running.values()))
        if held.root.done:
            return None
        path: dict[str, Any] = {}
        node: Node | None = held.root
        while node is not None and node.param is not None:
            param = study.space.get(node.param)
            values = finite_values(param) if param is not None else None
            choice = next((v for v in values or () if not node.child_done(v)), None)
            if choice is None:
                break
            path[node.param] = choice
            node = node.children.get(key(choice))
        return path

    def suggest(self, param: Param, trial: Trial) -> Any:
        """A parameter the plan did not cover (past the mapped part of the grid)."""
        size = param.grid_size()  # SpaceError for a Float without step
        study = trial.study

        def choose(running: dict[int, dict[str, Any]]) -> dict[str, Any]:
            others = [p for number, p in running.items() if number != trial.number]
            node = self._held(study, others).node(trial.params)
            # Walk the values lazily: a huge range has only a few taken values to skip.
            for index in range(size):
                value = param.grid_value(index)
                if node is None or not node.child_done(value):
                    return {param.name: value}
            return {param.name: param.grid_value(0)}

        claimed = study.store.claim_params(study.id, trial.id, len(trial.params), choose)
        return claimed[param.name]

    def _held(self, study: Study, running: list[dict[str, Any]]) -> ConfigTree:
        """The finished trials' tree with the running ones counted done where they stand
        (where they go next is not known yet). What finished or was declared meanwhile by
        other workers is read here, under the lock."""
        study.refresh()
        study.refresh_space()
        tree = ConfigTree()
        tree.update(study)
        for params in running:
            tree.insert(params)
        return tree

    def exhausted(self, study: Study) -> bool:
        self._tree.update(study)
        if self._tree.exhausted:
            return True
        # The code drew nothing in a trial of this run that ended: the grid is that one
        # point (trials of earlier runs may predate the code's hp.* calls).
        return any(
            not r.params and r.state is not TrialState.FAIL
            for r in study.finished[study.run_start :]
        )

    def __repr__(self) -> str:
        return "GridSampler()"
