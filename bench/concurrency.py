"""Many workers on one study: throughput, report() latency, crashes, and memory.

1. Throughput: 1, 2, 4 and 8 worker processes run trivial trials (10 reported steps each)
   on one study, on SQLite and on PostgreSQL (a throwaway local cluster): finished trials
   per second (first trial's start to last trial's end, from the store), p50/p99 of
   ``trial.report()``, and lost or duplicated trials (must be 0).
2. Crash drill: 4 workers on a 200-trial study, one killed with SIGKILL at random moments
   and replaced, then a final resume: exactly 200 finished trials, nothing left RUNNING,
   and every epoch a killed trial reported still in the store.
3. Memory: resident memory of one process after 10 and after 100 small Keras trials, and
   of the parent with ``isolate=True``.
4. Backend-kill drill (PostgreSQL): 4 workers on a 200-trial study while the server
   terminates each worker's sessions (its main and heartbeat connections) at random
   moments: every trial must finish, no COMPLETE result may be discarded (a worker warning
   "already ended elsewhere"), no worker may die, nothing may be left RUNNING.

    .venv/bin/python bench/concurrency.py            # everything (about 10 minutes)
    .venv/bin/python bench/concurrency.py --quick    # a smoke run
    .venv/bin/python bench/concurrency.py --skip-memory
    .venv/bin/python bench/concurrency.py --only backend-drill --drill-trials 200

Results go to bench/results/concurrency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import hpdeco  # noqa: E402
from hpdeco import TrialState  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "concurrency.json"

WORKER = r"""
import json, sys, time
import hpdeco
from hpdeco import hp
store, study, max_trials, steps, out, sleep = sys.argv[1:7]
latencies, numbers = [], []
with hpdeco.search(objective="loss", max_trials=int(max_trials), store=store, study=study,
                   sampler="random", pruner="none", retries=1, verbose=0) as search:
    for trial in search:
        x = hp.Float("x", 0.0, 1.0)
        for step in range(1, int(steps) + 1):
            time.sleep(float(sleep))  # the "epoch"
            start = time.perf_counter()
            trial.report(x / step, step)
            latencies.append(time.perf_counter() - start)
        numbers.append(trial.number)
with open(out, "w") as f:
    json.dump({"latencies": latencies, "numbers": numbers}, f)
"""


def spawn(
    store: str,
    study: str,
    max_trials: int,
    steps: int,
    out: str,
    sleep: float = 0.0,
    app_name: str | None = None,
) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if app_name is not None:  # names the worker's PostgreSQL sessions, for the drill's kills
        env["PGAPPNAME"] = app_name
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, store, study, str(max_trials), str(steps), out, str(sleep)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def throughput(store: str, workers: int, trials: int, steps: int, tmp: Path) -> dict[str, Any]:
    study = f"throughput-{workers}"
    outs = [str(tmp / f"{study}-{i}.json") for i in range(workers)]
    procs = [spawn(store, study, trials, steps, out) for out in outs]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(err)
    latencies: list[float] = []
    numbers: list[int] = []
    for out in outs:
        data = json.loads(Path(out).read_text())
        latencies += data["latencies"]
        numbers += data["numbers"]
    records = hpdeco.load_study(study, store=store).trials
    complete = [r for r in records if r.state is TrialState.COMPLETE]
    # From the first trial's start to the last one's end: process start-up is not counted.
    elapsed = max(r.finished_at for r in records) - min(r.started_at for r in records)
    latencies.sort()
    return {
        "workers": workers,
        "trials_per_s": len(complete) / elapsed,
        "report_p50_ms": 1e3 * latencies[len(latencies) // 2],
        "report_p99_ms": 1e3 * latencies[int(len(latencies) * 0.99)],
        "lost": trials - len(complete),
        "duplicated": len(numbers) - len(set(numbers)),
        "not_complete": len(records) - len(complete),
    }


def crash_drill(
    store: str, trials: int, tmp: Path, seconds_between: tuple[float, float], max_kills: int
) -> dict:
    study = "crash-drill"
    rng = random.Random(0)

    def worker(name: str) -> subprocess.Popen:
        # 10 steps of 20 ms: workers spend their time inside trials, where a kill costs one
        return spawn(store, study, trials, 10, str(tmp / f"crash-{name}.json"), sleep=0.02)

    procs = [worker(str(i)) for i in range(4)]
    kills = 0
    while kills < max_kills and any(p.poll() is None for p in procs):
        time.sleep(rng.uniform(*seconds_between))
        alive = [p for p in procs if p.poll() is None]
        if not alive:
            break
        victim = rng.choice(alive)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kills += 1
        procs.remove(victim)
        procs.append(worker(f"r{kills}"))
    for proc in procs:
        proc.wait()
    # A last worker resumes the study: it recovers what the killed workers left RUNNING.
    final = worker("final")
    final.communicate()
    records = hpdeco.load_study(study, store=store).trials
    by_state = {s.value: sum(1 for r in records if r.state is s) for s in TrialState}
    lost = [r for r in records if r.state is TrialState.FAIL]
    return {
        "trials": trials,
        "kills": kills,
        "finished": sum(1 for r in records if r.state.is_finished),
        "by_state": by_state,
        "lost_trials_with_their_epochs": sum(1 for r in lost if r.intermediate_values),
        "lost_trials": len(lost),
        "numbers_unique": len({r.number for r in records}) == len(records),
    }


def backend_drill(
    admin: str,
    store: str,
    trials: int,
    workers: int,
    tmp: Path,
    seconds_between: tuple[float, float],
) -> dict[str, Any]:
    """``workers`` workers on one study while the server terminates one worker's sessions
    (main and heartbeat connections alike) at random moments, until all are done."""
    import psycopg

    study = "backend-drill"
    rng = random.Random(0)
    from hpdeco.store import open_store

    open_store(store).close()  # the schema exists before the first kill
    names = [f"hpdeco-drill-{i}" for i in range(workers)]
    procs = [
        # 10 steps of 20 ms: kills land inside trials, between and during writes
        spawn(store, study, trials, 10, str(tmp / f"{name}.json"), sleep=0.02, app_name=name)
        for name in names
    ]
    kills = sessions = 0
    with psycopg.connect(admin, autocommit=True) as conn:
        while any(p.poll() is None for p in procs):
            time.sleep(rng.uniform(*seconds_between))
            alive = [n for n, p in zip(names, procs, strict=True) if p.poll() is None]
            if not alive:
                break
            ended = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (rng.choice(alive),),
            ).fetchall()
            kills += 1
            sessions += sum(1 for (done,) in ended if done)
    errors = [p.communicate()[1] for p in procs]
    records = hpdeco.load_study(study, store=store).trials
    by_state = {s.value: sum(1 for r in records if r.state is s) for s in TrialState}
    return {
        "trials": trials,
        "workers": workers,
        "kills": kills,
        "sessions_terminated": sessions,
        "finished": sum(1 for r in records if r.state.is_finished),
        "by_state": by_state,
        "complete_results_discarded": sum(e.count("already ended elsewhere") for e in errors),
        "worker_lost": sum(1 for r in records if (r.reason or "").startswith("worker lost")),
        "workers_failed": sum(1 for p in procs if p.returncode != 0),
        "numbers_unique": len({r.number for r in records}) == len(records),
        "errors": [
            (e.strip().splitlines() or [""])[-1]
            for p, e in zip(procs, errors, strict=True)
            if p.returncode
        ],
    }


MEMORY_CHILD = r"""
import json, os, resource, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
import hpdeco
from hpdeco import hp
from sklearn.datasets import load_digits

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

@hpdeco.tunable
def build():
    units = hp.Int("units", 16, 64, step=16)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(units, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    # a continuous parameter, so the space never runs out before the trial count does
    lr = hp.Float("lr", 1e-3, 1e-2, sampling="log")
    model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model

def plain_keras(x, y, trials):
    # The same models in a plain Keras loop, no hpdeco: the baseline for growth.
    import gc
    rng = np.random.default_rng(0)
    marks = {}
    for i in range(1, trials + 1):
        units = int(rng.choice([16, 32, 48, 64]))
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(units, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(keras.optimizers.Adam(float(rng.uniform(1e-3, 1e-2))),
                      "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x[:1000], y[:1000], validation_data=(x[1000:], y[1000:]), epochs=2,
                  batch_size=64, verbose=0)
        del model
        keras.backend.clear_session()
        gc.collect()
        if i in (10, trials):
            marks[i] = rss_mb()
    return marks

if __name__ == "__main__":
    store, trials, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    if mode == "plain":
        print(json.dumps(plain_keras(x, y, trials)))
        sys.exit()
    isolate = mode == "isolate"
    marks = {}
    for done in (10, trials):
        build.tune(x[:1000], y[:1000], validation_data=(x[1000:], y[1000:]), epochs=2,
                   max_trials=done, objective="val_accuracy", store=store, isolate=isolate,
                   verbose=0, keep_best=0, batch_size=64)
        marks[done] = rss_mb()
    ran = len(hpdeco.load_study("build", store=store).trials)
    assert ran == trials, f"{ran} trials ran, not {trials}"
    print(json.dumps(marks))
"""


def memory(trials: int, mode: str, tmp: Path) -> dict[str, float]:
    """mode: "in_process", "isolate", or "plain" (a plain Keras loop, no hpdeco)."""
    script = tmp / "memory_child.py"
    script.write_text(MEMORY_CHILD)
    store = str(tmp / f"memory-{mode}.db")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, str(script), store, str(trials), mode],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    marks = json.loads(out.stdout.strip().splitlines()[-1])
    first, last = marks["10"], marks[str(trials)]
    return {
        "trials": trials,
        "rss_after_10_mb": first,
        f"rss_after_{trials}_mb": last,
        "growth_mb": last - first,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--only", choices=["backend-drill"], help="run only this part (results merged into --out)"
    )
    parser.add_argument("--drill-trials", type=int, default=200)
    parser.add_argument("--drill-workers", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    trials = 40 if args.quick else 400
    counts = (1, 2) if args.quick else (1, 2, 4, 8)
    crash_trials = 30 if args.quick else 200
    results: dict[str, Any] = {"machine": f"{os.cpu_count()} CPUs", "throughput": {}}
    if args.only == "backend-drill":
        drill_only(args)
        return

    from contextlib import ExitStack

    with tempfile.TemporaryDirectory() as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        backends = {"sqlite": lambda i: str(tmp / f"bench-{i}.db")}
        if not args.skip_postgres and not args.memory_only:
            try:
                import psycopg
                from pgserver import MissingServer, throwaway_postgres

                admin = stack.enter_context(throwaway_postgres(max_connections=100))

                def pg_database(i: int) -> str:
                    name = f"bench_{i}"
                    with psycopg.connect(admin, autocommit=True) as conn:
                        conn.execute(f"CREATE DATABASE {name}")
                    return admin.rsplit("/", 1)[0] + "/" + name

                backends["postgres"] = pg_database
            except (ImportError, MissingServer) as exc:
                print(f"skipping PostgreSQL: {exc}", file=sys.stderr)
        for name, make in backends.items() if not args.memory_only else ():
            rows = []
            for workers in counts:
                row = throughput(make(workers), workers, trials, 10, tmp)
                print(f"{name:8s} {row}", file=sys.stderr)
                rows.append(row)
            results["throughput"][name] = rows
        results["crash_drill"] = {}
        for name, make in backends.items() if not args.memory_only else ():
            drill = crash_drill(
                make(99), crash_trials, tmp, (0.3, 1.2), max_kills=8 if args.quick else 25
            )
            print(f"{name:8s} crash drill {drill}", file=sys.stderr)
            results["crash_drill"][name] = drill
        if not args.skip_memory:
            n = 20 if args.quick else 100
            results["memory"] = {}
            runs = (
                ("plain Keras loop, no hpdeco", "plain", n),
                ("in_process", "in_process", n),
                ("isolate", "isolate", 12 if args.quick else 30),
            )
            for label, mode, count in runs:
                results["memory"][label] = memory(count, mode, tmp)
                print(f"memory {label}: {results['memory'][label]}", file=sys.stderr)

    print(f"\n{trials} trivial trials x 10 reported steps, one study; {os.cpu_count()} CPUs\n")
    print("| store | workers | trials/s | report() p50 ms | p99 ms | lost | duplicated |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, rows in results["throughput"].items():
        for r in rows:
            print(
                f"| {name} | {r['workers']} | {r['trials_per_s']:.0f} | "
                f"{r['report_p50_ms']:.2f} | {r['report_p99_ms']:.2f} | {r['lost']} | "
                f"{r['duplicated']} |"
            )
    print(
        "\n| store | trials | SIGKILLs | finished | COMPLETE | FAIL (worker lost) | "
        "lost trials with their epochs kept | left RUNNING |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, d in results["crash_drill"].items():
        print(
            f"| {name} | {d['trials']} | {d['kills']} | {d['finished']} | "
            f"{d['by_state']['COMPLETE']} | {d['lost_trials']} | "
            f"{d['lost_trials_with_their_epochs']} | {d['by_state']['RUNNING']} |"
        )
    if "memory" in results:
        print("\n| small Keras trials | RSS after 10 | RSS after N | growth |")
        print("|---|---:|---:|---:|")
        for label, m in results["memory"].items():
            n = m["trials"]
            print(
                f"| {n}, {label} | {m['rss_after_10_mb']:.0f} MB | "
                f"{m[f'rss_after_{n}_mb']:.0f} MB | {m['growth_mb']:+.0f} MB |"
            )
    if not args.quick:
        if args.memory_only and args.out.exists():  # keep the other parts of the last run
            results = {**json.loads(args.out.read_text()), "memory": results["memory"]}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nraw results: {args.out}")


def drill_only(args: argparse.Namespace) -> None:
    try:
        import psycopg
        from pgserver import MissingServer, throwaway_postgres
    except ImportError as exc:
        print(f"skipping PostgreSQL: {exc}", file=sys.stderr)
        return
    try:
        with tempfile.TemporaryDirectory() as tmp, throwaway_postgres(max_connections=100) as admin:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("CREATE DATABASE drill")
            store = admin.rsplit("/", 1)[0] + "/drill"
            drill = backend_drill(
                admin, store, args.drill_trials, args.drill_workers, Path(tmp), (0.1, 0.6)
            )
    except MissingServer as exc:
        print(f"skipping PostgreSQL: {exc}", file=sys.stderr)
        return
    print(f"postgres backend-kill drill {drill}", file=sys.stderr)
    print(
        "\n| store | workers | trials | kills | sessions ended | finished | COMPLETE | "
        "COMPLETE results discarded | worker lost | workers died | left RUNNING |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| postgres | {drill['workers']} | {drill['trials']} | {drill['kills']} | "
        f"{drill['sessions_terminated']} | {drill['finished']} | "
        f"{drill['by_state']['COMPLETE']} | {drill['complete_results_discarded']} | "
        f"{drill['worker_lost']} | {drill['workers_failed']} | {drill['by_state']['RUNNING']} |"
    )
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["backend_drill"] = drill
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nraw results: {args.out}")


if __name__ == "__main__":
    main()
