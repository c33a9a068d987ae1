"""The store's schema, shared by every backend. Bump ``SCHEMA_VERSION`` with each change.

``{pk}`` stands for each backend's auto-numbered primary key. Ids are BIGINT and reals
DOUBLE PRECISION, which SQLite reads as INTEGER and REAL.
"""

from __future__ import annotations

SCHEMA_VERSION = 4

# 'hpdc' as a big-endian integer: marks a SQLite file as an hpdeco store.
APPLICATION_ID = 0x68706463

# Keeps the schema version where a backend has no header field for it (PostgreSQL).
META_TABLE = """
    CREATE TABLE hpdeco_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
"""

METRICS_TABLE = """
    CREATE TABLE {name} (
        trial_id BIGINT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        study_id BIGINT NOT NULL,
        run INTEGER NOT NULL DEFAULT 0,
        name TEXT NOT NULL,
        step BIGINT NOT NULL,
        value DOUBLE PRECISION,
        recorded_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (trial_id, run, name, step)
    )
"""
METRICS_INDEX = "CREATE INDEX metrics_by_step ON metrics (study_id, name, step)"
# One row per finished run of a trial (an execution, or a fold with its index): its value.
# Run -1 is the refit of a study's best configuration on all the data.
RUNS_TABLE = """
    CREATE TABLE runs (
        trial_id BIGINT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        run INTEGER NOT NULL,
        fold INTEGER,
        value DOUBLE PRECISION,
        last_step BIGINT,
        finished_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (trial_id, run)
    )
"""
# A study of several objectives: each finished trial's value on each (``objective`` is the
# index in the study's list; the first is also ``trials.value``). NULL stands for NaN.
VALUES_TABLE = """
    CREATE TABLE trial_values (
        trial_id BIGINT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        objective INTEGER NOT NULL,
        value DOUBLE PRECISION,
        PRIMARY KEY (trial_id, objective)
    )
"""

TABLES = (
    """
    CREATE TABLE studies (
        id {pk},
        name TEXT NOT NULL UNIQUE,
        objective TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('max', 'min')),
        space TEXT NOT NULL DEFAULT '{}',
        settings TEXT NOT NULL DEFAULT '{}',
        created_at DOUBLE PRECISION NOT NULL,
        objectives TEXT NOT NULL DEFAULT '[]'
    )
    """,
    """
    CREATE TABLE trials (
        id {pk},
        study_id BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
        number BIGINT NOT NULL,
        state TEXT NOT NULL
            CHECK (state IN ('WAITING', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAIL')),
        value DOUBLE PRECISION,
        last_step BIGINT,
        reason TEXT,
        traceback TEXT,
        started_at DOUBLE PRECISION,
        finished_at DOUBLE PRECISION,
        finish_seq BIGINT,
        host TEXT,
        pid BIGINT,
        heartbeat_at DOUBLE PRECISION,
        violation DOUBLE PRECISION,
        UNIQUE (study_id, number)
    )
    """,
    "CREATE INDEX trials_by_state ON trials (study_id, state)",
    "CREATE UNIQUE INDEX trials_by_finish ON trials (study_id, finish_seq)",
    """
    CREATE TABLE params (
        trial_id BIGINT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (trial_id, name)
    )
    """,
    # study_id is repeated here so that a pruner reads one metric at one step of one study
    # through a single index, without a join.  A NULL value stands for NaN (SQLite stores
    # NaN as NULL).  ``run`` numbers a trial's executions or folds (0 when it has one).
    METRICS_TABLE.format(name="metrics"),
    METRICS_INDEX,
    RUNS_TABLE,
    VALUES_TABLE,
)


# The tables every store has (a store missing one is damaged), and from which version on.
TABLE_NAMES = {"studies": 1, "trials": 1, "params": 1, "metrics": 1, "runs": 3, "trial_values": 4}


def tables_of(version: int) -> list[str]:
    """The tables a store of schema ``version`` has."""
    return [name for name, since in TABLE_NAMES.items() if since <= version]


# What brings a store from version ``n - 1`` to ``n``; each backend runs them in one write
# transaction and records the new version in it.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # Version 1 created two attribute tables that nothing ever wrote or read.
    2: ("DROP TABLE IF EXISTS trial_attrs", "DROP TABLE IF EXISTS study_attrs"),
    # Version 3: a trial may have several runs (executions, folds): metrics carry the run.
    3: (
        METRICS_TABLE.format(name="metrics_v3"),
        "INSERT INTO metrics_v3 (trial_id, study_id, run, name, step, value, recorded_at)"
        " SELECT trial_id, study_id, 0, name, step, value, recorded_at FROM metrics",
        "DROP TABLE metrics",
        "ALTER TABLE metrics_v3 RENAME TO metrics",
        METRICS_INDEX,
        RUNS_TABLE,
    ),
    # Version 4: several objectives (their list per study, a value per objective per
    # trial) and constraints (each trial's violation).
    4: (
        "ALTER TABLE studies ADD COLUMN objectives TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE trials ADD COLUMN violation DOUBLE PRECISION",
        VALUES_TABLE,
    ),
}


def migrations(version: int) -> list[str]:
    """The statements that bring a store of ``version`` to ``SCHEMA_VERSION``, in order."""
    return [sql for n in range(version + 1, SCHEMA_VERSION + 1) for sql in MIGRATIONS[n]]


def statements(pk: str) -> list[str]:
    """The CREATE statements with the backend's primary-key type filled in."""
    return [statement.replace("{pk}", pk) for statement in TABLES]
