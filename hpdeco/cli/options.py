"""What the ``hpdeco`` commands share: the error they print, the store they open (never
creating one), the study they load, ``--state``, and the files they refuse to write over.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from hpdeco.errors import HpdecoError
from hpdeco.records import TrialState


class CommandError(HpdecoError):
    """A command cannot do what was asked; printed as one line, exit status 1.

    >>> raise CommandError("no store at 'hpdeco.db': run a search first")
    """


def store_path(args: argparse.Namespace) -> str:
    """The store named by ``--store``: the default file when absent, ``~`` expanded in a
    path, a ``postgresql://`` URL as given; an empty value is an error."""
    from hpdeco.store import DEFAULT_PATH, is_postgres

    given: str | None = args.store
    if given is None:
        return DEFAULT_PATH
    if not given.strip():
        raise CommandError(
            f"--store {given!r} is empty; pass the path of a store (default: "
            f"{DEFAULT_PATH}) or a postgresql:// URL"
        )
    return given if is_postgres(given) else os.path.expanduser(given)


def open_existing_store(path: str, *, read_only: bool = True) -> Any:
    """Open the store at ``path`` without ever creating one (a missing file is an error).

    >>> store = open_existing_store("hpdeco.db")
    """
    from hpdeco.store import is_postgres, open_store

    if (
        not is_postgres(path)
        and path != ":memory:"
        and not path.lower().startswith("file:")
        and not Path(path).exists()
    ):
        raise CommandError(
            f"no store at {path!r}: run a search first, or pass --store PATH to an existing one"
        )
    return open_store(path, read_only=read_only)


def store_of(args: argparse.Namespace, *, read_only: bool = True) -> Any:
    """The store named by ``--store``, never created; :func:`hpdeco.cli.main` closes it
    when the command ends (``args.opened``, an ExitStack, holds what was opened)."""
    store = open_existing_store(store_path(args), read_only=read_only)
    args.opened.callback(store.close)
    return store


def study_of(args: argparse.Namespace) -> Any:
    """The study named on the command line, from its existing store, opened read-only."""
    from hpdeco.study import load_study

    return load_study(args.study, store=store_of(args))


def direction_words(study: Any) -> str:
    """``val_accuracy (max)``: the objective and which way is better (each, when there are
    several)."""
    listed = getattr(study, "objectives", ())
    if len(listed) > 1:
        return ", ".join(f"{name} ({direction})" for name, direction in listed)
    return f"{study.objective} ({study.direction})"


def chosen_states(values: list[str] | None) -> list[str] | None:
    """The states named by ``--state`` (repeated or comma-separated, any case), checked;
    None when the option is absent (every state)."""
    if not values:
        return None
    chosen = [v.strip().upper() for value in values for v in value.split(",") if v.strip()]
    known = {s.value for s in TrialState}
    for state in chosen:
        if state not in known:
            raise CommandError(
                f"--state {state!r} is not a trial state; use one of "
                f"{', '.join(s.value for s in TrialState)} (comma-separated for several)"
            )
    return chosen


_SQLITE_HEADER = b"SQLite format 3\x00"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_target(target: Path, args: argparse.Namespace, option: str) -> None:
    """Refuse to write ``target`` over the store (or its -wal, -shm, -journal files), over
    any SQLite database, over a folder, or over any other existing file unless --force."""
    from hpdeco.store import is_postgres

    store = store_path(args)
    if not is_postgres(store) and store != ":memory:":
        own = [Path(store + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
        if any(_same_file(target, f) or target.resolve() == f.resolve() for f in own):
            raise CommandError(
                f"{option} {str(target)!r} is the store itself ({store}): writing there would "
                "destroy every study in it; pass another file"
            )
    if not os.path.lexists(target):
        return
    if target.is_dir():
        raise CommandError(f"{option} {str(target)!r} is a folder; pass a file name")
    try:
        with open(target, "rb") as file:
            header = file.read(len(_SQLITE_HEADER))
    except OSError:
        header = b""
    if header == _SQLITE_HEADER:
        raise CommandError(
            f"{option} {str(target)!r} is a SQLite database (a store?); hpdeco never writes "
            "over one, even with --force: pass another file"
        )
    if not args.force:
        raise CommandError(
            f"{option} {str(target)!r} already exists; pass --force to replace it, or another path"
        )
