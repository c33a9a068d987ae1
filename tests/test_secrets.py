"""No password or secret parameter of a store's URL or libpq string shows anywhere: messages,
exceptions, repr, summaries, warnings, progress bars, file names or the store itself. Run
against a real server with a role that must give its password."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from pgserver import PASSWORD_ROLE

import hpdeco
from hpdeco import ConfigError, HpdecoError, StoreError, TrialState, hp
from hpdeco.store import open_store

# Characters a URL must escape, so the written and the decoded forms both count.
PASSWORD = "Xyzzy:Pl/ugh@42?s3cr3t"
WRITTEN = quote(PASSWORD, safe="")
PIECES = ("Xyzzy", "Pl/ugh", "s3cr3t", WRITTEN)


def leaks(text: str) -> list[str]:
    return [p for p in (PASSWORD, *PIECES) if p in text]


@pytest.fixture
def server(postgres_server: str) -> dict[str, str]:
    """A database owned by a role that logs in with PASSWORD (scram, over loopback)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PASSWORD_ROLE,))
        verb = "ALTER" if exists.fetchone() else "CREATE"
        conn.execute(f"{verb} ROLE {PASSWORD_ROLE} WITH LOGIN PASSWORD '{PASSWORD}'")
        conn.execute(f"CREATE DATABASE {name} OWNER {PASSWORD_ROLE}")
    host_port = postgres_server.split("@", 1)[1].rsplit("/", 1)[0]
    host, port = host_port.split(":")
    return {"host": host, "port": port, "dbname": name}


def url(server: dict[str, str], password: str = WRITTEN, scheme: str = "postgresql") -> str:
    return (
        f"{scheme}://{PASSWORD_ROLE}:{password}@{server['host']}:{server['port']}/"
        f"{server['dbname']}"
    )


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    names = [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")]
    assert not [n for n in names if leaks(n)], names  # no file named after the password


def run(store: str, capsys: pytest.CaptureFixture[str]) -> str:
    """A search of 3 trials with a progress bar, then everything it shows of itself."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with hpdeco.search(objective="loss", max_trials=3, store=store, study="s", verbose=2) as s:
            for trial in s:
                with trial:
                    x = hp.Float("x", 0.0, 1.0)
                    trial.report(x, 1)
                    if trial.number == 2:
                        raise RuntimeError("a failed trial, logged")
        # A second run with another objective warns or refuses, naming the store.
        try:
            with hpdeco.search(objective="acc", max_trials=3, store=store, study="s", verbose=0):
                pass
        except HpdecoError as exc:
            refused = str(exc)
    study = hpdeco.load_study("s", store=store)
    assert [r.state for r in study.trials].count(TrialState.COMPLETE) == 2
    shown = [
        refused,
        study.summary(),
        str(study),
        repr(study),
        repr(study.store),
        str(study.store.path),
        repr(s.study.store),
        *(str(w.message) for w in caught),
        *capsys.readouterr(),
    ]
    return "\n".join(shown)


def stored_text(store: str) -> str:
    """Every value the store's tables hold, as text."""
    opened = open_store(store)
    tables = ("studies", "trials", "params", "metrics")
    return "\n".join(
        str(opened._run(f"SELECT * FROM {table}").fetchall()) for table in tables
    ) + str(opened._run("SELECT * FROM hpdeco_meta").fetchall())


def test_a_password_in_the_url_shows_nowhere(server, workdir, capsys) -> None:
    store = url(server)
    shown = run(store, capsys)
    assert f"postgresql://{PASSWORD_ROLE}@{server['host']}" in shown
    assert leaks(shown) == [] and leaks(stored_text(store)) == []


def test_upper_case_and_short_schemes_are_accepted(server, workdir, capsys) -> None:
    for scheme in ("POSTGRESQL", "Postgres", "postgres"):
        store = url(server, scheme=scheme)
        assert open_store(store).path == f"postgresql://{PASSWORD_ROLE}@" + store.split("@")[1]
    shown = run(url(server, scheme="POSTGRESQL"), capsys)
    assert leaks(shown) == []


def test_a_libpq_keyword_string_is_a_server_not_a_file(server, workdir, capsys) -> None:
    store = (
        f"host={server['host']} port={server['port']} user={PASSWORD_ROLE} "
        f"password='{PASSWORD}' dbname={server['dbname']}"
    )
    assert open_store(store).path == (
        f"postgresql://{PASSWORD_ROLE}@{server['host']}:{server['port']}/{server['dbname']}"
    )
    shown = run(store, capsys)
    assert leaks(shown) == [] and leaks(stored_text(store)) == []
    # A child process opens it again from the full string (as isolate=True does).
    child = subprocess.run(
        [sys.executable, "-c", CHILD, store],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    assert child.returncode == 0 and child.stdout.split() == ["3"], child.stderr


CHILD = "import sys, hpdeco; print(len(hpdeco.load_study('s', store=sys.argv[1]).trials))"


def test_the_command_reads_a_libpq_string_without_showing_its_password(
    server, workdir, capsys
) -> None:
    from hpdeco.cli import main

    store = (
        f"host={server['host']} port={server['port']} user={PASSWORD_ROLE} "
        f"password='{PASSWORD}' dbname={server['dbname']}"
    )
    run(store, capsys)
    assert main(["studies", "--store", store]) == 0
    assert main(["export", "s", "--store", store, "--format", "json"]) == 0
    assert main(["show", "nosuch", "0", "--store", store]) != 0  # an error naming the store
    out, err = capsys.readouterr()
    assert "'s'" in out or " s " in out or "\ns" in out
    assert leaks(out + err) == [], out + err


def test_secret_query_parameters_are_redacted(server, workdir, capsys) -> None:
    base = url(server).replace(f":{WRITTEN}@", "@")
    store = f"{base}?password={WRITTEN}&sslmode=disable&sslpassword=Xyzzy"
    assert open_store(store).path == f"{base}?sslmode=disable"
    shown = run(store, capsys)
    assert leaks(shown) == [] and leaks(stored_text(store)) == []


@pytest.mark.parametrize(
    "case",
    [
        "wrong password",
        "unreachable host",
        "space in the password",
        "slash in the password",
        "bad port",
        "bad keyword string",
        "unknown scheme",
        "scheme without //",
        "no scheme",
    ],
)
def test_errors_never_show_the_password(server, workdir, case: str) -> None:
    good = url(server)
    stores = {
        "wrong password": url(server, password="Xyzzy-wrong-s3cr3t"),
        "unreachable host": good.replace(f"@{server['host']}:{server['port']}", "@127.0.0.1:1"),
        "space in the password": url(server, password="Xyzzy Plugh s3cr3t"),
        "slash in the password": url(server, password="Xyzzy/Pl/ugh"),
        "bad port": good.replace(f":{server['port']}/", ":notaport/"),
        "bad keyword string": f"dbname=x user={PASSWORD_ROLE} password='{PASSWORD}' Xyzzy",
        "unknown scheme": good.replace("postgresql://", "mysql://"),
        "scheme without //": good.replace("postgresql://", "postgresql:/"),
        "no scheme": good.replace("postgresql://", ""),
    }
    with pytest.raises(HpdecoError) as raised:
        with hpdeco.search(objective="loss", max_trials=1, store=stores[case], verbose=0) as s:
            for trial in s:
                trial.report(0.5, 1)
    message = str(raised.value)
    assert isinstance(raised.value, (StoreError, ConfigError))
    assert leaks(message) == [] and leaks(repr(raised.value)) == [], message
    assert list(workdir.iterdir()) == []  # no SQLite file (or folder) was made of it


def test_redact_keeps_everything_but_the_secrets() -> None:
    from hpdeco.store import redact

    assert redact("postgres://tuner:pw@db:5432/studies?sslmode=require&sslpassword=k") == (
        "postgresql://tuner@db:5432/studies?sslmode=require"
    )
    assert redact("runs/hpdeco.db") == "runs/hpdeco.db"
    assert redact("host=db user=tuner password='a b' dbname=s") == "postgresql://tuner@db/s"
