#!/usr/bin/env python3
"""plan_check.py: checks a plan written by poolmalloc-plan -o, without the
library: same buffers as the problem, offsets aligned, no two buffers
overlapping in both time and address. Prints the figures it derives
(naive, lower_bound, planned) on one line for the caller to compare with
the tool's summary; exits 1 with a reason when the plan is wrong.

usage: plan_check.py PROBLEM.csv PLAN.csv ALIGNMENT"""
import csv
import sys


def read_rows(path, columns):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return [tuple(row[c].strip() for c in columns) for row in reader]


def fail(reason):
    print("plan_check: " + reason, file=sys.stderr)
    sys.exit(1)


def main():
    problem_path, plan_path, alignment = sys.argv[1], sys.argv[2], int(sys.argv[3])
    problem = read_rows(problem_path, ("id", "lower", "upper", "size"))
    plan = read_rows(plan_path, ("id", "lower", "upper", "size", "offset"))
    if [row[:4] for row in plan] != problem:
        fail("the plan's buffers differ from the problem's")
    buffers = [(int(lo), int(hi), int(size), int(off), ident)
               for ident, lo, hi, size, off in plan]
    for lo, hi, size, off, ident in buffers:
        if off % alignment:
            fail(f"{ident}: offset {off} is not a multiple of {alignment}")
    # Sweep in time order; compare each buffer with those still live.
    by_start = sorted(buffers)
    for i, (lo, hi, size, off, ident) in enumerate(by_start):
        for lo2, hi2, size2, off2, ident2 in by_start[i + 1:]:
            if lo2 >= hi:
                break
            if off < off2 + size2 and off2 < off + size:
                fail(f"{ident} and {ident2} overlap in time and address")
    steps = sorted({lo for lo, *_ in buffers})
    lower_bound = max((sum(size for lo, hi, size, *_ in buffers if lo <= s < hi) for s in steps),
                      default=0)
    naive = sum((size + alignment - 1) // alignment * alignment for _, _, size, *_ in buffers)
    planned = max((off + size for _, _, size, off, _ in buffers), default=0)
    print(f"naive={naive} lower_bound={lower_bound} planned={planned}")


main()
