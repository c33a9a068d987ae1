"""The default store: one SQLite file, written as events happen, one short transaction each.

WAL mode lets readers (the ``hpdeco`` command, other workers) read while a search writes;
``synchronous=NORMAL`` keeps every committed transaction through a crash of the process,
and a busy timeout makes concurrent writers wait instead of failing.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hpdeco.errors import StoreError
from hpdeco.store.schema import APPLICATION_ID, FINISHED_STATES, SCHEMA_VERSION, TABLES
from hpdeco.trial import WORKER_LOST, TrialRecord, TrialState

BUSY_TIMEOUT_S = 30.0
HEARTBEAT_S = 5.0  # a reported step refreshes its trial's heartbeat at most this often
_CHUNK = 500  # trial ids per IN (...) list, well under SQLite's variable limit


@dataclasses.dataclass(frozen=True)
class StudyRow:
    id: int
    name: str
    objective: str
    direction: str
    space: dict[str, Any]
    settings: dict[str, Any]
    created_at: float


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _metric(value: float) -> float | None:
    return None if math.isnan(value) else value


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SQLiteStore:
    """Studies, trials, parameters and per-step metrics in one SQLite file.

    >>> store = SQLiteStore("runs/hpdeco.db")      # created with its folders
    >>> store = SQLiteStore(":memory:")            # for tests and throwaway studies
    """

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only
        self._beats: dict[int, float] = {}
        in_memory = self.path == ":memory:"
        if not in_memory:
            file = Path(self.path)
            if read_only and not file.exists():
                raise StoreError(
                    f"store={self.path!r} does not exist; run a search first or pass the path "
                    "of an existing store"
                )
            if not read_only:
                try:
                    file.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(
                        f"store={self.path!r}: cannot create its folder ({exc})"
                    ) from None
        target = f"file:{quote(os.path.abspath(self.path))}?mode=ro" if read_only else self.path
        try:
            self._conn = sqlite3.connect(
                target, timeout=BUSY_TIMEOUT_S, isolation_level=None, uri=read_only
            )
        except sqlite3.Error as exc:
            raise StoreError(f"store={self.path!r} cannot be opened: {exc}") from None
        try:
            self._open()
        except BaseException:
            self._conn.close()
            raise

    # -- opening ------------------------------------------------------------------------------

    def _open(self) -> None:
        conn = self._conn
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"store={self.path!r} is not a SQLite database ({exc}); "
                "pass the path of an hpdeco store, or a new path to create one"
            ) from None
        if app_id == 0 and not tables:
            if self.read_only:
                raise StoreError(f"store={self.path!r} is empty; run a search to fill it")
            self._create_schema()
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
        conn.execute("PRAGMA foreign_keys = ON")
        if not self.read_only and self.path != ":memory:":
            try:
                conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"store={self.path!r} cannot be written: {exc}") from None
        conn.execute("PRAGMA synchronous = NORMAL")

    def _create_schema(self) -> None:
        conn = self._conn
        if self.path != ":memory:":
            try:
                conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"store={self.path!r} cannot be written: {exc}") from None
        with self._write() as c:
            # Another process may have created it between our check and this transaction.
            if c.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
                return
            for statement in TABLES:
                c.execute(statement)
            c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise StoreError(f"store={self.path!r} was opened read-only")
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(
                f"store={self.path!r}: could not start a write within {BUSY_TIMEOUT_S:.0f} s "
                f"({exc}); another process holds it, or the disk refuses writes"
            ) from None
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"store={self.path!r}: a write failed ({exc})") from None

    def close(self) -> None:
        self._conn.close()

    # -- studies ------------------------------------------------------------------------------

    def _study_row(self, row: Sequence[Any]) -> StudyRow:
        return StudyRow(
            row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]), row[6]
        )

    _STUDY_COLUMNS = "id, name, objective, direction, space, settings, created_at"

    def study(self, name: str) -> StudyRow | None:
        row = self._conn.execute(
            f"SELECT {self._STUDY_COLUMNS} FROM studies WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else self._study_row(row)

    def studies(self) -> list[StudyRow]:
        rows = self._conn.execute(f"SELECT {self._STUDY_COLUMNS} FROM studies ORDER BY name")
        return [self._study_row(r) for r in rows]

    def create_study(
        self, name: str, objective: str, direction: str, settings: Mapping[str, Any]
    ) -> StudyRow:
        """The study called ``name``, created if it does not exist yet."""
        with self._write() as c:
            c.execute(
                "INSERT OR IGNORE INTO studies (name, objective, direction, settings, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (name, objective, direction, _dumps(dict(settings)), time.time()),
            )
        found = self.study(name)
        assert found is not None
        return found

    def delete_study(self, name: str) -> bool:
        """Delete a study with all its trials, parameters and metrics; False if absent."""
        with self._write() as c:
            row = c.execute("SELECT id FROM studies WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            # metrics carry study_id without a foreign key (it is an index column), so go
            # through the trials: their cascade removes params, metrics and attributes.
            c.execute("DELETE FROM metrics WHERE study_id = ?", (row[0],))
            c.execute("DELETE FROM studies WHERE id = ?", (row[0],))
            return True

    def save_space(self, study_id: int, space: Mapping[str, Any]) -> None:
        with self._write() as c:
            c.execute("UPDATE studies SET space = ? WHERE id = ?", (_dumps(dict(space)), study_id))

    # -- trials -------------------------------------------------------------------------------

    def start_trial(self, study_id: int, max_trials: int | None) -> tuple[int, int] | None:
        """Claim the next trial number, or None when ``max_trials`` trials are started or done."""
        with self._write() as c:
            if max_trials is not None:
                (taken,) = c.execute(
                    "SELECT COUNT(*) FROM trials WHERE study_id = ? AND state != 'WAITING'",
                    (study_id,),
                ).fetchone()
                if taken >= max_trials:
                    return None
            (number,) = c.execute(
                "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = ?", (study_id,)
            ).fetchone()
            now = time.time()
            cursor = c.execute(
                "INSERT INTO trials (study_id, number, state, started_at, host, pid, heartbeat_at)"
                " VALUES (?, ?, 'RUNNING', ?, ?, ?, ?)",
                (study_id, number, now, socket.gethostname(), os.getpid(), now),
            )
            return int(cursor.lastrowid or 0), int(number)

    def set_param(self, trial_id: int, position: int, name: str, value: Any) -> None:
        with self._write() as c:
            c.execute(
                "INSERT OR REPLACE INTO params (trial_id, position, name, value)"
                " VALUES (?, ?, ?, ?)",
                (trial_id, position, name, _dumps(value)),
            )

    def record(self, trial_id: int, study_id: int, step: int, metrics: Mapping[str, float]) -> None:
        """Store one step's metrics; a step already stored for a metric keeps its first value."""
        now = time.time()
        with self._write() as c:
            c.executemany(
                "INSERT OR IGNORE INTO metrics (trial_id, study_id, name, step, value, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(trial_id, study_id, k, step, _metric(v), now) for k, v in metrics.items()],
            )
            if now - self._beats.get(trial_id, 0.0) >= HEARTBEAT_S:
                c.execute("UPDATE trials SET heartbeat_at = ? WHERE id = ?", (now, trial_id))
                self._beats[trial_id] = now

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
        """End a RUNNING trial; False if it had already been ended (e.g. recovered as lost)."""
        with self._write() as c:
            cursor = c.execute(
                "UPDATE trials SET state = ?, value = ?, last_step = ?, reason = ?, traceback = ?,"
                " finished_at = ?, finish_seq = (SELECT COALESCE(MAX(finish_seq), 0) + 1"
                " FROM trials WHERE study_id = ?) WHERE id = ? AND state = 'RUNNING'",
                (state.value, value, last_step, reason, traceback, time.time(), study_id, trial_id),
            )
            self._beats.pop(trial_id, None)
            return cursor.rowcount == 1

    def recover_lost(self, study_id: int) -> list[int]:
        """Mark FAIL the RUNNING trials of this host whose process no longer exists."""
        host = socket.gethostname()
        rows = self._conn.execute(
            "SELECT id, number, pid FROM trials WHERE study_id = ? AND state = 'RUNNING'"
            " AND host = ?",
            (study_id, host),
        ).fetchall()
        lost = [(tid, number) for tid, number, pid in rows if pid is None or not _pid_alive(pid)]
        for trial_id, _ in lost:
            self.finish_trial(trial_id, study_id, TrialState.FAIL, None, None, WORKER_LOST, None)
        return [number for _, number in lost]

    def count(self, study_id: int) -> dict[TrialState, int]:
        rows = self._conn.execute(
            "SELECT state, COUNT(*) FROM trials WHERE study_id = ? GROUP BY state", (study_id,)
        )
        return {TrialState(state): n for state, n in rows}

    def running_params(self, study_id: int) -> dict[int, dict[str, Any]]:
        """The parameters drawn so far by each RUNNING trial, by trial number (one query;
        samplers read it once per trial to steer away from points being tried elsewhere)."""
        rows = self._conn.execute(
            "SELECT t.number, p.name, p.value FROM trials t LEFT JOIN params p"
            " ON p.trial_id = t.id WHERE t.study_id = ? AND t.state = 'RUNNING'"
            " ORDER BY t.number, p.position",
            (study_id,),
        )
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
        rows = self._conn.execute(
            f"SELECT {self._TRIAL_COLUMNS} FROM trials WHERE study_id = ? AND finish_seq > ?"
            " ORDER BY finish_seq",
            (study_id, seq),
        ).fetchall()
        if not rows:
            return [], seq
        return self._records(rows, objective), rows[-1][9]

    def trials(self, study_id: int, objective: str) -> list[TrialRecord]:
        """Every trial of the study, by number."""
        rows = self._conn.execute(
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
            for trial_id, name, value in self._conn.execute(
                f"SELECT trial_id, name, value FROM params WHERE trial_id IN ({marks})"
                " ORDER BY trial_id, position",
                chunk,
            ):
                params[trial_id][name] = json.loads(value)
            for trial_id, name, step, value in self._conn.execute(
                f"SELECT trial_id, name, step, value FROM metrics WHERE trial_id IN ({marks})"
                " ORDER BY trial_id, name, step",
                chunk,
            ):
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
        rows = self._conn.execute(
            "SELECT t.number, m.value FROM metrics m JOIN trials t ON t.id = m.trial_id"
            " WHERE m.study_id = ? AND m.name = ? AND m.step = ?",
            (study_id, name, step),
        )
        return {number: (math.nan if value is None else value) for number, value in rows}


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


__all__ = ["FINISHED_STATES", "SQLiteStore", "StudyRow"]
