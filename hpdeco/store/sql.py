"""What every store does, in SQL that SQLite and PostgreSQL both speak.

A backend supplies the connection, how a write transaction starts (and which errors are
worth retrying), and how one study is locked while a trial number or a grid point is
handed out. Every write is one short transaction; transient lock errors are retried with
backoff here and never reach the user.

A backend whose connection can drop (PostgreSQL) reopens it, with bounded retries, and
runs the transaction again. That is safe because a transaction that lost its connection
before COMMIT was rolled back by the server, and one that lost it during COMMIT is not run
again until the server says it did not commit (``_committed``): a new trial or an enqueued
one is never inserted twice, a finished trial never "already ended".

Liveness is read on the database's clock (``_NOW``): every heartbeat and every staleness
check uses the same clock, so workers whose clocks disagree never misjudge each other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from hpdeco.errors import HpdecoError, StoreError, StudyNotFound
from hpdeco.records import WORKER_LOST, TrialRecord, TrialState

T = TypeVar("T")

HEARTBEAT_S = 5.0  # how often a running trial's heartbeat is refreshed
HEARTBEAT_GRACE_S = 60.0  # a running trial with no heartbeat this long is lost (any host)
RETRIES = 8  # attempts at a write transaction that meets a transient lock error
RECONNECTS = 3  # fresh connections tried for one transaction or read that lost its own
RECONNECT_S = 30.0  # how long one reconnection keeps trying before the store gives up
_CHUNK = 500  # trial ids per IN (...) list, well under any variable limit


@dataclasses.dataclass(frozen=True)
class StudyRow:
    id: int
    name: str
    objective: str
    direction: str
    space: dict[str, Any]
    settings: dict[str, Any]
    created_at: float


@dataclasses.dataclass(frozen=True)
class StudyOverview:
    """What ``hpdeco studies`` shows of one study, read without loading its trials."""

    counts: dict[TrialState, int]  # trials by state, states present only
    best: tuple[int, float] | None  # (number, value) of the best COMPLETE trial
    last_activity: float | None  # the latest start or finish of any trial


class AllTaken(HpdecoError):
    """No trial was started: every configuration left is held by a running trial."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """A trial handed to this worker: a new one, or an enqueued one with its parameters."""

    trial_id: int
    number: int
    params: dict[str, Any]


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # key order kept: the space in declared order


def _metric(value: float) -> float | None:
    return None if math.isnan(value) else value  # NULL stands for NaN in every backend


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


HOST = socket.gethostname()


class SQLStore:
    """Studies, trials, parameters and per-step metrics. Subclasses connect."""

    path: str
    read_only: bool
    _conn: Any

    # The database's clock in seconds since the epoch, as SQL (SQLite: this machine's).
    _NOW = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self) -> None:
        self._beats: dict[int, float] = {}
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

    def reopen(self) -> SQLStore:
        """A second, independent connection to the same store (for another thread)."""
        raise NotImplementedError

    def close(self) -> None:
        self._conn.close()

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
                    raise  # an interrupt, AllTaken, StudyNotFound...: not the store's failure
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

    # -- studies ------------------------------------------------------------------------------

    _STUDY_COLUMNS = "id, name, objective, direction, space, settings, created_at"

    def _study_row(self, row: Sequence[Any]) -> StudyRow:
        self._names[row[0]] = row[1]
        return StudyRow(
            row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]), row[6]
        )

    def study(self, name: str) -> StudyRow | None:
        row = self._run(
            f"SELECT {self._STUDY_COLUMNS} FROM studies WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else self._study_row(row)

    def studies(self) -> list[StudyRow]:
        rows = self._run(f"SELECT {self._STUDY_COLUMNS} FROM studies ORDER BY name").fetchall()
        return [self._study_row(r) for r in rows]

    def create_study(
        self, name: str, objective: str, direction: str, settings: Mapping[str, Any]
    ) -> StudyRow:
        """The study called ``name``, created if it does not exist yet."""
        self._transaction(
            lambda: self._run(
                "INSERT INTO studies (name, objective, direction, settings, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, objective, direction, dumps(dict(settings)), time.time()),
            )
        )
        found = self.study(name)
        assert found is not None
        return found

    def delete_study(self, name: str) -> bool:
        """Delete a study with all its trials, parameters and metrics; False if absent."""

        def delete() -> bool:
            row = self._run("SELECT id FROM studies WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            # metrics.study_id is an index column, not a foreign key: clear it first; the
            # cascade from studies removes trials, params and attributes.
            self._run("DELETE FROM metrics WHERE study_id = ?", (row[0],))
            self._run("DELETE FROM studies WHERE id = ?", (row[0],))
            return True

        return self._transaction(delete)

    def save_space(self, study_id: int, space: Mapping[str, Any]) -> None:
        self._transaction(
            lambda: self._run(
                "UPDATE studies SET space = ? WHERE id = ?", (dumps(dict(space)), study_id)
            ),
            study_id=study_id,
        )

    # -- trials -------------------------------------------------------------------------------

    def enqueue(self, study_id: int, params: Mapping[str, Any]) -> int:
        """Add a WAITING trial with fixed parameters; the next worker to start one takes it."""

        def add() -> int:
            self._lock_study(study_id)
            number = self._next_number(study_id)
            (trial_id,) = self._run(
                "INSERT INTO trials (study_id, number, state) VALUES (?, ?, 'WAITING')"
                " RETURNING id",
                (study_id, number),
            ).fetchone()
            self._run_many(
                "INSERT INTO params (trial_id, position, name, value) VALUES (?, ?, ?, ?)",
                [(trial_id, i, k, dumps(v)) for i, (k, v) in enumerate(params.items())],
            )
            return int(number)

        return self._transaction(add, study_id=study_id)

    def _next_number(self, study_id: int) -> int:
        (number,) = self._run(
            "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = ?", (study_id,)
        ).fetchone()
        return int(number)

    def start_trial(
        self,
        study_id: int,
        max_trials: int | None,
        plan: Callable[[dict[int, dict[str, Any]]], dict[str, Any] | None] | None = None,
    ) -> Claim | None:
        """Claim a trial (the oldest WAITING one, else a new number), or None when
        ``max_trials`` trials are running or finished. Atomic across processes.

        ``plan``, given the parameters of the running trials, returns values the new trial
        takes (stored with it in the same transaction), or None when every configuration
        left is held by a running trial: then no trial starts and ``AllTaken`` is raised.
        """

        def claim() -> Claim | None:
            self._lock_study(study_id)
            if max_trials is not None:
                (taken,) = self._run(
                    "SELECT COUNT(*) FROM trials WHERE study_id = ? AND state != 'WAITING'",
                    (study_id,),
                ).fetchone()
                if taken >= max_trials:
                    return None
            now = time.time()  # started_at: when, as this worker saw it (not for liveness)
            waiting = self._run(
                "SELECT id, number FROM trials WHERE study_id = ? AND state = 'WAITING'"
                " ORDER BY number LIMIT 1",
                (study_id,),
            ).fetchone()
            if waiting is not None:
                trial_id, number = waiting
                self._run(
                    "UPDATE trials SET state = 'RUNNING', started_at = ?, host = ?, pid = ?,"
                    f" heartbeat_at = {self._NOW} WHERE id = ?",
                    (now, HOST, os.getpid(), trial_id),
                )
                rows = self._run(
                    "SELECT name, value FROM params WHERE trial_id = ? ORDER BY position",
                    (trial_id,),
                ).fetchall()
                return Claim(int(trial_id), int(number), {k: json.loads(v) for k, v in rows})
            planned = plan(self.running_params(study_id)) if plan is not None else {}
            if planned is None:
                raise AllTaken
            number = self._next_number(study_id)
            (trial_id,) = self._run(
                "INSERT INTO trials (study_id, number, state, started_at, host, pid,"
                f" heartbeat_at) VALUES (?, ?, 'RUNNING', ?, ?, ?, {self._NOW}) RETURNING id",
                (study_id, number, now, HOST, os.getpid()),
            ).fetchone()
            self._run_many(
                "INSERT INTO params (trial_id, position, name, value) VALUES (?, ?, ?, ?)",
                [(trial_id, i, k, dumps(v)) for i, (k, v) in enumerate(planned.items())],
            )
            return Claim(int(trial_id), number, dict(planned))

        return self._transaction(claim, study_id=study_id)

    def set_param(self, trial_id: int, position: int, name: str, value: Any) -> None:
        self._transaction(
            lambda: self._run(
                "INSERT INTO params (trial_id, position, name, value) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (trial_id, name) DO UPDATE SET value = excluded.value",
                (trial_id, position, name, dumps(value)),
            ),
            trial_id=trial_id,
        )

    def claim_params(
        self,
        study_id: int,
        trial_id: int,
        position: int,
        choose: Callable[[dict[int, dict[str, Any]]], dict[str, Any]],
    ) -> dict[str, Any]:
        """Choose and store parameter values (from ``position`` on, in order) in one locked
        transaction: ``choose`` sees the parameters of every RUNNING trial, so concurrent
        workers never pick alike."""

        def claim() -> dict[str, Any]:
            self._lock_study(study_id)
            chosen = choose(self.running_params(study_id))
            self._run_many(
                "INSERT INTO params (trial_id, position, name, value) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (trial_id, name) DO UPDATE SET value = excluded.value",
                [(trial_id, position + i, k, dumps(v)) for i, (k, v) in enumerate(chosen.items())],
            )
            return chosen

        return self._transaction(claim, study_id=study_id)

    def record(self, trial_id: int, study_id: int, step: int, metrics: Mapping[str, float]) -> None:
        """Store one step's metrics; a step already stored for a metric keeps its first value."""
        now = time.time()
        beat = now - self._beats.get(trial_id, 0.0) >= HEARTBEAT_S

        def write() -> None:
            self._run_many(
                "INSERT INTO metrics (trial_id, study_id, name, step, value, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (trial_id, name, step) DO NOTHING",
                [(trial_id, study_id, k, step, _metric(v), now) for k, v in metrics.items()],
            )
            if beat:
                self._run(f"UPDATE trials SET heartbeat_at = {self._NOW} WHERE id = ?", (trial_id,))

        self._transaction(write, study_id=study_id)
        if beat:
            self._beats[trial_id] = now

    def heartbeat(self, trial_ids: Iterable[int]) -> None:
        """Mark these trials alive (called from a background thread while they run)."""
        ids = list(trial_ids)
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        self._transaction(
            lambda: self._run(
                f"UPDATE trials SET heartbeat_at = {self._NOW}"
                f" WHERE id IN ({marks}) AND state = 'RUNNING'",
                ids,
            )
        )

    def finish_trial(
        self,
        trial_id: int,
        study_id: int,
        state: TrialState,
        value: float | None,
        last_step: int | None,
        reason: str | None,
        traceback: str | None,
    ) -> bool:
        """End a RUNNING trial; False if it had already been ended (e.g. recovered as lost).
        Raises StudyNotFound if the study was deleted meanwhile."""

        def finish() -> bool:
            self._lock_study(study_id)
            cursor = self._run(
                "UPDATE trials SET state = ?, value = ?, last_step = ?, reason = ?, traceback = ?,"
                " finished_at = ?, finish_seq = (SELECT COALESCE(MAX(finish_seq), 0) + 1"
                " FROM trials WHERE study_id = ?) WHERE id = ? AND state = 'RUNNING'",
                (state.value, value, last_step, reason, traceback, time.time(), study_id, trial_id),
            )
            if cursor.rowcount == 1:
                return True
            if self._run("SELECT 1 FROM trials WHERE id = ?", (trial_id,)).fetchone() is None:
                raise StudyNotFound(self._deleted(study_id))  # not "ended elsewhere"
            return False

        self._beats.pop(trial_id, None)
        return self._transaction(finish, study_id=study_id)

    def recover_lost(self, study_id: int, grace: float = HEARTBEAT_GRACE_S) -> list[TrialRecord]:
        """Mark FAIL (worker lost) the RUNNING trials whose worker is gone: at once when it
        ran on this host and its process no longer exists, otherwise after ``grace`` seconds
        without a heartbeat. Returns them, parameters and reported steps kept.

        A live process with the trial's pid on this host proves nothing (containers reuse
        pids: every worker may be pid 1 on the same host name), so such a trial is judged
        by its heartbeat too. The heartbeat's age is measured on the database's clock, the
        one every heartbeat was written with, so no two hosts' clocks are ever compared."""
        rows = self._run(
            f"SELECT id, host, pid, {self._NOW} - heartbeat_at FROM trials"
            " WHERE study_id = ? AND state = 'RUNNING'",
            (study_id,),
        ).fetchall()
        lost = [
            trial_id
            for trial_id, host, pid, age in rows
            if (host == HOST and (pid is None or not pid_alive(pid))) or age is None or age > grace
        ]
        recovered = [
            trial_id
            for trial_id in lost
            if self.finish_trial(trial_id, study_id, TrialState.FAIL, None, None, WORKER_LOST, None)
        ]
        if not recovered:
            return []
        marks = ",".join("?" * len(recovered))
        rows = self._run(
            f"SELECT {self._TRIAL_COLUMNS} FROM trials WHERE id IN ({marks}) ORDER BY number",
            recovered,
        ).fetchall()
        return self._records(rows, objective="")

    def count(self, study_id: int) -> dict[TrialState, int]:
        rows = self._run(
            "SELECT state, COUNT(*) FROM trials WHERE study_id = ? GROUP BY state", (study_id,)
        ).fetchall()
        return {TrialState(state): n for state, n in rows}

    def running_params(self, study_id: int) -> dict[int, dict[str, Any]]:
        """The parameters drawn so far by each RUNNING trial, by trial number."""
        rows = self._run(
            "SELECT t.number, p.name, p.value FROM trials t LEFT JOIN params p"
            " ON p.trial_id = t.id WHERE t.study_id = ? AND t.state = 'RUNNING'"
            " ORDER BY t.number, p.position",
            (study_id,),
        ).fetchall()
        running: dict[int, dict[str, Any]] = {}
        for number, name, value in rows:
            params = running.setdefault(number, {})
            if name is not None:
                params[name] = json.loads(value)
        return running

    # -- reading trials back ------------------------------------------------------------------

    _TRIAL_COLUMNS = (
        "id, number, state, value, last_step, reason, traceback, started_at, finished_at,"
        " finish_seq"
    )

    def finished_since(
        self, study_id: int, objective: str, seq: int
    ) -> tuple[list[TrialRecord], int]:
        """Trials finished after finish sequence ``seq``, in finishing order, and the new seq."""
        rows = self._run(
            f"SELECT {self._TRIAL_COLUMNS} FROM trials WHERE study_id = ? AND finish_seq > ?"
            " ORDER BY finish_seq",
            (study_id, seq),
        ).fetchall()
        if not rows:
            return [], seq
        return self._records(rows, objective), rows[-1][9]

    def overview(self, study_id: int, direction: str) -> StudyOverview:
        """Counts by state, the best COMPLETE trial (the lower number among equals, as
        ``hpdeco.records.ranked``) and the last activity, from three aggregate queries:
        listing the studies of a big store does not read every trial and metric."""
        found = dict(
            self._run(
                "SELECT state, COUNT(*) FROM trials WHERE study_id = ? GROUP BY state",
                (study_id,),
            ).fetchall()
        )
        counts = {s: int(found[s.value]) for s in TrialState if s.value in found}
        order = "DESC" if direction == "max" else "ASC"
        best = self._run(
            "SELECT number, value FROM trials WHERE study_id = ? AND state = ?"
            f" AND value IS NOT NULL ORDER BY value {order}, number LIMIT 1",
            (study_id, TrialState.COMPLETE.value),
        ).fetchone()
        started, finished = self._run(
            "SELECT MAX(started_at), MAX(finished_at) FROM trials WHERE study_id = ?",
            (study_id,),
        ).fetchone()
        times = [t for t in (started, finished) if t is not None]
        return StudyOverview(
            counts=counts,
            best=None if best is None else (int(best[0]), float(best[1])),
            last_activity=max(times) if times else None,
        )

    def trials(self, study_id: int, objective: str) -> list[TrialRecord]:
        """Every trial of the study, by number."""
        rows = self._run(
            f"SELECT {self._TRIAL_COLUMNS} FROM trials WHERE study_id = ? ORDER BY number",
            (study_id,),
        ).fetchall()
        return self._records(rows, objective)

    def _records(self, rows: list[Sequence[Any]], objective: str) -> list[TrialRecord]:
        ids = [r[0] for r in rows]
        params: dict[int, dict[str, Any]] = {i: {} for i in ids}
        metrics: dict[int, dict[str, dict[int, float]]] = {i: {} for i in ids}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for trial_id, name, value in self._run(
                f"SELECT trial_id, name, value FROM params WHERE trial_id IN ({marks})"
                " ORDER BY trial_id, position",
                chunk,
            ).fetchall():
                params[trial_id][name] = json.loads(value)
            for trial_id, name, step, value in self._run(
                f"SELECT trial_id, name, step, value FROM metrics WHERE trial_id IN ({marks})"
                " ORDER BY trial_id, name, step",
                chunk,
            ).fetchall():
                metrics[trial_id].setdefault(name, {})[step] = math.nan if value is None else value
        return [
            TrialRecord(
                number=r[1],
                state=TrialState(r[2]),
                params=params[r[0]],
                value=r[3],
                intermediate_values=metrics[r[0]].get(objective, {}),
                metrics=metrics[r[0]],
                last_step=r[4],
                reason=r[5],
                traceback=r[6],
                started_at=r[7],
                finished_at=r[8],
            )
            for r in rows
        ]

    def values_at(self, study_id: int, name: str, step: int) -> dict[int, float]:
        """Every trial's value of metric ``name`` at ``step``, by trial number (for pruners)."""
        rows = self._run(
            "SELECT t.number, m.value FROM metrics m JOIN trials t ON t.id = m.trial_id"
            " WHERE m.study_id = ? AND m.name = ? AND m.step = ?",
            (study_id, name, step),
        ).fetchall()
        return {number: (math.nan if value is None else value) for number, value in rows}


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
