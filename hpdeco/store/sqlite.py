"""The default store: one SQLite file, written as events happen, one short transaction each.

WAL mode lets readers (the ``hpdeco`` command, other workers) read while a search writes;
``synchronous=NORMAL`` keeps every committed transaction through a crash of the process;
``BEGIN IMMEDIATE`` takes the write lock up front, so concurrent workers queue (busy
timeout, then retries with backoff) instead of failing half-way. SQLite is for one
machine's local disk: its locks do not hold on network file systems.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from hpdeco.errors import ConfigError, StoreError, warn
from hpdeco.store.schema import APPLICATION_ID, SCHEMA_VERSION, migrations, statements, tables_of
from hpdeco.store.sql import SQLStore, StudyRow
from hpdeco.store.transactions import RETRIES

BUSY_TIMEOUT_S = 30.0
# The tables every hpdeco store has; a file marked as a store without them is damaged.


def check_path(path: str | os.PathLike[str]) -> str:
    """The file path a SQLite store is opened at: ``~`` expanded; an empty path and a
    ``file:`` URI are refused (hpdeco opens the file itself, and a URI taken as a path
    would leave a folder named ``file:`` behind)."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text.strip():
        raise ConfigError(
            f"store={text!r} is empty; pass a file path such as 'hpdeco.db' (the default "
            "when store= is left out), ':memory:', or a postgresql:// URL"
        )
    if text.lower().startswith("file:"):
        raise ConfigError(
            f"store={text!r} is a SQLite URI, which hpdeco does not take; pass the plain "
            "file path (e.g. 'runs/hpdeco.db'); read-only opening is "
            "hpdeco.load_study(name, store=path) or the hpdeco command"
        )
    if text == ":memory:":
        return text
    return os.path.expanduser(text)


class SQLiteStore(SQLStore):
    """Studies, trials, parameters and per-step metrics in one SQLite file.

    >>> store = SQLiteStore("runs/hpdeco.db")      # created with its folders
    >>> store = SQLiteStore(":memory:")            # for tests and throwaway studies
    """

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        super().__init__()
        self.path = check_path(path)
        self.read_only = read_only
        #: True when the store could only be read as an unchanging snapshot (``immutable``).
        self.snapshot = False
        if self.path != ":memory:":
            file = Path(self.path)
            if read_only and not file.exists():
                raise StoreError(
                    f"store={self.path!r} does not exist; run a search first or pass the path "
                    "of an existing store"
                )
            if read_only and not file.is_file():
                raise StoreError(
                    f"store={self.path!r} is not a file (a folder?); pass the path of an "
                    "hpdeco store such as 'runs/hpdeco.db'"
                )
            if not read_only:
                try:
                    file.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(
                        f"store={self.path!r}: cannot create its folder ({exc})"
                    ) from None
        self._conn = self._connect("mode=ro" if read_only else None)
        try:
            self._open()
        except StoreError as exc:
            self._conn.close()
            if not (read_only and self._cannot_open(exc)):
                raise
            # A WAL store needs its -shm file beside it; on a read-only mount or folder it
            # cannot be created, so read the file as an unchanging snapshot instead.
            self._conn = self._connect("immutable=1")
            self.snapshot = True
            try:
                self._open()
            except BaseException:
                self._conn.close()
                raise
            pending = os.path.exists(self.path + "-wal")
            warn(
                f"store={self.path!r} is in a folder that cannot be written (a read-only "
                "mount?), so it is read as a snapshot: "
                + ("the writes still in its -wal file are not seen, nor " if pending else "")
                + "changes made while it is open; results may be stale"
            )
        except BaseException:
            self._conn.close()
            raise

    def _connect(self, mode: str | None) -> sqlite3.Connection:
        """A connection: to the plain path, or read-only through a ``file:`` URI with
        ``mode`` (``mode=ro``, ``immutable=1``)."""
        uri = mode is not None and self.path != ":memory:"
        target = f"file:{quote(os.path.abspath(self.path))}?{mode}" if uri else self.path
        try:
            return sqlite3.connect(target, timeout=BUSY_TIMEOUT_S, isolation_level=None, uri=uri)
        except sqlite3.Error as exc:
            raise StoreError(f"store={self.path!r} cannot be opened: {exc}") from None

    @staticmethod
    def _cannot_open(error: StoreError) -> bool:
        return "unable to open database file" in str(error)

    def locator(self) -> str:
        return os.path.abspath(self.path) if self.path != ":memory:" else self.path

    def reopen(self) -> SQLiteStore:
        return SQLiteStore(self.path, read_only=self.read_only)

    def _begin(self) -> None:
        self._run("BEGIN IMMEDIATE")

    def _in_transaction(self) -> bool:
        # SQLite rolls a transaction back by itself on some errors (a full disk, an I/O
        # error); a ROLLBACK then fails with "no transaction is active".
        return self._conn.in_transaction

    def _transient(self, error: Exception) -> bool:
        text = str(error).lower()
        return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)

    def _is_db_error(self, error: Exception) -> bool:
        return isinstance(error, sqlite3.Error)

    def _explain(self, error: Exception) -> str:
        code = getattr(error, "sqlite_errorcode", None)
        code = None if code is None else code & 0xFF  # the primary code of an extended one
        # sqlite3 names these codes from Python 3.11 on; their values are SQLite's own.
        full, readonly, ioerr = 13, 8, 10
        text = str(error).lower()
        if code == full or "disk is full" in text:
            return (
                f"; the disk holding {self.path!r} is full: free disk space, then run again "
                "(finished trials are kept)"
            )
        if code == readonly or "readonly" in text:
            return "; the file or its folder is read-only: check their permissions and mount"
        if self._transient(error):
            return (
                "; another process kept the store locked for too long: look for a stuck "
                "process using it"
            )
        if code == ioerr or "i/o error" in text:
            return "; the disk refused the write: check the disk and the file system"
        return ""

    def _open(self) -> None:
        app_id, version, tables = self._header()
        if app_id == 0 and not tables:
            if self.read_only:
                raise StoreError(f"store={self.path!r} is empty; run a search to fill it")
            self._set_journal()
            self._transaction(self._create_schema)
        elif app_id != APPLICATION_ID:
            raise StoreError(
                f"store={self.path!r} is a SQLite database but not an hpdeco store "
                f"(it holds tables {', '.join(sorted(tables)) or 'none'}); "
                "pass another path so nothing in it is touched"
            )
        elif version > SCHEMA_VERSION:
            raise StoreError(
                f"store={self.path!r} was written by a newer hpdeco (schema {version}, this "
                f"hpdeco reads up to {SCHEMA_VERSION}); upgrade hpdeco to open it"
            )
        elif missing := sorted(set(tables_of(version)) - set(tables)):
            raise StoreError(
                f"store={self.path!r} is marked as an hpdeco store but lacks its tables "
                f"({', '.join(missing)}): it was damaged or emptied by another program; "
                "restore it from a copy, or pass another path to start a new store"
            )
        self._run("PRAGMA foreign_keys = ON")
        if not self.read_only:
            self._set_journal()
            if version < SCHEMA_VERSION and app_id == APPLICATION_ID:
                self._transaction(self._migrate)
                version = SCHEMA_VERSION
        self.schema = version if app_id == APPLICATION_ID else SCHEMA_VERSION
        self._run("PRAGMA synchronous = NORMAL")

    def _migrate(self) -> None:
        # Read again under the write lock: another process may have migrated meanwhile.
        version = self._run("PRAGMA user_version").fetchone()[0]
        for statement in migrations(version):
            self._run(statement)
        self._run(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _header(self) -> tuple[int, int, list[str]]:
        """The file's application id, schema version and tables, read in one transaction:
        another process creating the schema commits all three at once, and reads outside a
        transaction could see its tables but not yet its id ("not an hpdeco store")."""
        try:
            self._run("BEGIN")
            try:
                app_id = self._run("PRAGMA application_id").fetchone()[0]
                version = self._run("PRAGMA user_version").fetchone()[0]
                rows = self._run("SELECT name FROM sqlite_master WHERE type = 'table'")
                tables = [r[0] for r in rows.fetchall()]
            finally:
                self._run("ROLLBACK")  # nothing was written
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"store={self.path!r} is not a SQLite database ({exc}); "
                "pass the path of an hpdeco store, or a new path to create one"
            ) from None
        return app_id, version, tables

    def _set_journal(self) -> None:
        """WAL mode, which persists in the file. Switching needs a moment with no other
        connection busy, so workers opening a new store together retry briefly."""
        if self.path == ":memory:":
            return
        delay = 0.01
        for attempt in range(RETRIES):
            try:
                if self._run("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self._run("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if not self._transient(exc) or attempt == RETRIES - 1:
                    raise StoreError(f"store={self.path!r} cannot be written: {exc}") from None
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)

    def _create_schema(self) -> None:
        # Another process may have created it between our check and this transaction.
        if self._run("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
            return
        # AUTOINCREMENT: a deleted study's id (which names its weights folder) is never reused.
        for statement in statements("INTEGER PRIMARY KEY AUTOINCREMENT"):
            self._run(statement)
        self._run(f"PRAGMA application_id = {APPLICATION_ID}")
        self._run(f"PRAGMA user_version = {SCHEMA_VERSION}")


__all__ = ["SQLiteStore", "StudyRow"]
