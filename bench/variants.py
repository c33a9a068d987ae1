"""hpdeco alone on the head-to-head's quality task, under other pruners and samplers: what
each default costs in epochs and what it finds.

``bench/headtohead.py`` compares hpdeco's defaults with other libraries; this script asks
why hpdeco's runs look the way they do, by swapping one default at a time on the same
task (same data, space, 30 trials x 15 epochs, seeds), each run in its own process:

- ``defaults``: the default sampler (``auto``: GP while the study is small, TPE after or on
  spaces of many choices) + median pruner;
- ``asha``: the ASHA pruner instead of the median;
- ``tpe``: joint TPE alone (the default sampler before ``auto``);
- ``tpe-independent``: TPE with one density per parameter (``multivariate=False``);
- ``random``: the random sampler, median pruner.

Reported per variant and seed: epochs trained, trials run to the end, best validation
accuracy, time to 97%. Epoch counts and accuracies do not depend on the machine's load
(TensorFlow on CPU with fixed seeds), so two processes may run side by side (``--jobs 2``);
wall times then do, and are kept only as a rough figure.

    .venv/bin/python bench/variants.py --jobs 2             # 5 variants x 6 seeds (~20 min)
    .venv/bin/python bench/variants.py --variants defaults,asha --seeds 2

Results go to bench/results/variants.json (``--out`` elsewhere). The hpdeco imported is
the one on the path: ``PYTHONPATH=<an older checkout>`` measures an earlier version.

A ``median-complete`` variant (the median over COMPLETE trials only, as Optuna's) was
dropped once the default median pruner came to compare with COMPLETE trials only itself
(commit 90dc2d4): it had become the defaults under another name, run for run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "variants.json"
VARIANTS = ("defaults", "asha", "tpe", "tpe-independent", "random")


def apply(variant: str) -> None:
    """Swap one default of hpdeco, in this process, for ``variant``."""
    import hpdeco.pruners as pruners
    import hpdeco.samplers as samplers

    # Sampler variants replace what a search without sampler= gets, whatever its name.
    swaps = {
        "tpe": lambda seed: samplers.TPESampler(seed=seed),
        "tpe-independent": lambda seed: samplers.TPESampler(seed=seed, multivariate=False),
        "random": lambda seed: samplers.RandomSampler(seed=seed),
    }
    if variant == "asha":
        pruners.PRUNERS["median"] = pruners.AshaPruner
    elif variant in swaps:
        samplers.SAMPLERS[samplers.DEFAULT_SAMPLER] = swaps[variant]
    elif variant != "defaults":
        raise SystemExit(f"unknown variant {variant!r}; use one of {', '.join(VARIANTS)}")


def one_run(variant: str, seed: int, trials: int, epochs: int) -> dict[str, Any]:
    """In a child process: one hpdeco search of bench/headtohead.py under ``variant``."""
    sys.path.insert(0, str(HERE))
    import headtohead

    apply(variant)
    job = {"kind": "quality", "tuner": "hpdeco", "seed": seed, "trials": trials, "epochs": epochs}
    result = headtohead.quality_job(job)
    lengths = Counter(n for _, _, n in result["events"])
    return {
        "variant": variant,
        "seed": seed,
        "epochs": result["epochs"],
        "full_length_trials": sum(n == epochs for n in lengths.values()),
        "best_val_accuracy": result["best_val_accuracy"],
        "time_to_target_s": result["time_to_target_s"],
        "wall_s": result["wall_s"],
        "pruned": result["own"]["pruned"],
    }


def spawn(variant: str, seed: int, trials: int, epochs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="variants-") as tmp:
        out = Path(tmp) / "run.json"
        job = json.dumps([variant, seed, trials, epochs])
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        proc = subprocess.run(
            [sys.executable, __file__, "--run", job, "--run-out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"variant {variant} seed {seed} failed ({proc.returncode})")
        row = json.loads(out.read_text())
    print(
        f"  {variant:<16} seed {seed}: {row['epochs']:3d} epochs, "
        f"{row['full_length_trials']:2d} full-length, best {row['best_val_accuracy']:.4f}",
        file=sys.stderr,
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run from here")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--jobs", type=int, default=1, help="runs side by side")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--run-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        variant, seed, trials, epochs = json.loads(args.run)
        Path(args.run_out).write_text(json.dumps(one_run(variant, seed, trials, epochs)))
        return
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            raise SystemExit(f"unknown variant {v!r}; use one of {', '.join(VARIANTS)}")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(v, s) for v in variants for s in seeds]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        rows = list(pool.map(lambda j: spawn(j[0], j[1], args.trials, args.epochs), jobs))
    summary = {}
    print(
        "| variant | epochs (median) | full-length trials | best val_accuracy (median) | per seed |"
    )
    print("| --- | ---: | ---: | ---: | --- |")
    for v in variants:
        mine = [r for r in rows if r["variant"] == v]
        summary[v] = {
            "epochs_median": statistics.median(r["epochs"] for r in mine),
            "full_length_median": statistics.median(r["full_length_trials"] for r in mine),
            "best_median": statistics.median(r["best_val_accuracy"] for r in mine),
        }
        per_seed = ", ".join(f"{r['epochs']}/{r['best_val_accuracy']:.4f}" for r in mine)
        print(
            f"| {v} | {summary[v]['epochs_median']:g} | {summary[v]['full_length_median']:g} | "
            f"{summary[v]['best_median']:.4f} | {per_seed} |"
        )
    import hpdeco

    source = Path(hpdeco.__file__).resolve().parent.parent
    commit = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    record = {
        "command": " ".join(sys.argv),
        "hpdeco_source": str(source),
        "hpdeco_commit": commit or None,
        "trials": args.trials,
        "epochs": args.epochs,
        "seeds": list(seeds),
        "jobs": args.jobs,
        "summary": summary,
        "runs": rows,
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"raw results: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
