"""The ``hpdeco`` command closes every store it opens: run in-process (``main()`` from
Python, as the tests and a notebook do), it leaves no connection to the store behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import report_loop, run_cli


def open_files(path: str) -> list[str]:
    """The files of the store at ``path`` (with -wal, -shm) this process holds open."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed since listed (the listing's own descriptor)
            continue
        if target.startswith(path):
            held.append(target)
    return held


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
@pytest.mark.parametrize(
    "argv",
    [
        ["studies"],
        ["trials", "s"],
        ["best", "s"],
        ["show", "s", "0"],
        ["export", "s"],
        ["best", "nope"],  # an error: the store was opened all the same
        ["delete", "s", "--yes"],
    ],
)
def test_every_command_closes_the_stores_it_opened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    db = str(tmp_path / "hpdeco.db")
    report_loop(db, 2).close()
    assert open_files(db) == []
    code, _, err = run_cli(capsys, *argv, "--store", db)
    assert code == (1 if "nope" in argv else 0), err
    assert open_files(db) == []
