"""The store's schema, shared by every backend. Bump ``SCHEMA_VERSION`` with each change.

``{pk}`` stands for each backend's auto-numbered primary key. Ids are BIGINT and reals
DOUBLE PRECISION, which SQLite reads as INTEGER and REAL.
"""

from __future__ import annotations

SCHEMA_VERSION = 2

# 'hpdc' as a big-endian integer: marks a SQLite file as an hpdeco store.
APPLICATION_ID = 0x68706463

# Keeps the schema version where a backend has no header field for it (PostgreSQL).
META_TABLE = """
    CREATE TABLE hpdeco_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
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
        created_at DOUBLE PRECISION NOT NULL
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
    # NaN as NULL).
    """
    CREATE TABLE metrics (
        trial_id BIGINT NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
        study_id BIGINT NOT NULL,
        name TEXT NOT NULL,
        step BIGINT NOT NULL,
        value DOUBLE PRECISION,
        recorded_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (trial_id, name, step)
    )
    """,
    "CREATE INDEX metrics_by_step ON metrics (study_id, name, step)",
)


# The tables every store of this version has (a store missing one is damaged).
TABLE_NAMES = ("studies", "trials", "params", "metrics")

# What brings a store from version ``n - 1`` to ``n``; each backend runs them in one write
# transaction and records the new version in it.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # Version 1 created two attribute tables that nothing ever wrote or read.
    2: ("DROP TABLE IF EXISTS trial_attrs", "DROP TABLE IF EXISTS study_attrs"),
}


def migrations(version: int) -> list[str]:
    """The statements that bring a store of ``version`` to ``SCHEMA_VERSION``, in order."""
    return [sql for n in range(version + 1, SCHEMA_VERSION + 1) for sql in MIGRATIONS[n]]


def statements(pk: str) -> list[str]:
    """The CREATE statements with the backend's primary-key type filled in."""
    return [statement.replace("{pk}", pk) for statement in TABLES]
