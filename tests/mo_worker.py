"""A search of two objectives for the multi-objective tests; run as a script it is one of
several workers on a shared store: ``python tests/mo_worker.py STORE MAX_TRIALS``."""

from __future__ import annotations

import sys
from typing import Any

import hpdeco
from hpdeco import hp


def size_search(store: str, max_trials: int, **options: Any) -> hpdeco.Search:
    """Trials of ``x`` in [0, 1] and a size ``n`` in 1..10: ``score`` rises with both,
    reported over 3 steps, ``size`` set before the first step."""
    options.setdefault("verbose", 0)
    options.setdefault("seed", 3)
    options.setdefault("pruner", "none")
    with hpdeco.search(
        objective=["score", ("size", "min")],
        store=store,
        study=options.pop("study", "sizes"),
        max_trials=max_trials,
        **options,
    ) as search:
        for trial in search:
            x, n = hp.Float("x", 0.0, 1.0), hp.Int("n", 1, 10)
            trial.set_value("size", n)
            for step in (1, 2, 3):
                trial.report({"score": x * n / 10 * step / 3, "loss": 1 - x}, step)
                if trial.should_prune():
                    break
    return search


if __name__ == "__main__":
    size_search(sys.argv[1], int(sys.argv[2]), seed=None)
