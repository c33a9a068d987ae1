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
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import functools
import io
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from hpdeco import analysis
from hpdeco.errors import HpdecoError
from hpdeco.records import TrialRecord, TrialState

EPILOG = "Every command takes --store PATH (default: hpdeco.db in the current folder)."


class CommandError(HpdecoError):
    """A command cannot do what was asked; printed as one line, exit status 1.

    >>> raise CommandError("no store at 'hpdeco.db': run a search first")
    """


# -- formatting -------------------------------------------------------------------------------


def fmt(value: Any, digits: int = 6) -> str:
    """A cell of a table: numbers to ``digits`` significant digits, None as ``-``.

    >>> fmt(0.000123456789), fmt(None), fmt(True)
    ('0.000123457', '-', 'True')
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.{digits}g}"
    return str(value)


def fmt_duration(seconds: float | None) -> str:
    """``0.4s``, ``12.3s``, ``4m05s``, ``2h03m``; ``-`` when unknown.

    >>> fmt_duration(245.2)
    '4m05s'
    """
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def fmt_time(ts: float | None) -> str:
    """A local date and time to the minute, ``-`` when unknown.

    >>> fmt_time(1767225600.0)
    '2026-01-01 00:00'
    """
    if ts is None:
        return "-"
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int] = frozenset()
) -> str:  # type: ignore[assignment]
    """A plain-text table: columns padded to their widest cell, ``right`` ones right-aligned.

    >>> print(table(["#", "state"], [["0", "COMPLETE"]], right={0}))
    #  state
    0  COMPLETE
    """
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


# Characters that would act on a terminal instead of being shown: C0 and C1 controls (ANSI
# escape sequences start with ESC), DEL, and the invisible ones that reorder or hide text
# (bidi overrides and isolates, marks, line separators, zero-width and tag characters).
def _unsafe(char: str) -> bool:
    return not char.isprintable() and char not in "\n "


def _escape_char(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return {"\t": "\\t", "\r": "\\r"}.get(char, f"\\x{code:02x}")
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    # A surrogate pair, as JSON writes it: the JSON export to standard output stays valid.
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def escape(text: str) -> str:
    """``text`` safe to print on a terminal: control and invisible formatting characters
    (ANSI escapes, NUL, right-to-left overrides...) are written as escapes such as ``\\x1b``
    and ``\\u202e``; newlines are kept (a traceback keeps its lines).

    >>> print(escape("loss" + chr(27) + "[2J" + chr(0x202E)))
    loss\\x1b[2J\\u202e
    """
    if text.isprintable() and "\n" not in text:
        return text
    return "".join(_escape_char(c) if _unsafe(c) else c for c in text)


class _Escaped(io.TextIOBase):
    """Standard output or error with :func:`escape` applied to everything written: names,
    values, reasons and tracebacks come from the store, which anyone may have written."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(escape(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def writable(self) -> bool:
        return True


def _short(text: str | None, width: int = 50) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


# -- opening ----------------------------------------------------------------------------------


def _store_path(args: argparse.Namespace) -> str:
    from hpdeco.store import DEFAULT_PATH

    if args.store is None:
        return DEFAULT_PATH
    if not args.store.strip():
        raise CommandError(
            f"--store {args.store!r} is empty; pass the path of a store (default: "
            f"{DEFAULT_PATH}) or a postgresql:// URL"
        )
    from hpdeco.store import is_postgres

    return args.store if is_postgres(args.store) else os.path.expanduser(args.store)


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


def _load(args: argparse.Namespace) -> Any:
    from hpdeco.study import load_study

    path = _store_path(args)
    return load_study(args.study, store=open_existing_store(path))


def _direction_words(study: Any) -> str:
    return f"{study.objective} ({study.direction})"


# -- commands ---------------------------------------------------------------------------------


def _cmd_studies(args: argparse.Namespace, out: TextIO) -> int:
    path = _store_path(args)
    store = open_existing_store(path)
    rows = []
    for row in store.studies():
        seen = store.overview(row.id, row.direction)
        rows.append(
            [
                row.name,
                _direction_words(row),
                str(sum(seen.counts.values())),
                *(
                    str(seen.counts.get(s, 0))
                    for s in (
                        TrialState.COMPLETE,
                        TrialState.PRUNED,
                        TrialState.FAIL,
                        TrialState.RUNNING,
                    )
                ),
                "-" if seen.best is None else f"{fmt(seen.best[1])} (#{seen.best[0]})",
                fmt_time(seen.last_activity or row.created_at),
            ]
        )
    if not rows:
        print(f"store {path!r} holds no study yet", file=out)
        return 0
    headers = [
        "study",
        "objective",
        "trials",
        "COMPLETE",
        "PRUNED",
        "FAIL",
        "RUNNING",
        "best",
        "last activity",
    ]
    print(table(headers, rows, right={2, 3, 4, 5, 6}), file=out)
    return 0


SORT_KEYS = ("number", "value", "duration", "epochs", "state")


def _sorter(study: Any, key: str, names: list[str]) -> Callable[[TrialRecord], Any]:
    if key == "number":
        return lambda t: t.number
    if key == "state":
        return lambda t: (list(TrialState).index(t.state), t.number)
    if key == "value":
        sign = -1.0 if study.direction == "max" else 1.0

        def by_value(t: TrialRecord) -> Any:
            ok = t.value is not None and math.isfinite(t.value)
            # COMPLETE first (best first), then PRUNED by value, then the rest.
            rank = 0 if t.state is TrialState.COMPLETE and ok else 1 if ok else 2
            return (rank, sign * t.value if ok else 0.0, t.number)  # type: ignore[operator]

        return by_value
    if key == "duration":
        return lambda t: (t.duration is None, t.duration or 0.0, t.number)
    if key == "epochs":
        return lambda t: (analysis.steps_run(t), t.number)
    if key in names:

        def by_param(t: TrialRecord) -> Any:
            v = t.params.get(key)
            return (v is None, (0, v) if isinstance(v, (int, float)) else (1, repr(v)), t.number)

        return by_param
    raise CommandError(
        f"--sort {key!r} is not a column; use one of {', '.join(SORT_KEYS)}"
        + (f" or a parameter ({', '.join(names)})" if names else "")
    )


def _states(values: list[str] | None) -> list[str] | None:
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


def _cmd_trials(args: argparse.Namespace, out: TextIO) -> int:
    study = _load(args)
    every = study.trials
    trials = analysis.select(study, _states(args.state))
    names = analysis.param_names(every)
    trials = sorted(trials, key=_sorter(study, args.sort, names), reverse=args.reverse)
    if args.limit is not None:
        trials = trials[: args.limit]
    found = analysis.describe_counts(analysis.counts(every))
    print(
        f"study {study.name!r}: {_direction_words(study)}, {len(every)} trials"
        + (f" ({found})" if found else ""),
        file=out,
    )
    if not trials:
        print("no trial matches" if every else "no trial yet", file=out)
        return 0
    shown = [n for n in names if any(n in t.params for t in trials)]
    notes = any(t.reason for t in trials)
    headers = ["#", "state", "value", "epochs", "duration", *shown, *(["note"] if notes else [])]
    rows = []
    for t in trials:
        rows.append(
            [
                str(t.number),
                t.state.value,
                fmt(t.value),
                str(analysis.steps_run(t)),
                fmt_duration(t.duration),
                *(fmt(t.params[n], 4) if n in t.params else "-" for n in shown),
                *([_short(t.reason)] if notes else []),
            ]
        )
    print(table(headers, rows, right={0, 2, 3, 4}), file=out)
    return 0


def _weights_file(study: Any, number: int) -> Path | None:
    try:
        from hpdeco.weights import WeightKeeper
    except ImportError:  # pragma: no cover - an hpdeco without weight keeping
        return None
    path = WeightKeeper(study, 0).path(number)
    return path if path is not None and path.exists() else None


def _where(study: Any, record: TrialRecord) -> str:
    """Where the trial's value came from: ``, at epoch 4 of 10``, or, for a value the trial
    set itself, that it is not one of the epochs' values."""
    step = analysis.value_step(record, study.settings.get("trial_value"))
    epochs = analysis.steps_run(record)
    if step is not None:
        return f", at epoch {step} of {epochs}"
    reported = f"; {epochs} epochs reported" if epochs else ""
    return f", set by the trial itself (not a reported epoch's value{reported})"


def _cmd_best(args: argparse.Namespace, out: TextIO) -> int:
    study = _load(args)
    trials = study.trials
    best = study.best
    found = analysis.describe_counts(analysis.counts(trials))
    if best is None:
        raise CommandError(
            f"study {study.name!r} has no COMPLETE trial yet"
            + (f" ({found})" if found else " (no trial at all)")
        )
    print(f"study {study.name!r}: best of {len(trials)} trials ({found})", file=out)
    print(
        f"trial {best.number}: {study.objective} = {fmt(best.value, 8)} ({study.direction})"
        f"{_where(study, best)}, {fmt_duration(best.duration)}",
        file=out,
    )
    if best.reason:
        print(f"note: {best.reason}", file=out)
    params = dict(best.params)
    if params:
        print("\nparameters:", file=out)
        width = max(len(n) for n in params)
        for name, value in params.items():
            print(f"  {name.ljust(width)}  {value!r}", file=out)
    print("\nas a Python dict:", file=out)
    print(f"params = {params!r}", file=out)
    weights = _weights_file(study, best.number)
    if weights is not None:
        print(f"\nweights: {weights}", file=out)
        print(
            "the trained model, in Python:\n"
            f"  study = hpdeco.load_study({study.name!r}, store={study.store.path!r})\n"
            "  model = hpdeco.weights.best_model(study, build_model)",
            file=out,
        )
    else:
        print(
            "\nweights: none kept for this trial (they are kept when the search runs with "
            "keep_best >= 1 and fit gets callbacks=trial.callbacks())",
            file=out,
        )
    return 0


def _cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    study = _load(args)
    record = next((t for t in study.trials if t.number == args.number), None)
    if record is None:
        numbers = [t.number for t in study.trials]
        span = f"0 to {max(numbers)}" if numbers else "none yet"
        raise CommandError(
            f"study {study.name!r} has no trial {args.number} (trial numbers: {span})"
        )
    print(f"trial {record.number} of study {study.name!r}: {record.state.value}", file=out)
    step = analysis.value_step(record, study.settings.get("trial_value"))
    if record.value is not None:
        if record.state is TrialState.PRUNED:
            what = f", when it was stopped after epoch {step}" if step is not None else ""
        else:
            what = _where(study, record)
        print(f"value: {study.objective} = {fmt(record.value, 8)}{what}", file=out)
    print(
        f"started {fmt_time(record.started_at)}, finished {fmt_time(record.finished_at)}, "
        f"took {fmt_duration(record.duration)}",
        file=out,
    )
    if record.reason:
        print(f"reason: {record.reason}", file=out)
    if record.params:
        print("\nparameters:", file=out)
        width = max(len(n) for n in record.params)
        for name, value in record.params.items():
            print(f"  {name.ljust(width)}  {value!r}", file=out)
    rows = analysis.history(record)
    if rows:
        metrics = sorted({k for r in rows for k in r if k != "step"})
        if study.objective in metrics:
            metrics.remove(study.objective)
            metrics.insert(0, study.objective)
        print("\nper epoch (* the trial's value):", file=out)
        cells = [
            [
                str(r["step"]) + ("*" if r["step"] == step else " "),
                *(fmt(r.get(m), 6) for m in metrics),
            ]
            for r in rows
        ]
        print(table(["epoch ", *metrics], cells, right=set(range(len(metrics) + 1))), file=out)
    else:
        print("\nno epoch reported", file=out)
    if record.traceback:
        if args.traceback:
            print("\ntraceback:\n" + record.traceback.rstrip(), file=out)
        else:
            print("\n(--traceback prints where it failed)", file=out)
    return 0


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    study = _load(args)
    fmt_name = args.format
    if fmt_name is None:
        fmt_name = "json" if args.out and args.out.lower().endswith(".json") else "csv"
    if args.metrics and fmt_name != "json":
        raise CommandError("--metrics adds per-epoch rows and needs --format json")
    states = _states(args.state)
    buffer = io.StringIO()
    if fmt_name == "json":
        data = {
            "study": study.name,
            "objective": study.objective,
            "direction": study.direction,
            "trials": analysis.to_records(study, states=states, metrics=args.metrics),
        }
        json.dump(_clean(data), buffer, indent=2, allow_nan=False, ensure_ascii=False)
        buffer.write("\n")
        count = len(data["trials"])
    else:
        columns, rows = analysis.flat_rows(analysis.select(study, states))
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(_clean(r) for r in rows)
        count = len(rows)
    if args.out:
        target = Path(args.out).expanduser()
        _check_target(target, args, "--out")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(buffer.getvalue(), encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write --out {args.out!r}: {exc.strerror or exc}") from None
        print(f"wrote {count} trials of study {study.name!r} to {target} ({fmt_name})", file=out)
    else:
        out.write(buffer.getvalue())
    return 0


_SQLITE_HEADER = b"SQLite format 3\x00"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _check_target(target: Path, args: argparse.Namespace, option: str) -> None:
    """Refuse to write ``target`` over the store (or its -wal, -shm, -journal files), over
    any SQLite database, over a folder, or over any other existing file unless --force."""
    from hpdeco.store import is_postgres

    store = _store_path(args)
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


def _cmd_plot(args: argparse.Namespace, out: TextIO) -> int:
    from hpdeco import plots

    study = _load(args)
    trials = study.trials
    if not trials:
        raise CommandError(f"study {study.name!r} has no trial yet: nothing to plot")
    if args.metric is not None:
        known = sorted({m for t in trials for m in t.metrics})
        if args.metric not in known:
            raise CommandError(
                f"--metric {args.metric!r}: no trial of study {study.name!r} reported it; "
                + (
                    f"the metrics reported are {', '.join(known)}"
                    if known
                    else "no trial reported any metric yet"
                )
            )
    folder = Path(args.out).expanduser()
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"--out {args.out!r} is a file; pass a folder for the PNG files")
    for name in plots.FIGURES:
        _check_target(folder / f"{name}.png", args, "--out")
    try:
        written, skipped = plots.save_plots(study, folder, metric=args.metric)
    except OSError as exc:
        raise CommandError(f"cannot write to --out {args.out!r}: {exc.strerror or exc}") from None
    for path in written:
        print(f"wrote {path}", file=out)
    for name, why in skipped.items():
        print(f"skipped {name}: {why}", file=out)
    return 0


def _cmd_tensorboard(args: argparse.Namespace, out: TextIO) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    from hpdeco import tensorboard

    study = _load(args)
    written = tensorboard.write_study(study, args.logdir)
    print(f"wrote {written} trials of study {study.name!r} to {args.logdir}", file=out)
    print(
        f"view them: tensorboard --logdir {args.logdir}  (the HPARAMS tab compares trials)",
        file=out,
    )
    return 0


def _ask(question: str) -> str | None:
    """The first line typed after ``question``, or None when there is no input to read."""
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        return None
    print(escape(question), end="", file=sys.stderr, flush=True)
    try:
        line = stdin.readline()
    except (OSError, ValueError):
        return None
    if not line:
        print(file=sys.stderr)
        return None
    return line.strip()


def _live_trials(study: Any) -> list[str]:
    """The study's RUNNING trials whose worker still shows signs of life: a heartbeat
    within the grace period, and, on this host, a process that still exists."""
    from hpdeco.store.sql import HEARTBEAT_GRACE_S, HOST, pid_alive

    rows = study.store._run(
        "SELECT number, host, pid, heartbeat_at FROM trials"
        " WHERE study_id = ? AND state = 'RUNNING' ORDER BY number",
        (study.id,),
    ).fetchall()
    now = time.time()
    live = []
    for number, host, pid, beat in rows:
        if beat is None or now - beat > HEARTBEAT_GRACE_S:
            continue  # lost: the next search marks it FAIL (worker lost)
        if host == HOST and pid is not None and not pid_alive(pid):
            continue
        where = f"on {host}" + (f" (pid {pid})" if pid is not None else "")
        live.append(f"trial {number} {where}, heartbeat {max(0.0, now - beat):.0f}s ago")
    return live


def _cmd_delete(args: argparse.Namespace, out: TextIO) -> int:
    path = _store_path(args)
    store = open_existing_store(path, read_only=False) if args.yes else None
    study = _load(args)  # read-only: the study must exist before we ask anything
    trials = study.trials
    found = analysis.describe_counts(analysis.counts(trials))
    described = f"study {study.name!r} ({len(trials)} trials" + (f": {found})" if found else ")")
    live = _live_trials(study)
    if live and not args.force:
        raise CommandError(
            f"not deleted: study {study.name!r} has {len(live)} trial(s) running now "
            f"({'; '.join(live)}); their workers would fail writing to a deleted study. "
            "Stop them (or let them finish) first, or pass --force to delete it anyway"
        )
    if not args.yes:
        answer = _ask(f"delete {described} from {path}? This cannot be undone. [y/N] ")
        if answer is None:
            raise CommandError(
                f"not deleted: no answer could be read; pass --yes to delete {study.name!r} "
                "without asking"
            )
        if answer.lower() not in ("y", "yes"):
            print("not deleted", file=out)
            return 1
        store = open_existing_store(path, read_only=False)
    folder = None
    try:
        from hpdeco.weights import weights_folder

        folder = weights_folder(study)
    except ImportError:  # pragma: no cover - an hpdeco without weight keeping
        pass
    if not store.delete_study(study.name):
        raise CommandError(f"study {study.name!r} was already deleted")
    print(f"deleted {described}", file=out)
    if folder is not None and folder.is_dir():
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        print(f"deleted its kept weights in {folder}", file=out)
    return 0


# -- the parser -------------------------------------------------------------------------------


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
        _cmd_studies,
        "list the studies: objective, trials by state, best, last activity",
        [common],
    )

    p = add(
        "trials",
        _cmd_trials,
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
        _cmd_best,
        "the best trial: value, parameters (also as a Python dict), epochs, where its weights are",
        [study, common],
    )

    p = add("show", _cmd_show, "one trial with its metrics epoch by epoch", [study, common])
    p.add_argument("number", type=_trial_number, metavar="N", help="the trial's number")
    p.add_argument("--traceback", action="store_true", help="print a failed trial's traceback")

    p = add(
        "export",
        _cmd_export,
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
        _cmd_plot,
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
        _cmd_tensorboard,
        "write a study's trials as TensorBoard logs, for "
        'its HParams dashboard (pip install "hpdeco[tensorboard]")',
        [study, common],
    )
    p.add_argument("--logdir", required=True, metavar="DIR", help="TensorBoard's log folder")

    p = add(
        "delete", _cmd_delete, "delete a study with all its trials (asks first)", [study, common]
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.add_argument(
        "--force",
        action="store_true",
        help="delete even while trials are running (their workers then fail)",
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
    out = _Escaped(sys.stdout)
    with warnings.catch_warnings():
        # A warning (such as a store read as a snapshot) is one escaped line, as errors are.
        warnings.showwarning = functools.partial(_note, args.command)
        warnings.simplefilter("always", UserWarning)  # every run says it, not only the first
        try:
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
                    f"hpdeco {args.command}: error: store={_store_path(args)!r}: {text} "
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
