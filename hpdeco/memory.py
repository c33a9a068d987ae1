"""Keeping memory flat across Keras trials in one process.

Keras keeps every model built in its global state until ``clear_session``, and a
collection after each trial then walks TensorFlow's ~400k long-lived objects. This module
clears the session and collects after each Keras trial, and freezes what survived the
first one out of the collector's way (0.4 s -> 0.01 s a trial). It never imports keras:
it acts only when the trial's code already did.
"""

from __future__ import annotations

import gc
import sys


class KerasMemory:
    """Call :meth:`after_trial` after each Keras trial and :meth:`release` at the end."""

    def __init__(self) -> None:
        self._frozen = False  # this object called gc.freeze(), and unfreezes in release()

    def after_trial(self) -> None:
        keras = sys.modules.get("keras")
        if keras is not None:
            try:
                keras.backend.clear_session(free_memory=False)  # one collection, below
            except TypeError:  # a Keras without free_memory=
                keras.backend.clear_session()
        gc.collect()
        if not self._frozen and gc.get_freeze_count() == 0:
            gc.freeze()
            self._frozen = True

    def release(self) -> None:
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
