#!/usr/bin/env python3
"""run.py: runs the allocator benchmark suite (make bench).

For run r, for each workload, for each allocator (round-robin, so drift on a
shared machine spreads evenly; run r starts its rounds at the r-th
allocator, so that no allocator always runs first, straight after another
workload), one child process runs the workload with the allocator preloaded.
The wall time comes from time.perf_counter around the child; the peak RSS
(VmHWM) and the RSS after the free phase (VmRSS) from the workload's own
report, with os.wait4's ru_maxrss as the fallback for a workload that died
before reporting (ru_maxrss also counts the runner's pages the child held
between fork and exec). The medians, and how far each cell's wall times
spread, go to tables on stdout, a CSV and an SVG chart (see bench/README.md).

Environment: BENCH_RUNS (default 5), BENCH_FILTER (comma-separated workload
substrings), BENCH_ALLOCATORS (comma-separated allocator names), BENCH_QUICK=1
(tiny sizes), BENCH_SETTLE_MS (pause after the free phase before RSS is read,
default 1600, 0 in quick mode; not counted in the wall time), BENCH_RESULTS
(output directory), BENCH_SAVE=1 (also copy the
results to the source tree's bench/results/), JEMALLOC_SO, MIMALLOC_SO,
TCMALLOC_SO, POOLMALLOC_SO, POOLMALLOC_UNHARDENED_SO (libraries to preload;
empty = not installed)."""

import sys

sys.dont_write_bytecode = True  # never leave __pycache__ in the source tree

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import bench_chart  # noqa: E402
import bench_report  # noqa: E402

QUICK_SCALE = 0.02
# Long enough for a 1 s decay checked every half decay to release memory
# (libpoolmalloc's default); jemalloc's default decay is 10 s.
SETTLE_MS = 1600
RUN_TIMEOUT_S = 600
# A run slower than this is not repeated: one pathological cell must not
# blow the suite's time budget (its later runs are skipped and noted).
SLOW_RUN_S = 30

# (name, program and leading arguments, threads per core or 0 for one
# thread, Python workload)
WORKLOADS = [
    ("churn", ["bench/wl-churn"], 0, False),
    ("larson", ["bench/wl-larson"], 2, False),
    ("xmalloc", ["bench/wl-xmalloc"], 2, False),
    ("cache-scratch", ["bench/wl-cache-scratch"], 1, False),
    ("realloc", ["bench/wl-realloc"], 0, False),
    ("large", ["bench/wl-large"], 0, False),
    ("large-threads", ["bench/wl-large"], 1, False),
    ("aligned", ["bench/wl-aligned"], 0, False),
    ("inference-malloc", ["bench/wl-inference", "malloc"], 0, False),
    ("inference-arena", ["bench/wl-inference", "arena"], 0, False),
    ("sqlite", ["bench/py_sqlite.py"], 0, True),
    ("python", ["bench/py_objects.py"], 0, True),
]

# (name, environment variable holding the library; None = nothing preloaded)
ALLOCATORS = [
    ("glibc", None),
    ("jemalloc", "JEMALLOC_SO"),
    ("mimalloc", "MIMALLOC_SO"),
    ("tcmalloc", "TCMALLOC_SO"),
    ("libpoolmalloc", "POOLMALLOC_SO"),
    # The same library built with -DPM_HARDENING=0: the cost of its checks.
    ("unhardened", "POOLMALLOC_UNHARDENED_SO"),
]


def parse_arguments():
    parser = argparse.ArgumentParser(description="libpoolmalloc allocator benchmarks")
    parser.add_argument("--builddir", required=True, help="top build directory")
    parser.add_argument("--srcdir", required=True, help="top source directory")
    parser.add_argument("--list", action="store_true", help="print the workload names")
    return parser.parse_args()


def env_list(name):
    value = os.environ.get(name, "").strip()
    return [item.strip() for item in value.split(",") if item.strip()] if value else []


def env_number(name, default, high, program):
    """A number in (0, high] from the environment variable name (default
    when unset); exits naming the variable otherwise."""
    text = os.environ.get(name, default)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= high:
        sys.exit(f"{program}: {name} must be a number in (0, {high:g}], got '{text}'")
    return value


def select_workloads():
    wanted = env_list("BENCH_FILTER")
    return [w for w in WORKLOADS if not wanted or any(s in w[0] for s in wanted)]


def select_allocators():
    """Returns [(name, library path or None)], noting on stderr the skipped ones."""
    wanted = env_list("BENCH_ALLOCATORS")
    unknown = set(wanted) - {name for name, _ in ALLOCATORS}
    if unknown:
        sys.exit(f"run.py: unknown allocator(s) in BENCH_ALLOCATORS: {', '.join(sorted(unknown))}")
    chosen = []
    for name, variable in ALLOCATORS:
        if wanted and name not in wanted:
            continue
        path = os.environ.get(variable, "") if variable else None
        if variable and (not path or not os.path.exists(path)):
            print(f"note: {name} skipped: not installed ({variable}='{path}')", file=sys.stderr)
            continue
        refusal = preload_refusal(path) if variable else None
        if refusal:
            print(f"note: {name} skipped: {refusal}", file=sys.stderr)
            continue
        chosen.append((name, path))
    return chosen


# ld.so's words when it cannot load a preloaded object (not a shared
# library, another architecture, a missing dependency): it goes on without
# it, and the program runs on glibc's malloc under the other's name.
PRELOAD_REFUSED = "cannot be preloaded"


def preload_refusal(path):
    """ld.so's complaint about preloading path, or None when it loads."""
    probe = subprocess.run(["/bin/true"], env=dict(os.environ, LD_PRELOAD=path),
                           stderr=subprocess.PIPE, text=True, check=False)
    for line in probe.stderr.splitlines():
        if PRELOAD_REFUSED in line:
            return line.strip()
    return None


def run_count():
    text = os.environ.get("BENCH_RUNS", "5")
    if not text.isdigit() or int(text) < 1:
        sys.exit(f"run.py: BENCH_RUNS must be a positive integer, got '{text}'")
    return int(text)


def workload_command(workload, args, scale):
    _, program, per_core, is_python = workload
    threads = max(1, per_core * (len(os.sched_getaffinity(0)) or 1))
    if is_python:
        command = [sys.executable, os.path.join(args.srcdir, program[0])]
    else:
        command = [os.path.join(args.builddir, program[0])] + program[1:]
    return command + [str(threads), str(scale)]


def workload_environment(allocator, library):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("BENCH_TRIM", None)
    if library:
        env["LD_PRELOAD"] = library
    if allocator == "glibc":
        env["BENCH_TRIM"] = "1"  # the target compares with glibc after malloc_trim
    quick = os.environ.get("BENCH_QUICK") == "1"
    env.setdefault("BENCH_SETTLE_MS", "0" if quick else str(SETTLE_MS))
    # Python's own small-object allocator would hide the allocator under test.
    env["PYTHONMALLOC"] = "malloc"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def parse_report(output):
    values = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in bench_report.RSS_FIELDS:
            try:
                values[key] = int(value.split()[0])
            except (ValueError, IndexError):
                pass
        elif sep and key == "settle_s":
            try:
                values[key] = float(value)
            except ValueError:
                pass
    return values


def run_once(command, env):
    """Runs one child; returns (wall seconds, peak RSS KiB, output, status)."""
    timed_out = threading.Event()
    with tempfile.TemporaryFile(mode="w+") as log:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)

        def kill_child():
            timed_out.set()
            child.kill()

        timer = threading.Timer(RUN_TIMEOUT_S, kill_child)
        timer.start()
        # wait4 rather than Popen.wait: only wait4 gives this child's own
        # ru_maxrss (RUSAGE_CHILDREN is a maximum over all children).
        _, wait_status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        child.returncode = os.waitstatus_to_exitcode(wait_status)
        log.seek(0)
        output = log.read()
    if timed_out.is_set():
        status = f"timeout after {RUN_TIMEOUT_S} s"
    elif child.returncode == 0:
        status = "ok"
    elif child.returncode < 0:
        status = f"killed by signal {-child.returncode}"
    else:
        status = f"exit status {child.returncode}"
    return wall, usage.ru_maxrss, output, status


def failure_reason(output, status):
    """The workload's own FAIL line (or ld.so's refusal of the preloaded
    library) when it printed one, else the status."""
    for line in output.splitlines():
        if "FAIL" in line or PRELOAD_REFUSED in line:
            return line.strip()
    last = output.strip().splitlines()[-1:] or [""]
    return f"{status}: {last[0][:120]}".rstrip(": ")


def rotated(items, by):
    """items starting at index by (modulo their count), wrapping around."""
    start = by % len(items)
    return items[start:] + items[:start]


def run_suite(args, workloads, allocators, runs, scale):
    """Returns the results and {(workload, allocator): why its later runs
    were skipped} for the cells that failed or were too slow to repeat."""
    results = []
    skipped = {}
    total = runs * len(workloads) * len(allocators)
    done = 0
    for run in range(1, runs + 1):
        for workload in workloads:
            for allocator, library in rotated(allocators, run - 1):
                done += 1
                cell = (workload[0], allocator)
                progress = f"[{done}/{total}] {workload[0]} {allocator} run {run}"
                if cell in skipped:
                    print(f"{progress}: skipped, {skipped[cell]}", file=sys.stderr, flush=True)
                    continue
                print(progress, file=sys.stderr, flush=True)
                command = workload_command(workload, args, scale)
                wall, peak, output, status = run_once(command,
                                                      workload_environment(allocator, library))
                report = parse_report(output)
                wall -= report.get("settle_s", 0.0)
                ok = (status == "ok" and "rss_after_free_kb" in report and
                      PRELOAD_REFUSED not in output)
                if not ok:
                    reason = failure_reason(output, status)
                    print(f"    FAIL: {reason}", file=sys.stderr, flush=True)
                    skipped[cell] = f"failed in run {run}"
                elif wall > SLOW_RUN_S and run < runs:
                    skipped[cell] = f"run {run} took {wall:.0f} s (> {SLOW_RUN_S} s)"
                results.append(bench_report.Result(
                    workload=workload[0], allocator=allocator, run=run, wall_s=wall,
                    peak_rss_kb=report.get("peak_rss_kb", peak),
                    rss_after_free_kb=report.get("rss_after_free_kb", -1),
                    rss_after_trim_kb=report.get("rss_after_trim_kb", -1),
                    anon_after_free_kb=report.get("anon_after_free_kb", -1),
                    anon_after_trim_kb=report.get("anon_after_trim_kb", -1),
                    status="ok" if ok else "FAIL", note="" if ok else reason))
    return results, skipped


def main():
    args = parse_arguments()
    workloads = select_workloads()
    if args.list:
        print("\n".join(w[0] for w in workloads))
        return 0
    if not workloads:
        sys.exit("run.py: BENCH_FILTER matches no workload")
    allocators = select_allocators()
    if not allocators:
        sys.exit("run.py: no allocator to run (check BENCH_ALLOCATORS)")
    runs = run_count()
    scale = QUICK_SCALE if os.environ.get("BENCH_QUICK") == "1" else 1.0
    results, skipped = run_suite(args, workloads, allocators, runs, scale)

    outdir = os.environ.get("BENCH_RESULTS") or os.path.join(args.builddir, "bench", "results")
    os.makedirs(outdir, exist_ok=True)
    csv_path = os.path.join(outdir, "latest.csv")
    svg_path = os.path.join(outdir, "latest.svg")
    bench_report.write_csv(csv_path, results)
    summary = bench_report.summarize(results, [w[0] for w in workloads],
                                     [a[0] for a in allocators])
    print(bench_report.format_tables(summary, runs, scale, skipped))
    bench_chart.write_svg(svg_path, summary)
    print(f"results: {csv_path} {svg_path}")
    if os.environ.get("BENCH_SAVE") == "1":
        saved = os.path.join(args.srcdir, "bench", "results")
        os.makedirs(saved, exist_ok=True)
        for path in (csv_path, svg_path):
            shutil.copy(path, saved)
        print(f"saved to {saved}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
