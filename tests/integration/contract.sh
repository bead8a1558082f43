#!/bin/sh
# contract.sh: the allocator's user-visible contract, checked on a
# deterministic C program (stats_probe): POOLMALLOC_STATS=json|text,
# POOLMALLOC_STATS_FILE with %p, statistics only when asked for, a one-line
# warning for an invalid POOLMALLOC_CONF, the invalid-free abort, and that
# the figures follow the program: the peak of a program that held 32 MiB,
# nothing allocated once it freed everything, and decay_ms / retain_max
# visibly changing how much freed memory stays retained.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

probe="$top_builddir/tests/integration/stats_probe"
count=20000
figures="total_allocations total_frees reuse_count"

# Runs the probe preloaded with extra environment ($@), stdout/stderr to files.
probe_run() {
  env LD_PRELOAD="$PM_PRELOAD" "$@" "$probe" alloc $count >"$pm_tmp/out" 2>"$pm_tmp/err"
}

# json_values FILE: the contract figures of one JSON statistics file.
json_values() {
  "$PM_PYTHON" -c 'import json, sys
stats = json.load(open(sys.argv[1]))
for key in sys.argv[2:]:
    print(key, stats[key])' "$1" $figures
}

# peak_run NAME SIZE CONDITION [ENV...]: the probe holds 32 MiB in SIZE-byte
# blocks and frees them; CONDITION is a Python expression over the JSON
# statistics "s" and MiB.
peak_run() {
  peak_name=$1
  peak_size=$2
  peak_condition=$3
  shift 3
  env LD_PRELOAD="$PM_PRELOAD" POOLMALLOC_STATS=json POOLMALLOC_STATS_FILE="$pm_tmp/peak.json" \
    "$@" "$probe" peak 32 "$peak_size" >"$pm_tmp/out" &&
    "$PM_PYTHON" -c 'import json, sys
s = json.load(open(sys.argv[1]))
MiB = 1 << 20
if not eval(sys.argv[2]):
    print("false:", sys.argv[2], {k: v for k, v in s.items() if k.endswith("bytes")})
    sys.exit(1)' "$pm_tmp/peak.json" "$peak_condition" >&2
  tap_result $? "$peak_name"
}

tap_plan 19
if ! pm_is_poolmalloc; then
  n=0
  while [ $n -lt 19 ]; do
    n=$((n + 1))
    tap_skip "contract check $n" "not libpoolmalloc"
  done
  exit 0
fi

mkdir "$pm_stats_dir"
probe_run POOLMALLOC_STATS=json POOLMALLOC_STATS_FILE="$pm_stats_dir/probe.%p.json"
tap_result $? "json statistics run exits 0"
pid=$(sed -n 's/^pid //p' "$pm_tmp/out")
json_file="$pm_stats_dir/probe.$pid.json"
test -n "$pid" && test -s "$json_file"
tap_result $? "POOLMALLOC_STATS_FILE expands %p to the pid ($json_file)"
"$PM_PYTHON" "$PM_STATS_CHECK" --min-allocations $count "$pm_stats_dir" >&2
tap_result $? "JSON statistics: one object, every key, at least $count allocations"

probe_run POOLMALLOC_STATS=text POOLMALLOC_STATS_FILE="$pm_tmp/probe.txt"
text_status=$?
json_values "$json_file" >"$pm_tmp/json.values" &&
  "$PM_PYTHON" "$top_srcdir/tests/integration/stats_text_value.py" "$pm_tmp/probe.txt" \
    $figures >"$pm_tmp/text.values" &&
  diff "$pm_tmp/json.values" "$pm_tmp/text.values" >&2 && [ $text_status -eq 0 ]
tap_result $? "text statistics give the same figures as JSON ($figures)"

probe_run POOLMALLOC_STATS=json
"$PM_PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$pm_tmp/err" >&2
tap_result $? "POOLMALLOC_STATS=json without a file writes one JSON object to stderr"

# GNU coreutils close stdout and stderr from an atexit handler (gnulib's
# close_stdout), before the library's own exit-time output.
env LD_PRELOAD="$PM_PRELOAD" POOLMALLOC_STATS=json sort </dev/null 2>"$pm_tmp/err" >/dev/null
"$PM_PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$pm_tmp/err" >&2
tap_result $? "POOLMALLOC_STATS=json reaches stderr when the program closes it at exit (sort)"

probe_run
status=$?
test $status -eq 0 && test ! -s "$pm_tmp/err"
tap_result $? "no statistics and no stderr output unless POOLMALLOC_STATS is set"
cp "$pm_tmp/out" "$pm_tmp/plain.out"

probe_run POOLMALLOC_CONF=decay_ms:banana
status=$?
cat "$pm_tmp/err" >&2
test $status -eq 0 && test "$(wc -l <"$pm_tmp/err")" -eq 1 && grep -q 'decay_ms' "$pm_tmp/err"
tap_result $? "invalid POOLMALLOC_CONF value: exactly one warning line naming it"
sed 's/^pid .*//' "$pm_tmp/out" >"$pm_tmp/a" && sed 's/^pid .*//' "$pm_tmp/plain.out" >"$pm_tmp/b" &&
  cmp "$pm_tmp/a" "$pm_tmp/b" >&2
tap_result $? "the program still runs normally with an invalid POOLMALLOC_CONF"

ulimit -c 0 # the abort is expected: no core file
env LD_PRELOAD="$PM_PRELOAD" "$probe" badfree >"$pm_tmp/out" 2>"$pm_tmp/err"
status=$?
cat "$pm_tmp/err" >&2
test $status -eq 134
tap_result $? "free() of a static address aborts (status $status, expected 134)"
# dash reports the signal ("Aborted") on the command's redirected stderr
grep -Eq '^poolmalloc: free\(\): invalid pointer 0x[0-9a-fA-F]+$' "$pm_tmp/err" &&
  test "$(grep -cv '^Aborted' "$pm_tmp/err")" -eq 1
tap_result $? "the invalid free prints one line naming the pointer"

peak_run "peak_allocated_bytes covers 32 MiB held in 100-byte blocks" 100 \
  's["peak_allocated_bytes"] >= 32 * MiB'
peak_run "peak_allocated_bytes covers 32 MiB held in 64 KiB blocks" 65536 \
  's["peak_allocated_bytes"] >= 32 * MiB'
peak_run "allocated_bytes drops below 1 MiB once the blocks are freed" 100 \
  's["allocated_bytes"] < MiB and s["total_frees"] >= 32 * MiB // 100'
peak_run "decay_ms:0 releases freed memory at once: nothing retained, 32 MiB released" 65536 \
  's["retained_bytes"] == 0 and s["released_bytes"] >= 32 * MiB' POOLMALLOC_CONF=decay_ms:0
peak_run "retain_max:1M caps retained_bytes at 1 MiB" 100 \
  's["retained_bytes"] <= MiB' POOLMALLOC_CONF=decay_ms:10000,retain_max:1M
peak_run "retain_max:1024K is the same cap (K suffix)" 100 \
  's["retained_bytes"] <= MiB' POOLMALLOC_CONF=decay_ms:10000,retain_max:1024K
# A program started without stderr: the file it opens next is fd 2, and
# the report at exit went into it.
(
  exec 2>&-
  exec env LD_PRELOAD="$PM_PRELOAD" POOLMALLOC_STATS=json "$probe" write "$pm_tmp/data"
)
status=$?
[ $status -eq 0 ] && [ "$(cat "$pm_tmp/data")" = DATA ]
tap_result $? "started without stderr: the report stays out of the program's file (status $status)"

# A report to a pipe whose reader is gone: EPIPE, not a death by SIGPIPE.
"$PM_PYTHON" -c 'import os, subprocess, sys
read_end, write_end = os.pipe()
os.close(read_end)
child = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=write_end)
sys.exit(child.returncode != 0)' env LD_PRELOAD="$PM_PRELOAD" POOLMALLOC_STATS=json "$probe" alloc 100
tap_result $? "stats to a closed pipe: the exit status stays 0"
tap_done
