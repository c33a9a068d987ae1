"""The store's schema, shared by every backend. Bump ``SCHEMA_VERSION`` with each change."""

from __future__ import annotations

SCHEMA_VERSION = 1

# 'hpdc' as a big-endian integer: marks a SQLite file as an hpdeco store.
APPLICATION_ID = 0x68706463

FINISHED_STATES = ("COMPLETE", "PRUNED", "FAIL")

TABLES = (
    """
    CREATE TABLE studies (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        objective TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('max', 'min')),
        space TEXT NOT NULL DEFAULT '{}',
        settings TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE trials (
        id INTEGER PRIMARY KEY,
        study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        state TEXT NOT NULL
            CHECK (state IN ('WAITING', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAIL')),
        value REAL,
        last_step INTEGER,
        reason TEXT,
        traceback TEXT,
        started_at REAL,
        finished_at REAL,
        finish_seq INTEGER,
        host TEXT,
        pid INTEGER,
        heartbeat_at REAL,
        UNIQUE (study_id, number)
    )
    """,
    "CREATE INDEX trials_by_state ON trials (study_id, state)",
    "CREATE UNIQUE INDEX trials_by_finish ON trials (study_id, finish_seq)",
    """
    CREATE TABLE params (
        trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (trial_id, name)
    )
    """,
    # study_id is repeated here so that a pruner reads one metric at one step of one study
    # through a single index, without a join.  A NULL value stands for NaN (SQLite stores
    # NaN as NULL).
    """
    CREATE TABLE metrics (
        trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        study_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        step INTEGER NOT NULL,
        value REAL,
        recorded_at REAL NOT NULL,
        PRIMARY KEY (trial_id, name, step)
    )
    """,
    "CREATE INDEX metrics_by_step ON metrics (study_id, name, step)",
    """
    CREATE TABLE study_attrs (
        study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (study_id, key)
    )
    """,
    """
    CREATE TABLE trial_attrs (
        trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (trial_id, key)
    )
    """,
)
