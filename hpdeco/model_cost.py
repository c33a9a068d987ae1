"""What a trained Keras model costs, as values a search can optimise or constrain by name:

- ``params``: ``model.count_params()``, set when training begins (so pruning already knows
  it);
- ``model_bytes``: the size of the model saved as a ``.keras`` file, once training ends;
- ``latency_ms``: inference time per sample, once training ends: ``predict_on_batch`` on one
  batch (the first ``LATENCY_BATCH`` validation samples when ``tune`` has them, else random
  inputs of the model's input shape), called ``WARMUP`` times unmeasured, then timed
  ``REPEATS`` times; the median time divided by the batch size.

A value is measured only when the study names it as an objective or constrains it, and not
for a trial that was pruned or failed.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from typing import Any

BUILT_IN = ("params", "model_bytes", "latency_ms")
LATENCY_BATCH = 32
WARMUP = 2
REPEATS = 10


def count_params(model: Any) -> float:
    return float(model.count_params())


def saved_bytes(model: Any) -> float:
    with tempfile.TemporaryDirectory(prefix="hpdeco-size-") as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        return float(os.path.getsize(path))


def latency_ms(model: Any, batch: Any = None) -> float:
    """Median milliseconds per sample of ``predict_on_batch`` (see the module's rule)."""
    if batch is None:
        batch = random_batch(model)
    size = len(batch[0]) if isinstance(batch, (list, tuple)) else len(batch)
    for _ in range(WARMUP):
        model.predict_on_batch(batch)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        model.predict_on_batch(batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / size * 1000.0


def random_batch(model: Any) -> Any:
    """``LATENCY_BATCH`` standard-normal inputs of each of the model's input shapes."""
    import numpy as np

    rng = np.random.default_rng(0)
    batches = []
    for tensor in model.inputs:
        shape = [LATENCY_BATCH, *[d or 1 for d in tuple(tensor.shape)[1:]]]
        batches.append(rng.standard_normal(shape).astype("float32"))
    return batches[0] if len(batches) == 1 else batches
