"""bench_report.py: turns the benchmark runs into figures: the CSV of every
run, the medians per workload and allocator, their ratios against glibc and
jemalloc with geometric means, the spread of the wall times, the wall time
ratios paired by round with the interval that holds their median, and the
libpoolmalloc targets."""

import collections
import csv
import math
import statistics

Result = collections.namedtuple(
    "Result", "workload allocator run wall_s peak_rss_kb rss_after_free_kb "
    "rss_after_trim_kb anon_after_free_kb anon_after_trim_kb status note")

# The KiB figures a workload prints ("key=value"); anon_* is the anonymous
# part of the RSS beside it (RssAnon), the rest being file pages.
RSS_FIELDS = ("peak_rss_kb", "rss_after_free_kb", "rss_after_trim_kb", "anon_after_free_kb",
              "anon_after_trim_kb")
CSV_FIELDS = ["workload", "allocator", "run", "wall_s", *RSS_FIELDS, "status", "note"]

# (field, title, unit divisor, value format); after-free is compared with
# glibc after malloc_trim(0), the others with plain glibc.
METRICS = [
    ("wall_s", "wall time (s)", 1.0, "{:.3f}"),
    ("peak_rss_kb", "peak RSS (MiB)", 1024.0, "{:.1f}"),
    ("rss_after_free_kb", "RSS after the free phase (MiB; x glibc after malloc_trim)", 1024.0,
     "{:.1f}"),
]
TRIM_REFERENCE = "glibc+trim"
TIME_TARGET_VS_JEMALLOC = 0.85
RSS_AFTER_FREE_SLACK = 1.10
# The confidence the interval of the paired time ratios aims for.
INTERVAL_CONFIDENCE = 0.95


def write_csv(path, results):
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_FIELDS)
        for r in results:
            # Microseconds: the quick mode's runs last milliseconds, and
            # ratios taken from the CSV must match the tables'.
            writer.writerow([r.workload, r.allocator, r.run, f"{r.wall_s:.6f}",
                             *(getattr(r, field) for field in RSS_FIELDS), r.status, r.note])


def summarize(results, workloads, allocators):
    """Medians per (workload, allocator), and the fastest and slowest wall
    time; a cell with any failed run is FAIL."""
    runs = collections.defaultdict(list)
    for r in results:
        runs[(r.workload, r.allocator)].append(r)
    cells = {}
    for key, group in runs.items():
        failed = [r for r in group if r.status != "ok"]
        if failed:
            cells[key] = {"status": "FAIL", "note": failed[0].note}
            continue
        cell = {"status": "ok", "note": ""}
        for field in ("wall_s", *RSS_FIELDS):
            cell[field] = statistics.median(getattr(r, field) for r in group)
        cell["wall_s_fastest"] = min(r.wall_s for r in group)
        cell["wall_s_slowest"] = max(r.wall_s for r in group)
        cell["wall_s_by_run"] = {r.run: r.wall_s for r in group}
        cells[key] = cell
    return {"workloads": workloads, "allocators": allocators, "cells": cells,
            "runs": max((r.run for r in results), default=0)}


def cell_value(summary, workload, allocator, field):
    """The median, or None when the cell is missing or failed."""
    if allocator == TRIM_REFERENCE:
        allocator, field = "glibc", field.replace("_after_free_", "_after_trim_")
    cell = summary["cells"].get((workload, allocator))
    if cell is None or cell["status"] != "ok" or cell.get(field, -1) < 0:
        return None
    return cell[field]


def ratio(summary, workload, allocator, reference, field):
    value = cell_value(summary, workload, allocator, field)
    base = cell_value(summary, workload, reference, field)
    if value is None or base is None or base <= 0:
        return None
    return value / base


def geomean_ratio(summary, allocator, reference, field):
    ratios = [ratio(summary, w, allocator, reference, field) for w in summary["workloads"]]
    ratios = [x for x in ratios if x is not None and x > 0]
    if not ratios:
        return None
    return math.exp(sum(math.log(x) for x in ratios) / len(ratios))


def glibc_reference(field):
    return TRIM_REFERENCE if field == "rss_after_free_kb" else "glibc"


def format_ratio(value):
    return "-" if value is None else f"{value:.2f}"


def format_metric_table(summary, field, title, divisor, value_format):
    allocators = list(summary["allocators"])
    columns = list(allocators)
    if field == "rss_after_free_kb" and "glibc" in allocators:
        columns.insert(allocators.index("glibc") + 1, TRIM_REFERENCE)
    reference = glibc_reference(field)
    rows = [["workload"] + [f"{name}" for name in columns for _ in range(3)],
            [""] + [label for _ in columns for label in ("value", "xglibc", "xjemalloc")]]
    for workload in summary["workloads"]:
        row = [workload]
        for name in columns:
            cell = summary["cells"].get((workload, "glibc" if name == TRIM_REFERENCE else name))
            if cell is not None and cell["status"] == "FAIL":
                row += ["FAIL", "", ""]
                continue
            value = cell_value(summary, workload, name, field)
            row.append("-" if value is None else value_format.format(value / divisor))
            row.append(format_ratio(ratio(summary, workload, name, reference, field)))
            row.append(format_ratio(ratio(summary, workload, name, "jemalloc", field)))
        rows.append(row)
    geo = ["geomean"]
    for name in columns:
        geo += ["", format_ratio(geomean_ratio(summary, name, reference, field)),
                format_ratio(geomean_ratio(summary, name, "jemalloc", field))]
    rows.append(geo)
    return f"== {title}\n" + align(rows, group=3)


def format_spread_table(summary):
    """How far the wall times of one cell spread on this machine: the
    fastest run, its ratio to glibc's fastest, and the slowest run over the
    fastest. A median ratio near 1 whose cells spread widely says nothing
    about which allocator is faster; the fastest runs, least disturbed by
    other load, come closer to what each allocator costs."""
    rows = [["workload"] + [name for name in summary["allocators"] for _ in range(3)],
            [""] + [label for _ in summary["allocators"]
                    for label in ("fastest", "xglibc", "spread")]]
    for workload in summary["workloads"]:
        row = [workload]
        for name in summary["allocators"]:
            fastest = cell_value(summary, workload, name, "wall_s_fastest")
            slowest = cell_value(summary, workload, name, "wall_s_slowest")
            if fastest is None or slowest is None or fastest <= 0:
                row += ["-", "-", "-"]
                continue
            row += [f"{fastest:.3f}",
                    format_ratio(ratio(summary, workload, name, "glibc", "wall_s_fastest")),
                    f"{slowest / fastest:.2f}"]
        rows.append(row)
    return ("== wall time spread (s; fastest run, its ratio to glibc's fastest, slowest / "
            "fastest)\n" + align(rows, group=3))


def paired_ratios(summary, workload, allocator, reference):
    """Each round's wall time over the reference's in the same round. The
    rounds run every allocator back to back, so a ratio within one round
    cancels the drift of a shared machine that a ratio of medians keeps."""
    cells = [summary["cells"].get((workload, name)) for name in (allocator, reference)]
    if any(cell is None or cell["status"] != "ok" for cell in cells):
        return []
    mine, theirs = (cell["wall_s_by_run"] for cell in cells)
    return sorted(mine[run] / theirs[run] for run in mine if run in theirs and theirs[run] > 0)


def median_interval(values):
    """A distribution-free interval for the median of sorted values: the
    k-th smallest and k-th largest, for the largest k whose coverage (from
    the binomial law of how many values fall below the median) reaches
    INTERVAL_CONFIDENCE, or k = 1 when none does. Returns (low, high,
    coverage), or None for fewer than two values."""
    count = len(values)
    if count < 2:
        return None

    def coverage(k):  # P(k <= values below the median <= count - k)
        outside = sum(math.comb(count, below) for below in range(k)) / 2 ** count
        return 1 - 2 * outside

    k = 1
    while k + 1 <= count // 2 and coverage(k + 1) >= INTERVAL_CONFIDENCE:
        k += 1
    return values[k - 1], values[count - k], coverage(k)


def format_interval(interval):
    return "-" if interval is None else f"{interval[0]:.2f}-{interval[1]:.2f}"


def slower_beyond_noise(summary, workload, allocator, reference="glibc"):
    """Whether the interval of the paired ratios lies wholly above 1, at
    whatever coverage the runs give (fewer than six runs cannot reach
    INTERVAL_CONFIDENCE; the target line says how much they reach)."""
    interval = median_interval(paired_ratios(summary, workload, allocator, reference))
    return interval is not None and interval[0] > 1.0


def format_paired_table(summary):
    """Wall time over glibc's, round by round: the median of those ratios
    and the interval that holds it. Where the interval straddles 1, the
    runs do not tell the two allocators apart on this machine."""
    if "glibc" not in summary["allocators"]:
        return ""
    columns = [a for a in summary["allocators"] if a != "glibc"]
    rows = [["workload"] + [name for name in columns for _ in range(2)],
            [""] + [label for _ in columns for label in ("median", "interval")]]
    coverages = []
    for workload in summary["workloads"]:
        row = [workload]
        for name in columns:
            ratios = paired_ratios(summary, workload, name, "glibc")
            interval = median_interval(ratios)
            if interval is not None:
                coverages.append(interval[2])
            row += [format_ratio(statistics.median(ratios) if ratios else None),
                    format_interval(interval)]
        rows.append(row)
    confidence = (f"holds the median with {min(coverages):.0%} confidence or more"
                  if coverages else "needs two runs or more")
    return ("== wall time x glibc, paired by round (median of the rounds' ratios; the interval "
            f"{confidence})\n" + align(rows, group=2))


def format_split_table(summary):
    """RSS after the free phase split into anonymous memory (heap, thread
    stacks, the allocators' metadata) and file pages (code and read-only
    data), in KiB, with each split's difference from glibc after
    malloc_trim: a preloaded allocator's own library is file pages that
    glibc's malloc, part of libc, does not add."""
    if "glibc" not in summary["allocators"]:
        return ""
    columns = [TRIM_REFERENCE] + [a for a in summary["allocators"] if a != "glibc"]
    rows = [["workload"] + [name for name in columns for _ in range(3)],
            [""] + [label for _ in columns for label in ("anon", "file", "+KiB")]]
    for workload in summary["workloads"]:
        base_total = cell_value(summary, workload, TRIM_REFERENCE, "rss_after_free_kb")
        row = [workload]
        for name in columns:
            total = cell_value(summary, workload, name, "rss_after_free_kb")
            anon = cell_value(summary, workload, name, "anon_after_free_kb")
            if total is None or anon is None:
                row += ["-", "-", "-"]
                continue
            row += [f"{anon:.0f}", f"{total - anon:.0f}",
                    "-" if base_total is None or name == TRIM_REFERENCE
                    else f"{total - base_total:+.0f}"]
        rows.append(row)
    return ("== RSS after the free phase, anonymous and file pages (KiB; +KiB: total minus "
            f"{TRIM_REFERENCE})\n" + align(rows, group=3))


def align(rows, group):
    """Right-aligned columns; the allocator name spans its group of three."""
    count = max(len(r) for r in rows)
    rows = [r + [""] * (count - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in rows[1:]) for i in range(count)]
    lines = []
    header = rows[0][0].ljust(widths[0])
    for start in range(1, count, group):
        span = sum(widths[start:start + group]) + 2 * (group - 1)
        header += "  " + rows[0][start].rjust(span)
    lines.append(header.rstrip())
    for r in rows[1:]:
        text = r[0].ljust(widths[0])
        for i in range(1, count):
            text += "  " + r[i].rjust(widths[i])
        lines.append(text.rstrip())
    return "\n".join(lines) + "\n"


def target_lines(summary, candidate="libpoolmalloc"):
    """One line per target the lead judges libpoolmalloc against."""
    if candidate not in summary["allocators"]:
        return []
    lines = [f"== targets for {candidate}"]
    workloads = summary["workloads"]

    def verdict(ok):
        return "met " if ok else "MISS"

    for reference, target, note in (("jemalloc", TIME_TARGET_VS_JEMALLOC, ""),
                                    ("mimalloc", 1.0, ", over the workloads both pass")):
        if reference not in summary["allocators"]:
            lines.append(f"n/a  time geomean vs {reference}: {reference} was not run")
            continue
        value = geomean_ratio(summary, candidate, reference, "wall_s")
        if value is None:
            lines.append(f"n/a  time geomean vs {reference}: no workload that both passed")
        else:
            lines.append(f"{verdict(value <= target)} time geomean vs {reference} {value:.2f} "
                         f"(target <= {target:.2f}{note})")
    checks = [("time vs glibc", "wall_s", "glibc", 1.0),
              ("peak RSS vs jemalloc", "peak_rss_kb", "jemalloc", 1.0),
              ("RSS after free vs glibc after malloc_trim", "rss_after_free_kb", TRIM_REFERENCE,
               RSS_AFTER_FREE_SLACK)]
    for label, field, reference, limit in checks:
        if (reference if reference != TRIM_REFERENCE else "glibc") not in summary["allocators"]:
            lines.append(f"n/a  {label}: {reference} was not run")
            continue
        misses, compared = [], []
        for w in workloads:
            value = ratio(summary, w, candidate, reference, field)
            if value is None:
                continue
            compared.append(w)
            if value > limit:
                # Three decimals: a miss by less than 0.005 must not read as the limit.
                misses.append(f"{w} {value:.3f}" if field != "wall_s" else
                              f"{w} {value:.3f} ({time_miss_detail(summary, w, candidate)})")
        # A workload where either side failed is no evidence either way.
        uncompared = [w for w in workloads if w not in compared]
        unjudged = f"; not compared (a failed run): {', '.join(uncompared)}" if uncompared else ""
        if not compared:
            lines.append(f"n/a  {label}: no workload that both passed")
            continue
        detail = ", ".join(misses) if misses else "every workload compared"
        lines.append(f"{verdict(not misses)} {label} <= {limit:.2f}: {detail}{unjudged}")
        if field == "wall_s":
            intervals = [median_interval(paired_ratios(summary, w, candidate, "glibc"))
                         for w in compared]
            coverages = [i[2] for i in intervals if i is not None]
            if not coverages:
                lines.append("n/a  time vs glibc, slower beyond the noise: needs two runs or more")
                continue
            slower = [w for w in compared if slower_beyond_noise(summary, w, candidate)]
            lines.append(f"{verdict(not slower)} time vs glibc, slower beyond the noise (paired "
                         f"interval above 1.00, {min(coverages):.0%} coverage or more): "
                         f"{', '.join(slower) if slower else 'no workload'}")
    failed = [w for w in workloads
              if summary["cells"].get((w, candidate), {}).get("status") == "FAIL"]
    if failed:
        lines.append(f"MISS workloads that failed: {', '.join(failed)}")
    return lines


def time_miss_detail(summary, workload, candidate):
    """The fastest runs' ratio and the paired interval of a time miss."""
    parts = []
    fastest = ratio(summary, workload, candidate, "glibc", "wall_s_fastest")
    if fastest is not None:
        parts.append(f"fastest runs {fastest:.2f}")
    interval = median_interval(paired_ratios(summary, workload, candidate, "glibc"))
    if interval is not None:
        parts.append(f"paired {format_interval(interval)}")
    return ", ".join(parts)


def format_tables(summary, runs, scale, skipped):
    """skipped: {(workload, allocator): why that cell has fewer runs}."""
    parts = [f"libpoolmalloc allocator benchmarks: median of {runs} run(s)"
             + ("" if scale == 1.0 else f", quick scale {scale}")
             + "; ratios are value / glibc and value / jemalloc (lower is better)\n"]
    for field, title, divisor, value_format in METRICS:
        parts.append(format_metric_table(summary, field, title, divisor, value_format))
        if field == "wall_s":
            parts.append(format_spread_table(summary))
            paired = format_paired_table(summary)
            if paired:
                parts.append(paired)
    split = format_split_table(summary)
    if split:
        parts.append(split)
    failures = [(w, a, c["note"]) for (w, a), c in sorted(summary["cells"].items())
                if c["status"] == "FAIL"]
    if failures:
        parts.append("== failures\n" + "".join(f"{w} under {a}: {note}\n"
                                               for w, a, note in failures))
    slow = {cell: why for cell, why in skipped.items() if not why.startswith("failed")}
    if slow:
        parts.append("== cells with fewer runs (median of those)\n"
                     + "".join(f"{w} under {a}: later runs skipped, {why}\n"
                               for (w, a), why in sorted(slow.items())))
    targets = target_lines(summary)
    if targets:
        parts.append("\n".join(targets) + "\n")
    return "\n".join(parts)
