"""What every store does, in SQL that SQLite and PostgreSQL both speak.

A backend supplies the connection, how a write transaction starts (and which errors are
worth retrying), and how one study is locked while a trial number or a grid point is
handed out; the transactions themselves (retries, reconnects, clear errors) are
:mod:`hpdeco.store.transactions`.

Liveness is read on the database's clock (``_NOW``): every heartbeat and every staleness
check uses the same clock, so workers whose clocks disagree never misjudge each other.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from hpdeco.errors import StudyNotFound
from hpdeco.records import WORKER_LOST, TrialRecord, TrialState
from hpdeco.store.reading import Reading
from hpdeco.store.transactions import Transactions

HEARTBEAT_S = 5.0  # how often a running trial's heartbeat is refreshed
HEARTBEAT_GRACE_S = 60.0  # a running trial with no heartbeat this long is lost (any host)


@dataclasses.dataclass(frozen=True)
class StudyRow:
    id: int
    name: str
    objective: str
    direction: str
    space: dict[str, Any]
    settings: dict[str, Any]
    created_at: float
    # Every objective as (name, direction) when the study has several, else empty (the one
    # objective is ``objective``/``direction``).
    objectives: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class RunningTrial:
    """A RUNNING trial's worker, as the store sees it: where it runs, how old its last
    heartbeat is (on the database's clock), and whether it counts as alive."""

    id: int
    number: int
    host: str | None
    pid: int | None
    heartbeat_age: float | None
    alive: bool


class AllTaken(Exception):
    """No trial was started: every configuration left is held by a running trial. Control
    flow between the store and the search, never shown to the user (not an HpdecoError)."""


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


class SQLStore(Reading, Transactions):
    """Studies, trials, parameters and per-step metrics. Subclasses connect."""

    # The database's clock in seconds since the epoch, as SQL (SQLite: this machine's).
    _NOW = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self) -> None:
        super().__init__()
        self._beats: dict[int, float] = {}

    def reopen(self) -> SQLStore:
        """A second, independent connection to the same store (for another thread)."""
        raise NotImplementedError

    # -- studies ------------------------------------------------------------------------------

    @property
    def _STUDY_COLUMNS(self) -> str:
        columns = "id, name, objective, direction, space, settings, created_at"
        return columns + (", objectives" if self.schema >= 4 else ", '[]'")

    def _study_row(self, row: Sequence[Any]) -> StudyRow:
        self._names[row[0]] = row[1]
        objectives = tuple((str(n), str(d)) for n, d in json.loads(row[7]))
        return StudyRow(
            row[0],
            row[1],
            row[2],
            row[3],
            json.loads(row[4]),
            json.loads(row[5]),
            row[6],
            objectives,
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
        self,
        name: str,
        objective: str,
        direction: str,
        settings: Mapping[str, Any],
        objectives: Sequence[tuple[str, str]] = (),
    ) -> StudyRow:
        """The study called ``name``, created if it does not exist yet. ``objectives`` lists
        every objective when there are several (``objective`` and ``direction`` are the
        first's)."""
        listed = dumps([list(o) for o in objectives])
        self._transaction(
            lambda: self._run(
                "INSERT INTO studies (name, objective, direction, settings, created_at,"
                " objectives) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, objective, direction, dumps(dict(settings)), time.time(), listed),
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

    def record(
        self,
        trial_id: int,
        study_id: int,
        step: int,
        metrics: Mapping[str, float],
        run: int = 0,
    ) -> None:
        """Store one step's metrics of one run; a step already stored for a metric keeps
        its first value."""
        now = time.time()
        beat = now - self._beats.get(trial_id, 0.0) >= HEARTBEAT_S

        def write() -> None:
            self._run_many(
                "INSERT INTO metrics (trial_id, study_id, run, name, step, value, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (trial_id, run, name, step) DO NOTHING",
                [(trial_id, study_id, run, k, step, _metric(v), now) for k, v in metrics.items()],
            )
            if beat:
                self._run(f"UPDATE trials SET heartbeat_at = {self._NOW} WHERE id = ?", (trial_id,))

        self._transaction(write, study_id=study_id)
        if beat:
            self._beats[trial_id] = now

    def finish_run(
        self,
        trial_id: int,
        study_id: int,
        run: int,
        fold: int | None,
        value: float | None,
        last_step: int | None,
    ) -> None:
        """Record how one run of a trial ended (run -1: a refit on all the data)."""
        self._transaction(
            lambda: self._run(
                "INSERT INTO runs (trial_id, run, fold, value, last_step, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (trial_id, run) DO UPDATE SET"
                " value = excluded.value, last_step = excluded.last_step,"
                " finished_at = excluded.finished_at",
                (trial_id, run, fold, _value(value), last_step, time.time()),
            ),
            study_id=study_id,
            trial_id=trial_id,
        )

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
        values: Sequence[float | None] = (),
        violation: float | None = None,
    ) -> bool:
        """End a RUNNING trial; False if it had already been ended (e.g. recovered as lost).
        Raises StudyNotFound if the study was deleted meanwhile. ``values`` are its values
        on each objective of a study of several; ``violation`` how far it is from meeting
        the constraints (0 when it meets them)."""

        def finish() -> bool:
            self._lock_study(study_id)
            cursor = self._run(
                "UPDATE trials SET state = ?, value = ?, last_step = ?, reason = ?, traceback = ?,"
                " violation = ?, finished_at = ?, finish_seq = (SELECT COALESCE(MAX(finish_seq),"
                " 0) + 1 FROM trials WHERE study_id = ?) WHERE id = ? AND state = 'RUNNING'",
                (
                    state.value,
                    value,
                    last_step,
                    reason,
                    traceback,
                    violation,
                    time.time(),
                    study_id,
                    trial_id,
                ),
            )
            if cursor.rowcount == 1:
                self._run_many(
                    "INSERT INTO trial_values (trial_id, objective, value) VALUES (?, ?, ?)",
                    [(trial_id, i, _value(v)) for i, v in enumerate(values)],
                )
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
        lost = [t.id for t in self.running_trials(study_id, grace) if not t.alive]
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

    def running_trials(self, study_id: int, grace: float = HEARTBEAT_GRACE_S) -> list[RunningTrial]:
        """The RUNNING trials, each judged alive or lost by the one rule (see
        :meth:`recover_lost`), by number."""
        rows = self._run(
            f"SELECT id, number, host, pid, {self._NOW} - heartbeat_at FROM trials"
            " WHERE study_id = ? AND state = 'RUNNING' ORDER BY number",
            (study_id,),
        ).fetchall()
        return [
            RunningTrial(
                int(trial_id),
                int(number),
                host,
                pid,
                age,
                alive=not (
                    (host == HOST and (pid is None or not pid_alive(pid)))
                    or age is None
                    or age > grace
                ),
            )
            for trial_id, number, host, pid, age in rows
        ]

    def trial_id(self, study_id: int, number: int) -> int:
        """The row id of trial ``number`` of the study."""
        row = self._run(
            "SELECT id FROM trials WHERE study_id = ? AND number = ?", (study_id, number)
        ).fetchone()
        if row is None:
            raise StudyNotFound(f"trial {number} is not in study id {study_id} of {self.path!r}")
        return int(row[0])


def _value(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value
