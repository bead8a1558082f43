#!/bin/sh
# bench/smoke.sh: a correctness smoke test of the benchmark suite (TAP).
# Runs bench/run.py at quick sizes, one run, under glibc and libpoolmalloc,
# then checks that the table was printed, that the CSV has a passing row for
# every workload under both allocators (each workload verifies its own
# memory, so a broken allocator fails here) and that the chart was written.
# Then one workload under cachegrind (bench/instructions.py), skipped
# without valgrind, and a short pass of bench/latency.py. No timing is
# asserted.
set -u
: "${top_srcdir:?run me through make check}" "${top_builddir:?run me through make check}"
: "${POOLMALLOC_SO:?run me through make check}"

out_dir="$top_builddir/bench/smoke-results"
csv="$out_dir/latest.csv"
mkdir -p "$out_dir"
rm -f "$csv" "$out_dir/latest.svg"

run_bench() {
  env -u BENCH_FILTER -u BENCH_SAVE BENCH_QUICK=1 BENCH_RUNS=1 \
    BENCH_ALLOCATORS=glibc,libpoolmalloc BENCH_RESULTS="$out_dir" \
    python3 "$top_srcdir/bench/run.py" --builddir "$top_builddir" --srcdir "$top_srcdir" "$@"
}

workloads=$(run_bench --list)
count=$(echo "$workloads" | wc -l)
echo "1..$((count + 6))"

table=$(run_bench 2>"$out_dir/progress.log")
status=$?
sed 's/^/# /' "$out_dir/progress.log"
echo "$table" | sed 's/^/# /'
if [ $status -eq 0 ]; then echo "ok 1 - run.py exits 0"; else echo "not ok 1 - run.py exits $status"; fi

n=2
missing=""
for workload in $workloads; do
  echo "$table" | grep -q "^$workload " || missing="$missing $workload"
done
if echo "$table" | grep -q "^== wall time (s)" && echo "$table" | grep -q "^geomean" &&
  echo "$table" | grep -q "^== wall time spread" &&
  echo "$table" | grep -q "^== wall time x glibc, paired by round" && [ -z "$missing" ]; then
  echo "ok $n - the tables have a row per workload, a geomean row, the spread and the pairs"
else
  echo "not ok $n - table incomplete (missing:${missing:-none})"
fi

# The interval of the paired ratios: runs 2 and 8 of 9 hold the median
# with 96% confidence (1 - 2 * 10/512); 5 runs reach 94% only with all of
# them; one run gives none. An interval wholly above 1 is a slowdown, one
# that holds 1 is not, whatever the median.
n=$((n + 1))
interval_check=$(cd "$top_srcdir/bench" && python3 -B -c '
import bench_report as b
r = b.Result
runs = [r("w", a, i + 1, t, 0, 0, 0, 0, 0, "ok", "") for a, times in
        (("glibc", [1.0] * 9), ("x", [1.1, 1.2, 1.3, 1.05, 1.4, 1.15, 1.25, 1.35, 1.02]),
         ("y", [1.1, 1.2, 0.9, 0.95, 1.4, 1.15, 1.25, 1.35, 0.8]))
        for i, t in enumerate(times)]
s = b.summarize(runs, ["w"], ["glibc", "x", "y"])
low, high, cover = b.median_interval(b.paired_ratios(s, "w", "x", "glibc"))
assert (round(low, 2), round(high, 2), round(cover, 4)) == (1.05, 1.35, 0.9609), (low, high, cover)
assert b.median_interval([1, 2, 3, 4, 5]) == (1, 5, 0.9375)
assert b.median_interval([1]) is None
assert b.slower_beyond_noise(s, "w", "x") and not b.slower_beyond_noise(s, "w", "glibc")
assert b.median_interval(b.paired_ratios(s, "w", "y", "glibc"))[:2] == (0.9, 1.35)
assert not b.slower_beyond_noise(s, "w", "y")  # median 1.15, but the interval holds 1
print("fine")' 2>&1)
if [ "$interval_check" = fine ]; then
  echo "ok $n - the paired interval takes the right runs and flags a slowdown"
else
  echo "not ok $n - paired interval: $interval_check"
fi

# The CSV's columns by name, so that a new column moves none of these checks.
column() { head -1 "$csv" 2>/dev/null | tr ',' '\n' | grep -nx "$1" | cut -d: -f1; }
status_column=$(column status)
anon_column=$(column anon_after_free_kb)
for workload in $workloads; do
  n=$((n + 1))
  bad=""
  for allocator in glibc libpoolmalloc; do
    row=$(grep "^$workload,$allocator,1," "$csv" 2>/dev/null)
    status_field=$(echo "$row" | cut -d, -f"${status_column:-1}")
    anon_field=$(echo "$row" | cut -d, -f"${anon_column:-1}")
    [ "$status_field" = ok ] || bad="$bad $allocator(${row:-no row})"
    [ "${anon_field:-0}" -gt 0 ] 2>/dev/null || bad="$bad $allocator(no anonymous RSS: ${row:-no row})"
  done
  if [ -z "$bad" ]; then
    echo "ok $n - $workload passes under glibc and libpoolmalloc"
  else
    echo "not ok $n - $workload:$bad"
  fi
done

n=$((n + 1))
if grep -q "^<svg" "$out_dir/latest.svg" 2>/dev/null && grep -q "</svg>" "$out_dir/latest.svg"; then
  echo "ok $n - the chart was written"
else
  echo "not ok $n - no chart at $out_dir/latest.svg"
fi

n=$((n + 1))
if ! command -v valgrind >/dev/null; then
  echo "ok $n # SKIP valgrind is not installed: no instruction counts"
else
  rm -f "$out_dir/instructions.csv"
  counts=$(env BENCH_SCALE=0.02 BENCH_FILTER=churn \
    BENCH_ALLOCATORS=glibc,libpoolmalloc BENCH_RESULTS="$out_dir" \
    python3 "$top_srcdir/bench/instructions.py" --builddir "$top_builddir" \
    --srcdir "$top_srcdir" 2>>"$out_dir/progress.log")
  echo "$counts" | sed 's/^/# /'
  ok_rows=$(grep -c "^churn,\(glibc\|libpoolmalloc\),[1-9][0-9]*,[0-9]*,[0-9]*,ok$" \
    "$out_dir/instructions.csv" 2>/dev/null)
  if grep -q "cannot read the build's debug info" "$out_dir/instructions.csv" 2>/dev/null; then
    echo "ok $n # SKIP $(grep -o "valgrind cannot read[^\"]*" "$out_dir/instructions.csv" | head -1)"
  elif [ "$(echo "$counts" | grep -c "^churn ")" -eq 3 ] && [ "${ok_rows:-0}" -eq 2 ]; then
    echo "ok $n - instructions.py counts churn under glibc and libpoolmalloc"
  else
    echo "not ok $n - instructions.py: ${ok_rows:-0} counted rows of 2, tables above"
  fi
fi

# The latency tables: every case under both allocators, each run verified
# by wl-tail itself; the figures are not judged.
n=$((n + 1))
rm -f "$out_dir/latency.csv"
latency=$(env BENCH_SECONDS=0.3 BENCH_RUNS=1 BENCH_ALLOCATORS=glibc,libpoolmalloc \
  BENCH_RESULTS="$out_dir" python3 "$top_srcdir/bench/latency.py" --builddir "$top_builddir" \
  --srcdir "$top_srcdir" 2>>"$out_dir/progress.log")
latency_status=$?
echo "$latency" | sed 's/^/# /'
ok_rows=$(grep -c ",\(glibc\|libpoolmalloc\),1,[0-9.]*,[0-9.]*,[0-9.]*,ok$" \
  "$out_dir/latency.csv" 2>/dev/null)
if [ $latency_status -eq 0 ] && [ "${ok_rows:-0}" -eq 8 ] &&
  echo "$latency" | grep -q "^== 99.9th percentile latency"; then
  echo "ok $n - latency.py measures every case under glibc and libpoolmalloc"
else
  echo "not ok $n - latency.py exits $latency_status with ${ok_rows:-0} of 8 rows, tables above"
fi
