#!/usr/bin/env python3
"""stats_check.py: validates the JSON statistics libpoolmalloc writes at exit.

Given a directory of POOLMALLOC_STATS_FILE outputs (one file per process,
named with %p), it checks that every file is exactly one JSON object with
all the keys of the documented contract and internally consistent figures,
then that the processes together made enough allocations and frees to prove
the program really ran on the library. Exit status 0 when all holds; each
problem is printed on its own line.
"""

import argparse
import json
import pathlib
import sys

REQUIRED_KEYS = (
    "allocated_bytes", "peak_allocated_bytes", "mapped_bytes", "released_bytes",
    "retained_bytes", "total_allocations", "total_frees", "reuse_count",
    "reuse_rate", "fragmentation", "classes", "arenas",
)
COUNTERS = REQUIRED_KEYS[:8]


def file_problems(name, stats):
    """Contract violations of one process's statistics."""
    if not isinstance(stats, dict):
        return [f"{name}: top level is {type(stats).__name__}, not an object"]
    missing = [k for k in REQUIRED_KEYS if k not in stats]
    if missing:
        return [f"{name}: missing keys {', '.join(missing)}"]
    problems = []
    for key in COUNTERS:
        value = stats[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(f"{name}: {key} = {value!r} is not a non-negative integer")
    for key in ("reuse_rate", "fragmentation"):
        if not isinstance(stats[key], (int, float)) or not 0.0 <= stats[key] <= 1.0:
            problems.append(f"{name}: {key} = {stats[key]!r} is not within [0, 1]")
    for key in ("classes", "arenas"):
        if not isinstance(stats[key], list):
            problems.append(f"{name}: {key} is not an array")
    if problems:
        return problems
    if stats["peak_allocated_bytes"] < stats["allocated_bytes"]:
        problems.append(f"{name}: peak_allocated_bytes below allocated_bytes")
    if stats["total_frees"] > stats["total_allocations"]:
        problems.append(f"{name}: more frees than allocations")
    if stats["reuse_count"] > stats["total_allocations"]:
        problems.append(f"{name}: reuse_count above total_allocations")
    if stats["total_allocations"] > 0 and not stats["classes"]:
        problems.append(f"{name}: allocations were made but classes is empty")
    # Derived figures, as include/poolmalloc.h defines them.
    if stats["total_allocations"] > 0:
        expected = stats["reuse_count"] / stats["total_allocations"]
        if abs(stats["reuse_rate"] - expected) > 1e-3:
            problems.append(f"{name}: reuse_rate {stats['reuse_rate']} is not "
                            f"reuse_count / total_allocations = {expected:.6f}")
    if stats["mapped_bytes"] > 0:
        expected = 1.0 - stats["allocated_bytes"] / stats["mapped_bytes"]
        if abs(stats["fragmentation"] - expected) > 1e-3:
            problems.append(f"{name}: fragmentation {stats['fragmentation']} is not "
                            f"1 - allocated_bytes / mapped_bytes = {expected:.6f}")
    return problems + class_problems(name, stats)


def class_problems(name, stats):
    """Per-size-class rows must add up: live = allocations - frees, and no
    class can count more allocations than the whole allocator."""
    problems = []
    class_allocations = 0
    for row in stats["classes"]:
        if not isinstance(row, dict) or any(not isinstance(row.get(k), int) for k in (
                "block_size", "allocations", "frees", "live_blocks", "slabs", "slab_bytes")):
            return [f"{name}: class row {row!r} lacks an integer field"]
        if row["live_blocks"] != row["allocations"] - row["frees"]:
            problems.append(f"{name}: class {row['block_size']}: live_blocks "
                            f"{row['live_blocks']} != allocations - frees")
        class_allocations += row["allocations"]
    if class_allocations > stats["total_allocations"]:
        problems.append(f"{name}: classes count {class_allocations} allocations, "
                        f"more than total_allocations {stats['total_allocations']}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=pathlib.Path)
    parser.add_argument("--min-allocations", type=int, default=1)
    parser.add_argument("--min-processes", type=int, default=1)
    args = parser.parse_args()

    files = sorted(args.directory.glob("*.json"))
    problems = []
    if len(files) < args.min_processes:
        problems.append(f"{len(files)} statistics files in {args.directory}, "
                        f"expected at least {args.min_processes}")
    allocations = frees = classes = 0
    for path in files:
        try:
            stats = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            problems.append(f"{path.name}: not one valid JSON document: {err}")
            continue
        found = file_problems(path.name, stats)
        problems.extend(found)
        if not found:
            allocations += stats["total_allocations"]
            frees += stats["total_frees"]
            classes = max(classes, len(stats["classes"]))
    print(f"# stats: {len(files)} processes, total_allocations={allocations}, "
          f"total_frees={frees}, most classes in one process={classes}")
    if allocations < args.min_allocations:
        problems.append(f"total_allocations {allocations} < {args.min_allocations}: "
                        "the program's allocations did not go through the library")
    if frees == 0:
        problems.append("total_frees is 0 in every process")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
