"""``hpdeco studies`` on a big store: the aggregate queries it runs against reading every
trial (what it did before, and what ``load_study(...).trials`` still does).

Builds one SQLite store with several studies of many trials, each reporting four metrics
per epoch, then times, side by side in one run, listing the studies both ways (medians of
several repeats; the store's pages are warm in the OS cache for both).

    .venv/bin/python bench/listing.py            # 5 studies x 2,000 trials x 20 epochs
    .venv/bin/python bench/listing.py --quick    # a smoke run in seconds

Results go to bench/results/listing.json (--quick: listing-quick.json).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import hpdeco
from hpdeco import hp
from hpdeco.cli import main as cli_main
from hpdeco.store import open_store

RESULTS = Path(__file__).parent / "results"


def fill(path: str, studies: int, trials: int, epochs: int) -> None:
    for s in range(studies):
        with hpdeco.search(
            objective="val_loss",
            max_trials=trials,
            store=path,
            study=f"study-{s}",
            sampler="random",
            pruner="none",
            seed=s,
            verbose=0,
            keep_best=0,
        ) as search:
            for trial in search:
                x = hp.Float("x", 0, 1)
                hp.Int("units", 16, 256, step=16)
                for epoch in range(1, epochs + 1):
                    loss = x + 1 / epoch
                    metrics = {
                        "loss": loss,
                        "val_loss": loss,
                        "accuracy": 1 - x,
                        "val_accuracy": 1 - x,
                    }
                    trial.report(metrics, epoch)


def list_by_reading_every_trial(path: str) -> list[tuple[str, int, Any]]:
    """The old way: every study opened, every trial (with its metrics) read."""
    store = open_store(path)
    rows = []
    for row in store.studies():
        study = hpdeco.load_study(row.name, store=path)
        trials = study.trials
        best = study.best
        rows.append((row.name, len(trials), None if best is None else (best.number, best.value)))
    return rows


def list_with_overview(path: str) -> list[tuple[str, int, Any]]:
    store = open_store(path)
    rows = []
    for row in store.studies():
        seen = store.overview(row.id, row.direction)
        rows.append((row.name, sum(seen.counts.values()), seen.best))
    return rows


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=5)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.studies, args.trials, args.epochs, args.repeats = 2, 50, 5, 2
    with tempfile.TemporaryDirectory(prefix="listing-") as tmp:
        path = str(Path(tmp) / "hpdeco.db")
        started = time.perf_counter()
        fill(path, args.studies, args.trials, args.epochs)
        print(f"store filled in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        size_mib = Path(path).stat().st_size / 2**20
        metric_rows = sqlite3.connect(path).execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
        old, new, command = [], [], []
        for _ in range(args.repeats):  # interleaved, so drift hits both alike
            t_old, rows_old = timed(list_by_reading_every_trial, path)
            t_new, rows_new = timed(list_with_overview, path)
            assert rows_old == rows_new, (rows_old, rows_new)  # the same answer both ways
            with contextlib.redirect_stdout(io.StringIO()):
                t_cmd, code = timed(cli_main, ["studies", "--store", path])
            assert code == 0
            old.append(t_old)
            new.append(t_new)
            command.append(t_cmd)
    report = {
        "studies": args.studies,
        "trials_per_study": args.trials,
        "epochs": args.epochs,
        "metric_rows": metric_rows,
        "store_mib": round(size_mib, 1),
        "repeats": args.repeats,
        "reading_every_trial_s": old,
        "overview_s": new,
        "command_s": command,
        "median_reading_every_trial_s": statistics.median(old),
        "median_overview_s": statistics.median(new),
        "median_command_s": statistics.median(command),
        "ratio": statistics.median(old) / statistics.median(new),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "hpdeco": hpdeco.__version__,
    }
    RESULTS.mkdir(exist_ok=True)
    out = args.out or RESULTS / ("listing-quick.json" if args.quick else "listing.json")
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(
        f"{args.studies} studies x {args.trials} trials x {args.epochs} epochs "
        f"({metric_rows:,} metric rows, {size_mib:.0f} MiB): reading every trial "
        f"{report['median_reading_every_trial_s']:.3f} s, overview "
        f"{report['median_overview_s']:.4f} s ({report['ratio']:.0f}x); `hpdeco studies` "
        f"{report['median_command_s']:.4f} s; medians of {args.repeats}; {out}"
    )


if __name__ == "__main__":
    main()
