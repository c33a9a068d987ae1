"""Start a throwaway PostgreSQL cluster on loopback (tests and benchmarks).

Uses Debian's server binaries (``apt-get install postgresql``). As root, the cluster runs
as the ``postgres`` account, since ``initdb`` refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator


class MissingServer(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


# The one role that must give its password (everyone else is trusted on loopback): for the
# tests that check a password never shows. Create it with CREATE ROLE ... LOGIN PASSWORD.
PASSWORD_ROLE = "hpdeco_pw"


def bindir() -> str:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    found.sort(key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb is None:
        raise MissingServer(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed: "
            "apt-get install postgresql"
        )
    return os.path.dirname(initdb)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_postgres(max_connections: int = 60) -> Iterator[str]:
    """Yield the admin URL of a fresh cluster; stop and delete it afterwards."""
    binaries = bindir()
    root = tempfile.mkdtemp(prefix="hpdeco-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = os.path.join(root, "data"), os.path.join(root, "log")
    port = _free_port()
    try:
        subprocess.run(
            [
                *as_user,
                f"{binaries}/initdb",
                "-D",
                data,
                "-A",
                "trust",
                "-U",
                "hpdeco",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )
        hba = os.path.join(data, "pg_hba.conf")
        with open(hba) as f:
            rules = f.read()
        with open(hba, "w") as f:  # the first matching line wins
            f.write(f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n{rules}")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
            f"-c synchronous_commit=off -c max_connections={max_connections}"
        )
        subprocess.run(
            [*as_user, f"{binaries}/pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://hpdeco@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, f"{binaries}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def stop(url: str) -> None:
    """Stop the server of admin ``url`` now (a server going down in the middle of a study);
    ``throwaway_postgres`` still deletes it afterwards."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        data = conn.execute("SHOW data_directory").fetchone()[0]
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(
        [*as_user, f"{bindir()}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"],
        check=True,
        capture_output=True,
    )
