#!/usr/bin/env python3
"""instructions.py: the suite's workloads under Valgrind's cachegrind
(make bench-instructions): instructions executed, first-level data-cache
misses and last-level misses, per workload and allocator, as ratios to
glibc and jemalloc.

Wall time on a shared machine varies run to run (the main suite's slowest
run of a cell takes 1.2-2.7x its fastest); these counts come from a
simulated machine and move far less between runs (what still moves them:
the order in which threads run, and for allocators that release memory on
a timer, how often that timer fires in a program run 20-100x slower; see
bench/README.md), so they say whether an allocator does more work than
another where wall time cannot. What they cannot show: cachegrind runs
one thread at a time and models no coherence traffic, so false sharing,
lock contention and page fault costs are left to the wall-time suite.

Environment: BENCH_FILTER and BENCH_ALLOCATORS as for run.py; BENCH_SCALE
(default 0.25) sizes the workloads; BENCH_RESULTS is where instructions.csv
goes (default: the build's bench/results). Exits 0 with a note when
valgrind is not installed."""

import sys

sys.dont_write_bytecode = True  # never leave __pycache__ in the source tree

import concurrent.futures  # noqa: E402
import csv  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402

import bench_report  # noqa: E402
import run  # noqa: E402

COUNTERS = [
    # (CSV field, cachegrind's summary label as a pattern, table title);
    # Valgrind 3.21 narrowed "I   refs" to "I refs"
    ("instructions", r"I\s+refs", "instructions (millions)"),
    ("d1_misses", r"D1\s+misses", "L1 data misses (millions)"),
    ("ll_misses", r"LL\s+misses", "last-level misses (thousands)"),
]
TIMEOUT_S = run.RUN_TIMEOUT_S * 4  # cachegrind runs programs 20-100x slower
UNREADABLE_DEBUG_INFO = ("valgrind cannot read the build's debug info "
                         "(configure with CFLAGS='-g -O2 -gdwarf-4')")
DIVISORS = {"instructions": 1e6, "d1_misses": 1e6, "ll_misses": 1e3}


def parse_counters(output):
    """The counters from cachegrind's summary, or None for any it lacks."""
    values = {}
    for field, label, _ in COUNTERS:
        found = re.search(r"^==\d+== " + label + r":\s+([\d,]+)", output, re.M)
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
    try:
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=TIMEOUT_S, check=False)
        output = done.stdout
        status = "ok" if done.returncode == 0 else f"exit status {done.returncode}"
    except subprocess.TimeoutExpired:
        output, status = "", f"timeout after {TIMEOUT_S} s"
    except OSError as error:
        output, status = "", f"cannot run valgrind: {error}"
    row = {"workload": workload[0], "allocator": name, **parse_counters(output)}
    if status == "ok" and None in (row[field] for field, _, _ in COUNTERS):
        status = "no cachegrind summary"
    if "debuginfo reader" in output:
        # Valgrind 3.19 (Debian 12) reads clang 14's default DWARF 5 wrongly
        # and stops before the program runs.
        status = UNREADABLE_DEBUG_INFO
    elif status != "ok":
        status = run.failure_reason(output, status)
    row["status"] = status
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
    scale = run.env_number("BENCH_SCALE", "0.25", 4, "instructions.py")
    print(f"instructions.py: {len(workloads)} workload(s) x {len(allocators)} allocator(s) "
          f"under cachegrind, scale {scale}", file=sys.stderr, flush=True)
    jobs = [(w, a) for w in workloads for a in allocators]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        found = list(pool.map(lambda job: measure(args, job[0], job[1], scale), jobs))
    # The main suite's tables, with one "run" per cell.
    cells = {}
    for row in found:
        cells[(row["workload"], row["allocator"])] = {
            **row, "status": "ok" if row["status"] == "ok" else "FAIL"}
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
