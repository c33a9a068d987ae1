"""A background thread that keeps the running trial's heartbeat fresh.

Reported steps refresh it too, but one epoch can outlast the grace period; the thread
proves the worker alive between them, so only a worker that is really gone is recovered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from hpdeco.store.sql import HEARTBEAT_S, SQLStore


class Heartbeat:
    """Refreshes ``trial_id``'s heartbeat every ``interval`` seconds, on a connection of its
    own opened by ``connect`` inside the thread (SQLite connections stay in their thread)."""

    def __init__(self, connect: Callable[[], SQLStore], interval: float = HEARTBEAT_S) -> None:
        self.trial_id: int | None = None
        self._connect = connect
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="hpdeco-heartbeat", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, store: SQLStore) -> Heartbeat | None:
        """A heartbeat for ``store``, or None for one no other process can see (in memory)
        or one opened read-only."""
        if store.read_only or store.path == ":memory:":
            return None
        return cls(store.reopen)

    def _beat(self) -> None:
        store = None
        try:
            while not self._stopped.wait(self._interval):
                trial_id = self.trial_id
                if trial_id is None:
                    continue
                try:
                    store = store or self._connect()
                    store.heartbeat([trial_id])
                except Exception:  # a missed beat is retried at the next interval
                    continue
        finally:
            if store is not None:
                store.close()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=self._interval + 5)
