"""The tree of configurations already tried, shared by the random and grid samplers.

A trial draws its parameters one after another, and the code that draws them is plain
Python, so the same values so far lead to the same next parameter. The finished trials
therefore form a tree: a node is the values drawn so far, its children the values of the
next parameter. A node is *done* when a trial ended there (failures that say nothing about
the configuration, such as an interrupt, failures of earlier runs, and trials that drew
nothing, excepted), or when every value of its parameter leads to a done child. Samplers
steer away from done children, so no configuration is repeated, and the search is
exhausted when the root is done. This works for conditional parameters and names built at
run time alike.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hpdeco.space import Param

if TYPE_CHECKING:
    from hpdeco.study import Study

# Parameters with more values than this are treated as never exhausted: enumerating them
# would cost more than a repeat, which is then vanishingly unlikely anyway.
MAX_ENUMERATED = 10_000


@functools.lru_cache(maxsize=1024)
def finite_values(param: Param) -> tuple[Any, ...] | None:
    """All values of ``param`` when there are few enough to enumerate, else None."""
    if param.kind == "float" and param.step is None:  # type: ignore[attr-defined]
        return None
    if param.kind in ("int", "float"):
        count = param._count()  # type: ignore[attr-defined]
        if count is None or count > MAX_ENUMERATED:  # None: a log Int without step
            return None
    return param.grid()


def key(value: Any) -> str:
    """A key that tells True from 1 and 1 from 1.0, as the store does."""
    return json.dumps(value)


class Node:
    __slots__ = ("children", "done", "leaf", "param")

    def __init__(self) -> None:
        self.param: str | None = None
        self.children: dict[str, Node] = {}
        self.leaf = False
        self.done = False

    def child_done(self, value: Any) -> bool:
        child = self.children.get(key(value))
        return child is not None and child.done


class ConfigTree:
    """Built from a study's finished trials, kept up to date incrementally."""

    def __init__(self) -> None:
        self.root = Node()
        self._seen = 0
        self._space: dict[str, Param] = {}

    def update(self, study: Study) -> None:
        finished = study.finished
        if study.space != self._space:  # a changed space can reopen done nodes: rebuild
            self.root, self._seen, self._space = Node(), 0, dict(study.space)
        rerun = study.rerun
        for record in finished[self._seen :]:
            # A trial that drew nothing says nothing about any configuration (it failed
            # before its first hp.*, or ran before the code had any), and a failure of an
            # earlier run is worth trying again once the code is fixed.
            if record.params and not record.retryable and record.number not in rerun:
                self.insert(record.params)
        self._seen = len(finished)

    def insert(self, params: Mapping[str, Any]) -> None:
        """Mark the configuration ``params`` (in drawing order) as tried."""
        node = self.root
        path = [node]
        for name, value in params.items():
            if node.param is None:
                node.param = name
            node = node.children.setdefault(key(value), Node())
            path.append(node)
        node.leaf = True
        for node in reversed(path):
            node.done = node.leaf or self._all_children_done(node)

    def _all_children_done(self, node: Node) -> bool:
        param = self._space.get(node.param) if node.param is not None else None
        values = finite_values(param) if param is not None else None
        return values is not None and all(node.child_done(v) for v in values)

    def node(self, prefix: Mapping[str, Any]) -> Node | None:
        """The node reached by the values drawn so far, or None if no trial went there."""
        node = self.root
        for value in prefix.values():
            child = node.children.get(key(value))
            if child is None:
                return None
            node = child
        return node

    def open_values(self, node: Node | None, param: Param) -> list[Any] | None:
        """Values of ``param`` not yet exhausted below ``node`` (None: too many to list)."""
        values = finite_values(param)
        if values is None:
            return None
        if node is None or node.param not in (None, param.name):
            return list(values)
        return [v for v in values if not node.child_done(v)]

    @property
    def exhausted(self) -> bool:
        """Every configuration tried. A search that draws no parameter at all is never
        exhausted: repeating it (for new seeds, say) is the point."""
        return self.root.done and self.root.param is not None
