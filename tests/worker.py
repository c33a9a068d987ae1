"""A worker process for the concurrency tests: runs one search loop on a shared study.

python tests/worker.py STORE STUDY MAX_TRIALS SAMPLER STEPS SLEEP [RETRIES]
"""

from __future__ import annotations

import sys
import time

import hpdeco
from hpdeco import hp


def main() -> None:
    store, study, max_trials, sampler, steps, sleep = sys.argv[1:7]
    retries = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    with hpdeco.search(
        objective="loss",
        max_trials=int(max_trials),
        store=store,
        study=study,
        sampler=sampler,
        pruner="none",
        seed=None,
        retries=retries,
        verbose=0,
    ) as search:
        for trial in search:
            value = float(hp.Choice("a", [1, 2, 3, 4])) + hp.Choice("b", [0.0, 0.5, 1.0])
            if sampler != "grid":  # an endless space, so only max_trials ends the search
                value += hp.Float("c", 0.0, 1.0)
            for step in range(1, int(steps) + 1):
                time.sleep(float(sleep))
                trial.report(value / step, step)
            print(trial.number, flush=True)


if __name__ == "__main__":
    main()
