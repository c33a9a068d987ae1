"""Short write transactions over one connection, shared by every backend.

Every write is one short transaction; transient lock errors are retried with backoff here
and never reach the user. A backend whose connection can drop (PostgreSQL) reopens it,
with bounded retries, and runs the transaction again. That is safe because a transaction
that lost its connection before COMMIT was rolled back by the server, and one that lost it
during COMMIT is not run again until the server says it did not commit (``_committed``): a
new trial or an enqueued one is never inserted twice, a finished trial never "already
ended".
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hpdeco.errors import HpdecoError, StoreError, StudyNotFound

T = TypeVar("T")


class _Closed:
    """Stands in for the connection of a closed store, so that any use of it says so."""

    closed = True
    in_transaction = False

    def __init__(self, path: str) -> None:
        self.path = path

    def _refuse(self, *args: object, **kwargs: object) -> Any:
        raise StoreError(
            f"store={self.path!r} was closed; open it again (hpdeco.load_study(...) or a new "
            "search) to read or write it"
        )

    execute = executemany = cursor = _refuse

    def close(self) -> None:
        pass


RETRIES = 8  # attempts at a write transaction that meets a transient lock error
RECONNECTS = 3  # fresh connections tried for one transaction or read that lost its own
RECONNECT_S = 30.0  # how long one reconnection keeps trying before the store gives up


class Transactions:
    """One connection to a store, and its short write transactions: retried on transient
    lock errors, run again on a fresh connection when the connection dropped (as far as
    that is safe), and turned into one clear error otherwise. Backends fill in the hooks."""

    path: str
    read_only: bool
    _conn: Any

    def __init__(self) -> None:
        self._writing = False  # a write transaction is open on this connection
        self._names: dict[int, str] = {}  # study names by id, for "study X was deleted"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path}>"

    # -- what a backend provides --------------------------------------------------------------

    def _run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, params)

    def _run_many(self, sql: str, rows: list[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        self._run("COMMIT")

    def _rollback(self) -> None:
        self._run("ROLLBACK")

    def _in_transaction(self) -> bool:
        """Whether a transaction is open on the connection (one that failed may already
        have been rolled back by the database, and ROLLBACK would then fail)."""
        raise NotImplementedError

    def _transient(self, error: Exception) -> bool:
        """Whether ``error`` is a lock or serialisation conflict worth retrying."""
        raise NotImplementedError

    def _explain(self, error: Exception) -> str:
        """What ``error`` means for the user and what to do, as "; ..." (or "")."""
        return ""

    def _lost(self, error: Exception) -> bool:
        """Whether ``error`` means the connection itself is gone (and can be reopened)."""
        return False

    def _new_connection(self) -> None:
        """Open ``_conn`` afresh (backends whose ``_lost`` can be true)."""
        raise NotImplementedError

    def _close_connection(self) -> None:
        self._conn.close()

    def _committed(self) -> bool | None:
        """After a COMMIT lost with the connection, on a fresh one: whether it committed
        (None: unknown)."""
        return None

    def _scrub(self, text: str) -> str:
        """A driver's error text without the locator's secrets."""
        return text

    def _lock_study(self, study_id: int) -> None:
        """Serialise writers of one study until the transaction ends."""

    def locator(self) -> str:
        """What ``open_store`` takes to open this store again, in any process."""
        raise NotImplementedError

    def reopen(self) -> Transactions:
        """A second, independent connection to the same store (for another thread)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection; using the store afterwards is a clear StoreError."""
        if not isinstance(self._conn, _Closed):
            self._close_connection()
            self._conn = _Closed(self.path)

    def __enter__(self) -> Transactions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------------

    def _transaction(
        self,
        body: Callable[[], T],
        *,
        study_id: int | None = None,
        trial_id: int | None = None,
    ) -> T:
        """Run ``body`` in one write transaction: retried on lock conflicts, and on a fresh
        connection when the connection was lost (see the module's docstring). A failure
        that remains is one StoreError naming its cause, or StudyNotFound when ``study_id``
        (or ``trial_id``'s study) was deleted meanwhile."""
        if self.read_only:
            raise StoreError(f"store={self.path!r} was opened read-only")
        delay = 0.01
        attempt = reconnects = 0
        while True:
            phase = "begin"
            self._writing = True
            try:
                self._begin()
                phase = "body"
                result = body()
                phase = "commit"
                self._commit()
                self._writing = False
                return result
            except BaseException as exc:
                self._writing = False
                self._abandon()
                if not isinstance(exc, Exception) or isinstance(exc, HpdecoError):
                    raise  # an interrupt, StudyNotFound...: not the store's failure
                error = exc
            if self._lost(error):
                if reconnects == RECONNECTS:
                    raise self._lost_again(error) from None
                reconnects += 1
                self._reconnect(error)
                if phase == "commit":
                    committed = self._committed()
                    if committed:
                        return result
                    if committed is None:
                        raise StoreError(
                            f"store={self.path!r}: the connection was lost while a write was "
                            f"committing ({self._scrub(str(error).strip())}) and the server "
                            "cannot tell whether it was kept; look at the study "
                            "(`hpdeco trials`) before running the search again"
                        ) from None
                continue  # the transaction did not happen: run it again
            if self._transient(error) and attempt < RETRIES - 1:
                attempt += 1
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)
                continue
            if not self._is_db_error(error):
                raise error
            self._check_study(study_id, trial_id)
            cause = self._scrub(str(error).strip())
            if phase == "begin":
                raise StoreError(
                    f"store={self.path!r}: could not start a write ({cause}){self._explain(error)}"
                ) from None
            raise StoreError(
                f"store={self.path!r}: a write failed ({cause}){self._explain(error)}"
            ) from None

    def _abandon(self) -> None:
        """Roll back what a failed transaction left open, if anything: a rollback that
        fails (the database already rolled back, the connection is gone) must never hide
        the error that made the transaction fail."""
        with contextlib.suppress(Exception):  # the original error is the one to report
            if self._in_transaction():
                self._rollback()

    def _reconnect(self, cause: Exception) -> None:
        """Replace a lost connection, trying for ``RECONNECT_S`` seconds with backoff;
        then one StoreError naming the server and both causes."""
        self._close_connection()
        deadline = time.monotonic() + RECONNECT_S
        delay = 0.05
        while True:
            try:
                self._new_connection()
                return
            except Exception as exc:
                if not self._is_db_error(exc) or time.monotonic() + delay > deadline:
                    raise StoreError(
                        f"store={self.path!r}: lost the connection to the database server "
                        f"({self._scrub(str(cause).strip())}) and could not reconnect within "
                        f"{RECONNECT_S:g} s ({self._scrub(' '.join(str(exc).split()))}); check "
                        "that the server is running and reachable, then run the search again "
                        "(finished trials are kept)"
                    ) from None
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)

    def _lost_again(self, error: Exception) -> StoreError:
        return StoreError(
            f"store={self.path!r}: the connection to the database server was lost "
            f"{RECONNECTS + 1} times in a row ({self._scrub(str(error).strip())}); check the "
            "server's log (is something terminating sessions?), then run the search again"
        )

    def _deleted(self, study_id: int | None) -> str:
        name = self._names.get(study_id) if study_id is not None else None
        which = f"study {name!r}" if name is not None else "the study"
        return (
            f"{which} was deleted from store={self.path!r} while this worker was running it "
            "(`hpdeco delete`?), with all its trials; this worker stops. Run the search again "
            "to start the study afresh"
        )

    def _check_study(self, study_id: int | None, trial_id: int | None) -> None:
        """Raise StudyNotFound if the study (or the trial, which only goes with its study)
        is no longer in the store: a write failed on a foreign key for that reason."""
        try:
            if study_id is not None:
                sql, key = "SELECT 1 FROM studies WHERE id = ?", study_id
            elif trial_id is not None:
                sql, key = "SELECT 1 FROM trials WHERE id = ?", trial_id
            else:
                return
            gone = self._run(sql, (key,)).fetchone() is None
        except Exception:  # the original error says more than a failed look-up
            return
        if gone:
            raise StudyNotFound(self._deleted(study_id))

    def _is_db_error(self, error: Exception) -> bool:
        return False
