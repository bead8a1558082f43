#!/usr/bin/env python3
"""latency.py: tail latency of large allocations beside a thread that frees
big blocks (make bench-latency). Runs bench/wl-tail (see its header) under
each allocator, for each shape of the freeing thread's blocks, with the
allocator's default settings and with its release of freed memory made
prompt (about 20 ms), runs alternated round-robin as in run.py. The tables
give, per case, the medians over the runs of each run's median, 99.9th
percentile and maximum latency of a round's malloc and free calls, as
values and as ratios to glibc and jemalloc (lower is better).

Prompt release is where an allocator's madvise and munmap calls come
often and meet the other thread's allocations; each allocator is asked
for it in its own terms (PROMPT_RELEASE). glibc has no delay: it unmaps a
freed mapping and trims its heap in the call to free.

Environment: BENCH_ALLOCATORS and BENCH_RUNS as for run.py (default 5);
BENCH_SECONDS, each run's length (default 3); BENCH_RESULTS, where
latency.csv goes (default: the build's bench/results)."""

import sys

sys.dont_write_bytecode = True  # never leave __pycache__ in the source tree

import csv  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402

import bench_report  # noqa: E402
import run  # noqa: E402

SHAPES = ["many", "huge"]
PROMPT_RELEASE = {
    "jemalloc": {"MALLOC_CONF": "dirty_decay_ms:20,muzzy_decay_ms:0"},
    # mimalloc 2.0 (Debian 12); 2.1 renamed the first to MIMALLOC_PURGE_DELAY
    "mimalloc": {"MIMALLOC_RESET_DELAY": "20", "MIMALLOC_SEGMENT_DECOMMIT_DELAY": "20"},
    # gperftools has no delay, only a rate: 10 is ten times its default
    "tcmalloc": {"TCMALLOC_RELEASE_RATE": "10"},
    "libpoolmalloc": {"POOLMALLOC_CONF": "decay_ms:20"},
    "unhardened": {"POOLMALLOC_CONF": "decay_ms:20"},
}
FIELDS = [
    # (wl-tail's key, table title)
    ("p50_us", "median latency (us)"),
    ("p999_us", "99.9th percentile latency (us)"),
    ("max_us", "maximum latency (us)"),
]


def cases():
    """(case name, shape, prompt release?) in table order."""
    return [(f"{shape} {'prompt' if prompt else 'default'}", shape, prompt)
            for prompt in (False, True) for shape in SHAPES]


def parse_latencies(output):
    values = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in dict(FIELDS):
            try:
                values[key] = float(value)
            except ValueError:
                pass
    return values


def measure(args, case, allocator, seconds):
    """One run of wl-tail; returns a row for the CSV."""
    name, shape, prompt = case
    allocator_name, library = allocator
    env = run.workload_environment(allocator_name, library)
    if prompt:
        env.update(PROMPT_RELEASE.get(allocator_name, {}))
    command = [os.path.join(args.builddir, "bench", "wl-tail"), shape, str(seconds)]
    _, _, output, status = run.run_once(command, env)
    values = parse_latencies(output)
    if status == "ok" and run.PRELOAD_REFUSED in output:
        status = "preload refused"
    if status == "ok" and len(values) < len(FIELDS):
        status = "no latency report"
    row = {"case": name, "allocator": allocator_name, **values,
           "status": "ok" if status == "ok" else run.failure_reason(output, status)}
    return row


def summarize(rows, case_names, allocator_names, runs):
    """The report's summary form: medians per (case, allocator)."""
    groups = {}
    for row in rows:
        groups.setdefault((row["case"], row["allocator"]), []).append(row)
    cells = {}
    for key, group in groups.items():
        failed = [r for r in group if r["status"] != "ok"]
        if failed:
            cells[key] = {"status": "FAIL", "note": failed[0]["status"]}
            continue
        cells[key] = {"status": "ok", "note": "",
                      **{field: statistics.median(r[field] for r in group)
                         for field, _ in FIELDS}}
    return {"workloads": case_names, "allocators": allocator_names, "cells": cells, "runs": runs}


def main():
    args = run.parse_arguments()
    runs = run.run_count()
    seconds = run.env_number("BENCH_SECONDS", "3", 600, "latency.py")
    allocators = run.select_allocators()
    if not allocators:
        sys.exit("latency.py: no allocator to run (check BENCH_ALLOCATORS)")
    all_cases = cases()
    total = runs * len(all_cases) * len(allocators)
    rows = []
    for run_number in range(1, runs + 1):
        for case in all_cases:
            for allocator in run.rotated(allocators, run_number - 1):
                row = measure(args, case, allocator, seconds)
                rows.append({**row, "run": run_number})
                print(f"[{len(rows)}/{total}] {case[0]} {allocator[0]} run {run_number}: "
                      f"{row['status']}", file=sys.stderr, flush=True)
    summary = summarize(rows, [c[0] for c in all_cases], [a[0] for a in allocators], runs)
    print(f"libpoolmalloc tail latency: a thread's large malloc and free calls beside a thread "
          f"freeing big blocks, {seconds:g} s per run, medians of {runs} run(s); ratios are "
          f"value / glibc and value / jemalloc (lower is better)\n")
    for field, title in FIELDS:
        print(bench_report.format_metric_table(summary, field, title, 1, "{:.1f}"))
    failures = [f"{case} / {allocator}: {cell['note']}"
                for (case, allocator), cell in summary["cells"].items() if cell["status"] != "ok"]
    if failures:
        print("failures:\n  " + "\n  ".join(failures))
    outdir = os.environ.get("BENCH_RESULTS") or os.path.join(args.builddir, "bench", "results")
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "latency.csv")
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, ["case", "allocator", "run"] + [f for f, _ in FIELDS] +
                                ["status"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"\nresults: {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
