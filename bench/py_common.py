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
    print(f"peak_rss_kb={status_kb('VmHWM')[0]}")
    settle()
    print_rss("after_free")
    if os.environ.get("BENCH_TRIM") == "1":
        ctypes.CDLL(None).malloc_trim(0)
        print_rss("after_trim")
    sys.exit(0)


def print_rss(when):
    """rss_WHEN_kb (VmRSS) and its anonymous part anon_WHEN_kb (RssAnon)."""
    total, anon = status_kb("VmRSS", "RssAnon")
    print(f"rss_{when}_kb={total}")
    print(f"anon_{when}_kb={anon}")


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


def status_kb(*fields):
    """The fields of /proc/self/status (KiB) from one read, so that they
    describe the same moment; a field not found reads -1."""
    found = dict.fromkeys(fields, -1)
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in found:
                found[name] = int(value.split()[0])
    return [found[field] for field in fields]
