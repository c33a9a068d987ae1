"""PostgreSQL, for studies shared by workers on many machines: ``store="postgresql://..."``.

Same schema and semantics as SQLite. Writers of one study are serialised by a row lock on
the study (``SELECT ... FOR UPDATE``) while a trial number or a grid point is handed out;
everything else is plain short transactions. Needs ``pip install "hpdeco[postgres]"``.

A store is named by a URL (``postgresql://`` or ``postgres://``, any case) or by a libpq
keyword string (``host=db user=tuner dbname=studies``), as psycopg takes both. Its
password and secret parameters never leave this module: ``path`` (what every message
shows) is the locator without them, and driver error texts are scrubbed of them.

Connections that drop (a server closing idle sessions, an administrator terminating a
backend, a restart) are reopened with bounded retries; a write whose COMMIT was lost in
flight is never blindly re-run: the server is asked (``txid_status``) whether it committed.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any
from urllib.parse import quote, unquote

from hpdeco.errors import ConfigError, MissingDependency, StoreError, StudyNotFound
from hpdeco.store.schema import META_TABLE, SCHEMA_VERSION, migrations, statements
from hpdeco.store.sql import SQLStore, StudyRow
from hpdeco.store.transactions import RECONNECTS

# An arbitrary constant: the advisory lock taken while one process creates the schema.
_SCHEMA_LOCK = 0x68706463

CONNECT_TIMEOUT_S = 10
COMMIT_CHECK_S = 10.0  # how long a lost COMMIT's fate is asked about while still in progress

# -- naming a server without its secrets --------------------------------------------------------

_SCHEMES = ("postgresql", "postgres")
# libpq's connection keywords: a store= string made of ``keyword=value`` pairs is a server.
_KEYWORDS = frozenset(
    {
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "passfile",
        "channel_binding",
        "connect_timeout",
        "client_encoding",
        "options",
        "application_name",
        "fallback_application_name",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "replication",
        "gssencmode",
        "gssdelegation",
        "sslmode",
        "requiressl",
        "sslcompression",
        "sslcert",
        "sslkey",
        "sslpassword",
        "sslcertmode",
        "sslrootcert",
        "sslcrl",
        "sslcrldir",
        "sslsni",
        "requirepeer",
        "require_auth",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "krbsrvname",
        "gsslib",
        "service",
        "target_session_attrs",
        "load_balance_hosts",
    }
)
# Parameters whose value is a secret (or names where one is kept): never shown.
_SECRET_KEY = re.compile(r"pass|pwd|secret|token", re.IGNORECASE)
_PAIR = re.compile(r"\s*([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|(?:[^\s'\\]|\\.)*)")
_QUOTED = re.compile(r'"[^"]*"')


def _url_scheme(text: str) -> tuple[str, str] | None:
    """(lower-case scheme, the rest after ``://``) of a URL, or None."""
    scheme, sep, rest = text.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return None
    return scheme.lower(), rest


def _conninfo(text: str) -> list[tuple[str, str]] | None:
    """The ``(keyword, value)`` pairs of a libpq keyword string, or None if ``text`` is not
    one (its first keyword must be one of libpq's; a value may be 'single quoted')."""
    match = _PAIR.match(text)
    if match is None or match.group(1).lower() not in _KEYWORDS:
        return None
    pairs: list[tuple[str, str]] = []
    pos = 0
    while text[pos:].strip():
        match = _PAIR.match(text, pos)
        if match is None or match.end() == pos:
            return None
        raw = match.group(2)
        value = raw[1:-1] if raw.startswith("'") else raw
        pairs.append((match.group(1).lower(), re.sub(r"\\(.)", r"\1", value)))
        pos = match.end()
    return pairs


def _looks_like_conninfo(text: str) -> bool:
    """Whether ``text`` holds a libpq ``keyword=value`` pair anywhere (even malformed):
    such a string is never taken as a file name, which could hold its password."""
    return any(
        m.group(1).lower() in _KEYWORDS for m in re.finditer(r"(?:^|\s)([A-Za-z_]+)\s*=", text)
    )


def is_postgres(text: str) -> bool:
    """Whether ``store=text`` names a PostgreSQL server: a ``postgresql://`` or
    ``postgres://`` URL (any case) or a libpq keyword string."""
    url = _url_scheme(text)
    if url is not None:
        return url[0] in _SCHEMES
    return _looks_like_conninfo(text)


def _url_parts(rest: str) -> tuple[str, str, str, list[tuple[str, str]]]:
    """(user, password, host/port/dbname, query pairs) of a URL after its ``://``. The
    credentials end at the last '@', so a password holding '/', '?' or '@' unescaped is
    still counted whole as a secret."""
    user = password = ""
    if "@" in rest:
        credentials, rest = rest.rsplit("@", 1)
        user, _, password = credentials.partition(":")
    rest = rest.split("#", 1)[0]
    where, _, query = rest.partition("?")
    pairs = [
        (unquote(k), unquote(v)) for k, _, v in (p.partition("=") for p in query.split("&") if p)
    ]
    return user, password, where, pairs


def redact(text: str) -> str:
    """``text`` as it may be shown: a server locator without its password or secret
    parameters (a libpq keyword string is shown as the equivalent URL); anything else as
    it is.

    >>> redact("POSTGRESQL://tuner:s3cret@db:5432/studies?sslpassword=x&sslmode=require")
    'postgresql://tuner@db:5432/studies?sslmode=require'
    """
    url = _url_scheme(text)
    if url is not None:
        scheme, rest = url
        scheme = "postgresql" if scheme in _SCHEMES else scheme
        user, _, where, pairs = _url_parts(rest)
        shown = [f"{quote(k)}={quote(v)}" for k, v in pairs if not _SECRET_KEY.search(k)]
        query = "?" + "&".join(shown) if shown else ""
        return f"{scheme}://{user + '@' if user else ''}{where}{query}"
    if not _looks_like_conninfo(text):
        return text
    keywords = _conninfo(text)
    if keywords is None:
        return "postgresql://(an unreadable libpq connection string)"
    found = dict(keywords)
    host = found.pop("host", None) or found.pop("hostaddr", "")
    port = found.pop("port", "")
    user = found.pop("user", "")
    dbname = found.pop("dbname", "")
    netloc = (quote(user) + "@" if user else "") + host + (":" + port if port else "")
    shown = [f"{quote(k)}={quote(v)}" for k, v in found.items() if not _SECRET_KEY.search(k)]
    return (
        f"postgresql://{netloc}" + ("/" + quote(dbname) if dbname else "")
        + ("?" + "&".join(shown) if shown else "")
    )  # fmt: skip


def _secrets_and_names(text: str) -> tuple[list[str], set[str]]:
    """The secrets in a locator (as written and decoded), and its other values: the only
    quoted words a connection error may show."""
    url = _url_scheme(text)
    if url is not None:
        user, password, where, pairs = _url_parts(url[1])
        secrets = [password, unquote(password)]
        secrets += [v for k, v in pairs if _SECRET_KEY.search(k)]
        names = {unquote(user), *(v for k, v in pairs if not _SECRET_KEY.search(k))}
        hosts, _, dbname = where.partition("/")
        names.add(unquote(dbname))
        for host in hosts.split(","):
            name, _, port = host.rpartition(":")
            names.update({host, unquote(name), unquote(name).strip("[]"), port})
    else:
        pairs = _conninfo(text) or []
        secrets = [v for k, v in pairs if _SECRET_KEY.search(k)]
        names = {v for k, v in pairs if not _SECRET_KEY.search(k)}
    # Longest first, so a secret that contains another is replaced whole.
    secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
    return secrets, {n for n in names if n and n not in secrets}


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


# -- the store ---------------------------------------------------------------------------------


class PostgresStore(SQLStore):
    """Studies in a PostgreSQL database, created on first use and versioned.

    >>> store = PostgresStore("postgresql://tuner@db.example:5432/studies")
    """

    # The server's clock, in seconds since the epoch: heartbeats written by workers whose
    # own clocks disagree still compare right.
    _NOW = "EXTRACT(EPOCH FROM clock_timestamp())::float8"

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        super().__init__()
        self.path = redact(url)
        self.read_only = read_only
        self._secrets, self._names_in_url = _secrets_and_names(url)
        scheme = _url_scheme(url)
        # libpq knows the scheme in lower case only.
        self._url = url if scheme is None else f"postgresql://{scheme[1]}"
        if scheme is None and _conninfo(url) is None:
            raise ConfigError(
                f"store={self.path!r}: a libpq connection string must be keyword=value pairs "
                "separated by spaces, a value with spaces in 'single quotes' (or pass a "
                "postgresql://USER@HOST/DATABASE URL)"
            )
        try:
            import psycopg
        except ImportError:
            raise MissingDependency(
                f'store={self.path!r} needs psycopg: pip install "hpdeco[postgres]"'
            ) from None
        self._psycopg = psycopg
        self._xid: int | None = None  # the open write transaction's id, to ask its fate
        try:
            self._new_connection()
        except psycopg.Error as exc:
            raise StoreError(
                f"store={self.path!r} cannot be reached: {self._connect_error(exc)}"
            ) from None
        try:
            self._open()
        except BaseException:
            self._conn.close()
            raise

    def locator(self) -> str:
        return self._url

    def reopen(self) -> PostgresStore:
        return PostgresStore(self._url, read_only=self.read_only)

    # -- the connection -----------------------------------------------------------------------

    def _new_connection(self) -> None:
        self._conn = self._psycopg.connect(
            self._url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            # Names hpdeco's sessions in pg_stat_activity unless the locator or PGAPPNAME does.
            fallback_application_name="hpdeco",
        )

    def _close_connection(self) -> None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close
            self._conn.close()

    def _lost(self, error: Exception) -> bool:
        # psycopg marks the connection closed when the session itself is gone (terminated,
        # timed out, server down); other errors leave it usable.
        return isinstance(error, self._psycopg.OperationalError) and bool(self._conn.closed)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    def _connect_error(self, error: Exception) -> str:
        """libpq's reason a connection failed, with only the locator's plain values (host,
        user, database...) left inside its quotes: libpq may cut a malformed URL elsewhere
        than we do and quote a piece of the password."""
        text = _QUOTED.sub(
            lambda m: m.group(0) if m.group(0)[1:-1] in self._names_in_url else '"***"',
            str(error).strip(),
        )
        return self._scrub(" ".join(text.split()))

    def _run(self, sql: str, params: Any = ()) -> Any:
        sql = sql.replace("?", "%s")
        if self._writing:  # inside a transaction, which retries as a whole
            return self._conn.execute(sql, params)
        return self._read(lambda: self._conn.execute(sql, params))

    def _read(self, query: Any) -> Any:
        """Run a statement outside any transaction (a read): on a fresh connection again
        if the session was lost; any other driver error becomes a StoreError."""
        for attempt in range(RECONNECTS + 1):
            try:
                return query()
            except self._psycopg.Error as exc:
                if not self._lost(exc):
                    raise StoreError(
                        f"store={self.path!r}: a read failed ({self._scrub(str(exc).strip())})"
                    ) from None
                if attempt == RECONNECTS:
                    raise self._lost_again(exc) from None
                self._reconnect(exc)  # bounded: raises StoreError when the server stays away
        raise AssertionError("unreachable")

    def _run_many(self, sql: str, rows: list[Any]) -> None:
        if rows:
            with self._conn.cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), rows)

    # -- transactions -------------------------------------------------------------------------

    def _begin(self) -> None:
        # One round trip: the transaction starts and names its id, which a lost COMMIT
        # is later looked up by.
        cursor = self._conn.execute("BEGIN; SELECT txid_current()")
        cursor.nextset()
        self._xid = int(cursor.fetchone()[0])

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    def _in_transaction(self) -> bool:
        status = self._conn.info.transaction_status
        pq = self._psycopg.pq.TransactionStatus
        return status in (pq.INTRANS, pq.INERROR)

    def _committed(self) -> bool | None:
        """Whether the transaction whose COMMIT was lost did commit, asked on the fresh
        connection; None if the server cannot tell."""
        deadline = time.monotonic() + COMMIT_CHECK_S
        try:
            while True:
                (status,) = self._conn.execute("SELECT txid_status(%s)", (self._xid,)).fetchone()
                # 'in progress': the old session has not finished ending yet.
                if status != "in progress" or time.monotonic() > deadline:
                    return {"committed": True, "aborted": False}.get(status)
                time.sleep(0.05)
        except self._psycopg.Error:
            return None

    def _transient(self, error: Exception) -> bool:
        errors = self._psycopg.errors
        return isinstance(
            error, (errors.SerializationFailure, errors.DeadlockDetected, errors.LockNotAvailable)
        )

    def _is_db_error(self, error: Exception) -> bool:
        return isinstance(error, self._psycopg.Error)

    def _explain(self, error: Exception) -> str:
        if isinstance(error, self._psycopg.errors.DiskFull):
            return "; the database server's disk is full: free space there and run again"
        return ""

    def _lock_study(self, study_id: int) -> None:
        row = self._run("SELECT id FROM studies WHERE id = ? FOR UPDATE", (study_id,)).fetchone()
        if row is None:
            raise StudyNotFound(self._deleted(study_id))

    # -- the schema ---------------------------------------------------------------------------

    def _open(self) -> None:
        if self._run("SELECT to_regclass('hpdeco_meta')").fetchone()[0] is None:
            # A session lock, taken outside any transaction, so the checks below read what
            # a worker that created the schema meanwhile has committed.
            self._run("SELECT pg_advisory_lock(?)", (_SCHEMA_LOCK,))
            try:
                self._create_if_missing()
            finally:
                self._run("SELECT pg_advisory_unlock(?)", (_SCHEMA_LOCK,))
        version = self._version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store={self.path!r} was written by a newer hpdeco (schema {version}, this "
                f"hpdeco reads up to {SCHEMA_VERSION}); upgrade hpdeco to open it"
            )
        if version < SCHEMA_VERSION and not self.read_only:
            self._transaction(self._migrate)
            version = SCHEMA_VERSION
        self.schema = version

    def _version(self) -> int:
        row = self._run("SELECT value FROM hpdeco_meta WHERE key = 'schema_version'").fetchone()
        return int(row[0])

    def _migrate(self) -> None:
        # Under a lock on the version row: one worker migrates, the others then see it done.
        self._run("SELECT value FROM hpdeco_meta WHERE key = 'schema_version' FOR UPDATE")
        for statement in migrations(self._version()):
            self._run(statement)
        self._run(
            "UPDATE hpdeco_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
        )

    def _create_if_missing(self) -> None:
        if self._run("SELECT to_regclass('hpdeco_meta')").fetchone()[0] is not None:
            return  # another worker created it while we waited for the lock
        if self._run("SELECT to_regclass('studies')").fetchone()[0] is not None:
            raise StoreError(
                f"store={self.path!r} has a 'studies' table that hpdeco did not create; "
                "use another database or schema so nothing in it is touched"
            )
        if self.read_only:
            raise StoreError(f"store={self.path!r} holds no hpdeco store; run a search first")
        self._transaction(self._create_schema)

    def _create_schema(self) -> None:
        for statement in statements("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"):
            self._run(statement)
        self._run(META_TABLE)
        self._run(
            "INSERT INTO hpdeco_meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )


__all__ = ["PostgresStore", "StudyRow", "is_postgres", "redact"]
