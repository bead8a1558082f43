#!/usr/bin/env python3
"""instructions.py: the suite's workloads under Valgrind's cachegrind
(make bench-instructions): instructions executed, first-level data-cache
misses and last-level misses, per workload and allocator, as ratios to
glibc and jemalloc.

Wall time on a shared machine varies run to run (the main suite's slowest
run of a cell takes 1.2-2.7x its fastest); these counts come from a
simulated machine and repeat to within a fraction of a percent, so they
say whether an allocator does more work than another where wall time
cannot. What they cannot show: cachegrind runs one thread at a time and
models no coherence traffic, so false sharing, lock contention and page
fault costs are left to the wall-time suite.

Environment: BENCH_FILTER and BENCH_ALLOCATORS as for run.py; BENCH_SCALE
(default 0.25) sizes the workloads; BENCH_RESULTS is where instructions.csv
goes (default: the build's bench/results). Exits 0 with a note when
valgrind is not installed."""

import concurrent.futures
import csv
import os
import re
import shutil
import subprocess
import sys

import bench_report
import run

COUNTERS = [
    # (CSV field, cachegrind's summary label, table title)
    ("instructions", "I   refs", "instructions (millions)"),
    ("d1_misses", "D1  misses", "L1 data misses (millions)"),
    ("ll_misses", "LL misses", "last-level misses (thousands)"),
]
DIVISORS = {"instructions": 1e6, "d1_misses": 1e6, "ll_misses": 1e3}


def scale_argument():
    text = os.environ.get("BENCH_SCALE", "0.25")
    try:
        scale = float(text)
    except ValueError:
        scale = -1.0
    if not 0 < scale <= 4:
        sys.exit(f"instructions.py: BENCH_SCALE must be a number in (0, 4], got '{text}'")
    return scale


def parse_counters(output):
    """The counters from cachegrind's summary, or None for any it lacks."""
    values = {}
    for field, label, _ in COUNTERS:
        found = re.search(r"^==\d+== " + re.escape(label) + r":\s+([\d,]+)", output, re.M)
        values[field] = int(found.group(1).replace(",", "")) if found else None
    return values


def measure(args, workload, allocator, scale):
    """Runs one workload under one allocator in cachegrind; returns a row."""
    name, library = allocator
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=yes",
               "--cachegrind-out-file=/dev/null"]
    command += run.workload_command(workload, args, scale)
    env = run.workload_environment(name, library)
    env["BENCH_SETTLE_MS"] = "0"  # sleeping executes nothing
    env.pop("BENCH_TRIM", None)
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=run.RUN_TIMEOUT_S * 4, check=False)
    row = {"workload": workload[0], "allocator": name, **parse_counters(done.stdout)}
    status = "ok" if done.returncode == 0 else f"exit status {done.returncode}"
    if status == "ok" and row["instructions"] is None:
        status = "no cachegrind summary"
    row["status"] = status if status == "ok" else run.failure_reason(done.stdout, status)
    print(f"[{workload[0]} / {name}] {row['status']}", file=sys.stderr, flush=True)
    return row


def main():
    args = run.parse_arguments()
    if shutil.which("valgrind") is None:
        print("note: valgrind is not installed: instruction counts skipped")
        return 0
    workloads = run.select_workloads()
    allocators = [a for a in run.select_allocators() if a[0] != "unhardened"]
    if not workloads or not allocators:
        sys.exit("instructions.py: nothing to run (check BENCH_FILTER and BENCH_ALLOCATORS)")
    scale = scale_argument()
    print(f"instructions.py: {len(workloads)} workload(s) x {len(allocators)} allocator(s) "
          f"under cachegrind, scale {scale}", file=sys.stderr, flush=True)
    jobs = [(w, a) for w in workloads for a in allocators]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        found = list(pool.map(lambda job: measure(args, job[0], job[1], scale), jobs))
    # The main suite's tables, with one "run" per cell.
    cells = {(r["workload"], r["allocator"]): {**r, "status": "ok" if r["status"] == "ok" else "FAIL"}
             for r in found}
    summary = {"workloads": [w[0] for w in workloads], "allocators": [a[0] for a in allocators],
               "cells": cells, "runs": 1}
    print(f"libpoolmalloc allocator benchmarks under cachegrind (scale {scale}); "
          "ratios are value / glibc and value / jemalloc (lower is better)\n")
    for field, _, title in COUNTERS:
        print(bench_report.format_metric_table(summary, field, title, DIVISORS[field], "{:.1f}"))
    outdir = os.environ.get("BENCH_RESULTS") or os.path.join(args.builddir, "bench", "results")
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "instructions.csv")
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, ["workload", "allocator"] + [c[0] for c in COUNTERS] +
                                ["status"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(found)
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
