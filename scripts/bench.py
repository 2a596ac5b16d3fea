#!/usr/bin/env python3
"""Synth and test timings, as ratios against a floor measured in the same run.

    make bench            # or: .venv/bin/python scripts/bench.py --repeat 5 --serial

The floor is an empty one-stack CDK app: the cost of starting Python, jsii and Node that no
project can avoid (measured as the project runs apps: CDK's built-in CloudFormation validation
off). The same empty app with CDK's defaults is shown too. Absolute seconds vary between
machines; the ratios are what to compare.

The suite runs as `make test` runs it (`--pytest-args`, one worker per core); its floor is the
same pytest collecting every test without running one (interpreter, imports, plugins). The
suite's CPU time (every process it started and waited for: workers, jsii, Node, moto, the
training toolkit) divided by the cores is the least wall time any schedule could reach. The goal
is the whole suite in 30 s on a 2-core machine; `--serial` adds one run on a single process, to
show what the workers buy.

`--training` (`make bench BENCH_TRAINING=1`) also runs scripts/bench_training.py: distributed
training's rows/s on 1, 2 and 4 hosts over a million generated rows (a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CDK = str(PROJECT_DIR / "node_modules" / ".bin" / "cdk")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_with_cpu(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (user + system) of the command and every process it waited for."""
    start, cpu = time.perf_counter(), children_cpu()
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed, children_cpu() - cpu


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    return timed_with_cpu(command, env)[0]


def median_of(repeat: int, command: list[str], env: dict[str, str] | None = None) -> float:
    timed(command, env)  # warm the file cache and the jsii runtime bundle
    return statistics.median(timed(command, env) for _ in range(repeat))


def app_env(outdir: str) -> dict[str, str]:
    return os.environ | {"CDK_OUTDIR": outdir, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDK_DISABLE_CLI_TELEMETRY": "1"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median is reported)")
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    parser.add_argument("--pytest-args", default="", help="how `make test` runs pytest (e.g. '-n auto --dist worksteal')")
    parser.add_argument("--serial", action="store_true", help="also time the suite on one process")
    parser.add_argument("--training", action="store_true", help="also measure distributed training (scripts/bench_training.py)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    rows: list[tuple[str, float, float | None]] = []
    with tempfile.TemporaryDirectory() as out:
        floor = median_of(args.repeat, [PYTHON, "scripts/empty_app.py"], app_env(f"{out}/floor"))
        defaults = median_of(
            args.repeat, [PYTHON, "scripts/empty_app.py"], app_env(f"{out}/defaults") | {"EMPTY_APP_BUILTIN_VALIDATION": "1"}
        )
        full = median_of(args.repeat, [PYTHON, "app.py"], app_env(f"{out}/full"))
        rows += [
            ("app: empty one-stack CDK app (jsii floor)", floor, 1.0),
            ("app: empty app, CDK defaults (built-in validation)", defaults, defaults / floor),
            ("app: every environment", full, full / floor),
        ]
        cli_floor = median_of(
            args.repeat, [CDK, "synth", "--quiet", "--app", f"{PYTHON} scripts/empty_app.py", "-o", f"{out}/cli-floor"], app_env("")
        )
        cli_full = median_of(args.repeat, [CDK, "synth", "--quiet", "-o", f"{out}/cli-full"], app_env(""))
        rows += [("cdk synth: empty app", cli_floor, 1.0), ("cdk synth: every environment", cli_full, cli_full / cli_floor)]
    if not args.skip_tests:
        pytest = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        collect = timed([*pytest, "--collect-only", "--snapshot-warn-unused"])  # syrupy fails a run that uses no snapshot
        suite, suite_cpu = timed_with_cpu([*pytest, *shlex.split(args.pytest_args)])
        cores = os.cpu_count() or 1
        rows += [
            ("tests: collect every test, run none (floor)", collect, 1.0),
            (f"tests: whole suite as make test ({args.pytest_args or 'one process'})", suite, suite / collect),
            # No schedule finishes sooner on this machine: the wall time the suite's work needs.
            (f"tests: the suite's CPU (user + system) / {cores} cores", suite_cpu / cores, suite_cpu / cores / collect),
        ]
        if args.serial:
            serial = timed(pytest)
            rows.append(("tests: whole suite, one process", serial, serial / collect))
        rows.append(("tests: goal, whole suite", 30.0, None))

    width = max(len(name) for name, _, _ in rows)
    print(f"{'measurement':<{width}}  {'seconds':>8}  {'x floor':>8}   (median of {args.repeat}, {os.cpu_count()} cores)")
    for name, seconds, ratio in rows:
        print(f"{name:<{width}}  {seconds:8.2f}  {'' if ratio is None else f'{ratio:8.2f}'}")
    if args.training:
        print(flush=True)
        return subprocess.run([PYTHON, "scripts/bench_training.py"], cwd=PROJECT_DIR, check=False).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
