"""The ``hpdeco`` commands that write: ``export``, ``plot`` and ``tensorboard`` write files
(never over the store or another SQLite database), ``delete`` removes a study."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from hpdeco import analysis
from hpdeco.cli.options import (
    CommandError,
    check_target,
    chosen_states,
    store_of,
    store_path,
    study_of,
)
from hpdeco.cli.text import escape


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    study = study_of(args)
    fmt_name = args.format
    if fmt_name is None:
        fmt_name = "json" if args.out and args.out.lower().endswith(".json") else "csv"
    if args.metrics and fmt_name != "json":
        raise CommandError("--metrics adds per-epoch rows and needs --format json")
    states = chosen_states(args.state)
    buffer = io.StringIO()
    if fmt_name == "json":
        data = {
            "study": study.name,
            "objective": study.objective,
            "direction": study.direction,
            **(
                {"objectives": [dict(name=o.name, direction=o.direction) for o in study.objectives]}
                if len(study.objectives) > 1
                else {}
            ),
            "trials": analysis.to_records(study, states=states, metrics=args.metrics),
        }
        json.dump(_clean(data), buffer, indent=2, allow_nan=False, ensure_ascii=False)
        buffer.write("\n")
        count = len(data["trials"])
    else:
        names = [o.name for o in study.objectives]
        columns, rows = analysis.flat_rows(analysis.select(study, states), names)
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(_clean(r) for r in rows)
        count = len(rows)
    if args.out:
        target = Path(args.out).expanduser()
        check_target(target, args, "--out")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(buffer.getvalue(), encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write --out {args.out!r}: {exc.strerror or exc}") from None
        print(f"wrote {count} trials of study {study.name!r} to {target} ({fmt_name})", file=out)
    else:
        out.write(buffer.getvalue())
    return 0


def cmd_plot(args: argparse.Namespace, out: TextIO) -> int:
    from hpdeco import plots

    study = study_of(args)
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
        check_target(folder / f"{name}.png", args, "--out")
    try:
        written, skipped = plots.save_plots(study, folder, metric=args.metric)
    except OSError as exc:
        raise CommandError(f"cannot write to --out {args.out!r}: {exc.strerror or exc}") from None
    for path in written:
        print(f"wrote {path}", file=out)
    for name, why in skipped.items():
        print(f"skipped {name}: {why}", file=out)
    return 0


def cmd_tensorboard(args: argparse.Namespace, out: TextIO) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    from hpdeco import tensorboard

    study = study_of(args)
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
    live = []
    for trial in study.store.running_trials(study.id):
        if not trial.alive:
            continue  # lost: the next search marks it FAIL (worker lost)
        where = f"on {trial.host}" + (f" (pid {trial.pid})" if trial.pid is not None else "")
        age = max(0.0, trial.heartbeat_age or 0.0)
        live.append(f"trial {trial.number} {where}, heartbeat {age:.0f}s ago")
    return live


def cmd_delete(args: argparse.Namespace, out: TextIO) -> int:
    path = store_path(args)
    store = store_of(args, read_only=False) if args.yes else None
    study = study_of(args)  # read-only: the study must exist before we ask anything
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
    if store is None:  # opened for writing only once the answer is yes
        store = store_of(args, read_only=False)
    from hpdeco.weights import weights_folder  # numpy: only when deleting

    folder = weights_folder(study)
    if not store.delete_study(study.name):
        raise CommandError(f"study {study.name!r} was already deleted")
    print(f"deleted {described}", file=out)
    if folder is not None and folder.is_dir():
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        print(f"deleted its kept weights in {folder}", file=out)
    return 0
