"""Where studies live: a SQLite file by default, PostgreSQL for many machines."""

from __future__ import annotations

import os
import re

from hpdeco.errors import ConfigError
from hpdeco.store.postgres import is_postgres, redact
from hpdeco.store.sql import Claim, SQLStore, StudyRow
from hpdeco.store.sqlite import SQLiteStore

DEFAULT_PATH = "hpdeco.db"

Store = SQLStore

# "user:password@host..." or "postgresql:/..." (a scheme missing its "//"): a server address
# written wrong, never a file name (which would hold the password).
_ADDRESS = re.compile(r"^(?!file:)[^/\s:@]*:[^\s@]*@|^postgres(?:ql)?:(?!//)", re.IGNORECASE)


def _hide_password(text: str) -> str:
    head, at, tail = text.rpartition("@")
    return f"{head.split(':', 1)[0]}:***@{tail}" if at else text


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
    if is_postgres(text):
        from hpdeco.store.postgres import PostgresStore

        return PostgresStore(text, read_only=read_only)
    if "://" in text:
        raise ConfigError(
            f"store={redact(text)!r}: unknown kind of URL; pass a file path such as "
            "'hpdeco.db' or a postgresql:// URL"
        )
    if _ADDRESS.match(text):
        raise ConfigError(
            f"store={_hide_password(text)!r} looks like a database address without its "
            "scheme; write it postgresql://USER:PASSWORD@HOST/DATABASE, or pass a file path"
        )
    return SQLiteStore(text, read_only=read_only)


__all__ = [
    "DEFAULT_PATH",
    "Claim",
    "SQLiteStore",
    "Store",
    "StudyRow",
    "is_postgres",
    "open_store",
    "redact",
]
