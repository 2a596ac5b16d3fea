#!/usr/bin/env python3
"""Distributed training throughput: rows per second for 1, 2 and 4 hosts, as ratios, in one run.

    .venv/bin/python scripts/bench_training.py [--rows 1000000] [--rounds 20]   # or: make bench BENCH_TRAINING=1

Generates a binary classification dataset (``--rows`` train rows in 4 files, plus a validation
set), then runs train.py on it as a cluster of 1, 2 and 4 hosts on this machine
(``tests/support/local_cluster.py``: one process per host, one thread each, XGBoost's collective
over loopback). Every run trains the same fixed number of rounds on the same rows — the 4 files
are split between the hosts as ShardedByS3Key splits them — so rows/s is train rows divided by the
cluster's wall time (reading and checking the CSV, building the quantiles, boosting, evaluating).
On a machine with fewer cores than hosts the hosts share cores: the ratios show what the
collective costs, not what separate instances gain.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.local_cluster import run_cluster

FILES = 4
HOST_COUNTS = (1, 2, 4)


def write_csv(path: Path, rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Whole numbers and 4 decimals: the size a real export has, quicker to write than %.10g.
    np.savetxt(path, rows, delimiter=",", fmt=["%d"] + ["%.4f"] * (rows.shape[1] - 1))


def generate(directory: Path, rows: int, features: int, seed: int = 7) -> tuple[list[Path], Path]:
    random = np.random.default_rng(seed)
    weights = random.normal(size=features)
    files = []
    for index, count in enumerate(np.array_split(np.arange(rows), FILES)):
        x = random.normal(size=(len(count), features))
        y = (x @ weights + random.normal(scale=2.0, size=len(count)) > 0).astype(float)
        path = directory / "files" / f"part-{index:04d}.csv"
        write_csv(path, np.column_stack([y, x]))
        files.append(path)
    x = random.normal(size=(max(rows // 20, 1000), features))
    y = (x @ weights + random.normal(scale=2.0, size=len(x)) > 0).astype(float)
    validation = directory / "validation.csv"
    write_csv(validation, np.column_stack([y, x]))
    return files, validation


def host_roots(base: Path, files: list[Path], validation: Path, hosts: int) -> list[Path]:
    """Each host's tree, its shard as links to the generated files (no copies)."""
    roots = []
    for index in range(hosts):
        root = base / f"algo-{index + 1}"
        for channel, shard in (("train", files[index::hosts]), ("validation", [validation])):
            folder = root / "input" / "data" / channel
            folder.mkdir(parents=True)
            for file in shard:
                (folder / file.name).symlink_to(file)
        roots.append(root)
    return roots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="train rows (at least 4)")
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20, help="boosting rounds, the same for every run")
    args = parser.parse_args()
    if args.rows < FILES or args.rounds < 1 or args.features < 1:
        parser.error(f"--rows must be at least {FILES}, --rounds and --features at least 1")

    train_args = ["--num_round", str(args.rounds), "--early_stopping_rounds", "0", "--max_depth", "6"]
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        start = time.perf_counter()
        files, validation = generate(base, args.rows, args.features)
        print(f"generated {args.rows:,} train rows x {args.features} features in {time.perf_counter() - start:.1f} s", flush=True)
        for hosts in HOST_COUNTS:
            roots = host_roots(base / f"cluster-{hosts}", files, validation, hosts)
            start = time.perf_counter()
            runs = run_cluster(roots, train_args, timeout=3600)
            seconds = time.perf_counter() - start
            failed = [run for run in runs if run.returncode != 0]
            if failed:
                sys.exit(f"bench_training: {hosts} hosts failed:\n{failed[0].stderr[-2000:]}")
            report = json.loads((roots[0] / "output" / "data" / "evaluation.json").read_text())
            results.append((hosts, seconds, report["metrics"]["validation"]["auc"]))
            print(f"  {hosts} host(s): {seconds:.1f} s", flush=True)

    one = args.rows / results[0][1]
    header = f"{'hosts':>5}  {'seconds':>8}  {'rows/s':>10}  {'x 1 host':>8}  {'validation auc':>14}"
    print(f"\n{header}   ({args.rounds} rounds, 1 thread per host, {os.cpu_count()} cores)")
    for hosts, seconds, auc in results:
        rate = args.rows / seconds
        print(f"{hosts:>5}  {seconds:8.1f}  {rate:10,.0f}  {rate / one:8.2f}  {auc:14.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
