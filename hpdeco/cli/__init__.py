"""The ``hpdeco`` command: look at, export, plot and delete the studies of a store.

::

    hpdeco studies                          # every study in ./hpdeco.db
    hpdeco trials quickstart --state COMPLETE --sort value --limit 5
    hpdeco best quickstart                  # the best trial, its parameters as a dict
    hpdeco show quickstart 7                # one trial, epoch by epoch
    hpdeco export quickstart --format csv --out trials.csv
    hpdeco plot quickstart --out figures/   # PNGs (pip install "hpdeco[plot]")
    hpdeco tensorboard quickstart --logdir tb/   # for TensorBoard's HParams dashboard
    hpdeco delete quickstart                # asks first, unless --yes

Every command takes ``--store PATH`` (default ``hpdeco.db``, or a ``postgresql://`` URL).
Reading commands never create a store. Errors print one line and exit with status 1
(2 for a malformed command line).

The package, by what each part does: this module parses the command line and runs a
command (:func:`main`); :mod:`~hpdeco.cli.reading` holds the commands that only read,
:mod:`~hpdeco.cli.writing` those that write files or delete; :mod:`~hpdeco.cli.options`
what they share (opening the store, ``--state``, refusing to write over a store), and
:mod:`~hpdeco.cli.text` how they print (tables, and escaping what the store holds).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from hpdeco.cli.options import CommandError, open_existing_store, store_path
from hpdeco.cli.reading import (
    SORT_KEYS,
    cmd_best,
    cmd_pareto,
    cmd_show,
    cmd_studies,
    cmd_trials,
)
from hpdeco.cli.text import EscapedStream, escape, fmt, fmt_duration, fmt_time, table
from hpdeco.cli.writing import cmd_delete, cmd_export, cmd_plot, cmd_tensorboard
from hpdeco.dashboard.command import add_arguments as add_dashboard_arguments
from hpdeco.dashboard.command import cmd_dashboard
from hpdeco.errors import HpdecoError

EPILOG = "Every command takes --store PATH (default: hpdeco.db in the current folder)."


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _trial_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a trial number (a whole number, as `hpdeco trials` lists them)"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: trial numbers start at 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``hpdeco`` argument parser (every subcommand, with its help).

    >>> build_parser().parse_args(["trials", "quickstart", "--limit", "5"]).limit
    5
    """
    from hpdeco import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        metavar="PATH",
        help="the store: a SQLite file (default: hpdeco.db here) or a postgresql:// URL",
    )
    study = argparse.ArgumentParser(add_help=False)
    study.add_argument("study", metavar="STUDY", help="the study's name (see `hpdeco studies`)")

    parser = _Parser(
        prog="hpdeco",
        description="Look at, export, plot and delete the studies kept by hpdeco.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"hpdeco {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, func: Any, help_: str, parents: list[Any], **kw: Any) -> Any:
        p = sub.add_parser(name, parents=parents, help=help_, description=help_, **kw)
        p.set_defaults(func=func)
        return p

    add(
        "studies",
        cmd_studies,
        "list the studies: objective, trials by state, best, last activity",
        [common],
    )

    p = add(
        "trials",
        cmd_trials,
        "a table of a study's trials: value, epochs, duration and parameters",
        [study, common],
    )
    p.add_argument(
        "--state",
        action="append",
        metavar="STATE",
        help="only trials in this state (COMPLETE, PRUNED, FAIL, RUNNING, WAITING); "
        "comma-separated or repeated for several",
    )
    p.add_argument(
        "--sort",
        default="number",
        metavar="KEY",
        help="order by number (default), value (best first), duration, epochs, "
        "state, or a parameter's name",
    )
    p.add_argument("--reverse", action="store_true", help="reverse the order")
    p.add_argument("--limit", type=_positive_int, metavar="N", help="show the first N only")

    add(
        "best",
        cmd_best,
        "the best trial: value, parameters (also as a Python dict), epochs, where its weights are",
        [study, common],
    )

    add(
        "pareto",
        cmd_pareto,
        "the Pareto front of a study of several objectives: each trial's values and parameters",
        [study, common],
    )

    p = add("show", cmd_show, "one trial with its metrics epoch by epoch", [study, common])
    p.add_argument("number", type=_trial_number, metavar="N", help="the trial's number")
    p.add_argument("--traceback", action="store_true", help="print a failed trial's traceback")

    p = add(
        "export",
        cmd_export,
        "one row per trial (parameters, value, state, timings) as CSV or JSON",
        [study, common],
    )
    p.add_argument(
        "--format",
        choices=("csv", "json"),
        help="csv (default) or json; inferred from --out's extension",
    )
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace --out if it exists (never a store or another SQLite database)",
    )
    p.add_argument("--state", action="append", metavar="STATE", help="only trials in this state")
    p.add_argument(
        "--metrics",
        action="store_true",
        help="(json) add every trial's per-epoch metrics under 'history'",
    )

    p = add(
        "plot",
        cmd_plot,
        "write PNG figures: optimisation history, learning curves, "
        "parameters against the value, parallel coordinates, parameter importance",
        [study, common],
    )
    p.add_argument("--out", required=True, metavar="DIR", help="the folder for the PNG files")
    p.add_argument(
        "--metric",
        metavar="NAME",
        help="the metric of the learning curves (default: the objective)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace PNG files already in --out (never a store or another SQLite database)",
    )

    p = add(
        "tensorboard",
        cmd_tensorboard,
        "write a study's trials as TensorBoard logs, for "
        'its HParams dashboard (pip install "hpdeco[tensorboard]")',
        [study, common],
    )
    p.add_argument("--logdir", required=True, metavar="DIR", help="TensorBoard's log folder")

    p = add(
        "delete", cmd_delete, "delete a study with all its trials (asks first)", [study, common]
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.add_argument(
        "--force",
        action="store_true",
        help="delete even while trials are running (their workers then fail)",
    )
    add_dashboard_arguments(
        add("dashboard", cmd_dashboard, "a live, read-only page of the studies", [common])
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hpdeco`` command; returns the exit status.

    >>> main(["trials", "quickstart", "--store", "runs/hpdeco.db", "--limit", "3"])
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    out = EscapedStream(sys.stdout)
    with warnings.catch_warnings():
        # A warning (such as a store read as a snapshot) is one escaped line, as errors are.
        warnings.showwarning = functools.partial(_note, args.command)
        warnings.simplefilter("always", UserWarning)  # every run says it, not only the first
        args.opened = contextlib.ExitStack()  # the stores the command opens, closed here
        try:
            with args.opened:
                return int(args.func(args, out) or 0)
        except HpdecoError as exc:
            print(escape(f"hpdeco {args.command}: error: {exc}"), file=sys.stderr)
            return 1
        except BrokenPipeError:  # `hpdeco trials x | head`
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
        except KeyboardInterrupt:
            print(file=sys.stderr)
            return 130
        except Exception as exc:
            if not _from_database(exc):
                raise
            # What the store's driver raised past hpdeco's own checks: still one line.
            text = " ".join(str(exc).split()) or type(exc).__name__
            print(
                escape(
                    f"hpdeco {args.command}: error: store={store_path(args)!r}: {text} "
                    f"({type(exc).__module__}.{type(exc).__name__}); check that it is an "
                    "hpdeco store that can be read"
                ),
                file=sys.stderr,
            )
            return 1


def _from_database(error: BaseException) -> bool:
    """Whether ``error`` comes from SQLite or psycopg (the drivers under the stores)."""
    return any(
        cls.__module__.split(".")[0] in ("sqlite3", "psycopg") for cls in type(error).__mro__
    )


def _note(command: str, message: Any, *_: Any, **__: Any) -> None:
    print(escape(f"hpdeco {command}: note: {message}"), file=sys.stderr)


__all__ = [
    "EPILOG",
    "SORT_KEYS",
    "CommandError",
    "build_parser",
    "escape",
    "fmt",
    "fmt_duration",
    "fmt_time",
    "main",
    "open_existing_store",
    "table",
]
