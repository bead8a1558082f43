"""py_common.py: what the Python workloads share: the SCALE argument, the
failure exit, and the end-of-run RSS report in the same "key=value" lines
bench_util.c prints for the C workloads."""

import ctypes
import os
import sys
import time


def scale_argument():
    """SCALE from "SCRIPT [THREADS [SCALE]]"; THREADS is ignored."""
    return float(sys.argv[2]) if len(sys.argv) > 2 else 1.0


def finish(workload, failure, summary):
    """Exits 2 with "WORKLOAD: FAIL: failure" when failure is set; otherwise
    prints the summary and the RSS report and exits 0."""
    if failure:
        print(f"{workload}: FAIL: {failure}", file=sys.stderr)
        sys.exit(2)
    print(summary)
    print(f"peak_rss_kb={status_kb('VmHWM')}")
    settle()
    print(f"rss_after_free_kb={status_kb('VmRSS')}")
    print(f"anon_after_free_kb={status_kb('RssAnon')}")
    if os.environ.get("BENCH_TRIM") == "1":
        ctypes.CDLL(None).malloc_trim(0)
        print(f"rss_after_trim_kb={status_kb('VmRSS')}")
        print(f"anon_after_trim_kb={status_kb('RssAnon')}")
    sys.exit(0)


def settle():
    """Waits BENCH_SETTLE_MS before RSS is read, as bench_util.c does, so an
    allocator that releases memory after a delay is measured after it; the
    runner subtracts the printed settle_s from the wall time."""
    ms = int(os.environ.get("BENCH_SETTLE_MS", "0") or 0)
    if ms <= 0:
        return
    start = time.monotonic()
    time.sleep(ms / 1000.0)
    print(f"settle_s={time.monotonic() - start:.6f}")


def status_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1
