"""SIGTERM as an interrupt while a search runs.

A scheduler's stop (``docker stop``, Kubernetes, Slurm) sends SIGTERM; by default the
process dies at once and its trial is found lost later. While a search runs, SIGTERM raises
:class:`~hpdeco.trial.Terminated` (a ``KeyboardInterrupt``) in the main thread instead, so
the trial is recorded as interrupted and queued again, as with Ctrl-C, and the process then
exits with SIGTERM's status (143).
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from hpdeco.trial import Terminated

EXIT_STATUS = 128 + signal.SIGTERM


class SigtermAsInterrupt:
    """Installs the handler (only where SIGTERM has its default action, in the main
    thread) and puts the previous one back."""

    def __init__(self) -> None:
        self._previous: Any = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return  # the program handles SIGTERM itself

        def terminate(signum: int, frame: Any) -> None:
            raise Terminated("SIGTERM")

        self._previous = signal.signal(signal.SIGTERM, terminate)

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None
