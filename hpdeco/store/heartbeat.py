"""A background thread that keeps the running trial's heartbeat fresh.

Reported steps refresh it too, but one epoch can outlast the grace period; the thread
proves the worker alive between them, so only a worker that is really gone is recovered.
Its connection is its own; one that drops is reopened (the store retries a beat on a fresh
connection, and a beat that still fails starts the next one from a new store), so a worker
never looks dead because one connection died.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from hpdeco.store import sql
from hpdeco.store.sql import SQLStore


class Heartbeat:
    """Refreshes ``trial_id``'s heartbeat every ``interval`` seconds (default
    ``sql.HEARTBEAT_S``), on a connection of its own opened by ``connect`` inside the thread
    (SQLite connections stay in their thread)."""

    def __init__(self, connect: Callable[[], SQLStore], interval: float | None = None) -> None:
        self.trial_id: int | None = None
        self._connect = connect
        self._interval = sql.HEARTBEAT_S if interval is None else interval
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
        store: SQLStore | None = None
        try:
            while not self._stopped.wait(self._interval):
                trial_id = self.trial_id
                if trial_id is None:
                    continue
                try:
                    store = store or self._connect()
                    store.heartbeat([trial_id])
                except Exception:
                    # A missed beat is retried at the next interval, on a new connection:
                    # this one may be the reason it failed.
                    _close(store)
                    store = None
        finally:
            _close(store)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=self._interval + 5)


def _close(store: SQLStore | None) -> None:
    if store is not None:
        with contextlib.suppress(Exception):  # a dead connection may fail to close; it is gone
            store.close()
