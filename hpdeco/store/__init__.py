"""Where studies live: a SQLite file by default, PostgreSQL for many machines."""

from __future__ import annotations

import os

from hpdeco.errors import ConfigError
from hpdeco.store.sql import Claim, SQLStore, StudyRow
from hpdeco.store.sqlite import SQLiteStore

DEFAULT_PATH = "hpdeco.db"

Store = SQLStore


def open_store(store: str | os.PathLike[str] | Store | None, *, read_only: bool = False) -> Store:
    """The store named by ``store=``: an open store, a path (None: ``hpdeco.db``), or a
    ``postgresql://`` URL."""
    if isinstance(store, SQLStore):
        return store
    if store is None:
        store = DEFAULT_PATH
    if not isinstance(store, (str, os.PathLike)):
        raise ConfigError(
            f"store={store!r} must be a path such as 'runs/hpdeco.db', ':memory:', or a "
            "postgresql:// URL"
        )
    text = os.fspath(store)
    if text.startswith(("postgresql://", "postgres://")):
        from hpdeco.store.postgres import PostgresStore

        return PostgresStore(text, read_only=read_only)
    if "://" in text:
        raise ConfigError(
            f"store={text!r}: unknown kind of URL; pass a file path such as 'hpdeco.db' or a "
            "postgresql:// URL"
        )
    return SQLiteStore(text, read_only=read_only)


__all__ = ["DEFAULT_PATH", "Claim", "SQLiteStore", "Store", "StudyRow", "open_store"]
