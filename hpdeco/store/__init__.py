"""Where studies live. A path (or nothing: ``hpdeco.db`` in the working directory) is SQLite."""

from __future__ import annotations

import os

from hpdeco.errors import ConfigError
from hpdeco.store.sqlite import SQLiteStore, StudyRow

DEFAULT_PATH = "hpdeco.db"

Store = SQLiteStore


def open_store(store: str | os.PathLike[str] | Store | None, *, read_only: bool = False) -> Store:
    """The store named by ``store=``: an open store, a path, or None for the default file."""
    if isinstance(store, SQLiteStore):
        return store
    if store is None:
        store = DEFAULT_PATH
    if not isinstance(store, (str, os.PathLike)):
        raise ConfigError(
            f"store={store!r} must be a path such as 'runs/hpdeco.db' (or ':memory:')"
        )
    text = os.fspath(store)
    if "://" in text:
        raise ConfigError(
            f"store={text!r}: only SQLite paths are supported in this version; "
            "pass a file path such as 'hpdeco.db'"
        )
    return SQLiteStore(text, read_only=read_only)


__all__ = ["DEFAULT_PATH", "Store", "StudyRow", "open_store"]
