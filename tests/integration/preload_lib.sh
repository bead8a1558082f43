# preload_lib.sh: helpers shared by the shell tests that run unmodified
# programs under LD_PRELOAD (sourced by tests/integration, tests/stress and
# tests/programs scripts, never run on its own).
#
# It gives each test a private temporary directory (removed on exit), TAP
# output, a way to run one command natively and preloaded, and a check of
# the JSON statistics that every preloaded process writes at exit: a large
# total_allocations in those files is what proves the program's allocations
# really went through libpoolmalloc rather than silently through glibc.
#
# PM_PRELOAD selects the library (default: $POOLMALLOC_SO). Pointing it at
# another allocator (e.g. $JEMALLOC_SO) runs the output comparisons only;
# the statistics checks then report SKIP since only libpoolmalloc writes them.

: "${top_srcdir:?run through make check (top_srcdir unset)}"
: "${top_builddir:?run through make check (top_builddir unset)}"
PM_PRELOAD=${PM_PRELOAD:-${POOLMALLOC_SO:-}}
# Debian's interpreter: its testsuite package matches it, and a version
# manager's shim (pyenv) would add wrapper processes and change versions.
if [ -x /usr/bin/python3 ]; then PM_PYTHON=/usr/bin/python3; else PM_PYTHON=python3; fi
PM_STATS_CHECK="$top_srcdir/tests/integration/stats_check.py"

pm_tmp=$(mktemp -d "${TMPDIR:-/tmp}/pm-test.XXXXXX") || exit 99
trap 'rm -rf "$pm_tmp"' EXIT
trap 'exit 130' HUP INT PIPE TERM
pm_stats_dir="$pm_tmp/stats"
# A deadlock must fail the test rather than hang make check.
pm_timeout=${PM_TEST_TIMEOUT:-300}

tap_count=0
tap_failures=0

tap_plan() { echo "1..$1"; }

# tap_result STATUS NAME: ok when STATUS is 0.
tap_result() {
  tap_count=$((tap_count + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $tap_count - $2"
  else
    echo "not ok $tap_count - $2"
    tap_failures=$((tap_failures + 1))
  fi
}

tap_skip() {
  tap_count=$((tap_count + 1))
  echo "ok $tap_count - $1 # SKIP $2"
}

tap_done() { [ "$tap_failures" -eq 0 ]; }

# Aborts the whole script: the library must exist, or every preloaded run
# would silently test glibc.
pm_require_library() {
  if [ -z "$PM_PRELOAD" ] || [ ! -r "$PM_PRELOAD" ]; then
    echo "Bail out! library to preload not found: '${PM_PRELOAD}'"
    exit 1
  fi
}

pm_is_poolmalloc() {
  case "$PM_PRELOAD" in *libpoolmalloc*) return 0 ;; *) return 1 ;; esac
}

# run_native OUT CMD...: runs CMD with no preloaded allocator, stdout to OUT.
run_native() {
  run_out=$1
  shift
  timeout "$pm_timeout" env -u LD_PRELOAD -u POOLMALLOC_STATS -u POOLMALLOC_STATS_FILE \
    "$@" >"$run_out"
}

# run_preloaded OUT CMD...: runs CMD (and every process it starts) with the
# library preloaded; each process writes its statistics to its own file in
# $pm_stats_dir, emptied first so the files describe this run only.
run_preloaded() {
  run_out=$1
  shift
  rm -rf "$pm_stats_dir" && mkdir "$pm_stats_dir" || return 99
  timeout "$pm_timeout" env LD_PRELOAD="$PM_PRELOAD" POOLMALLOC_STATS=json \
    POOLMALLOC_STATS_FILE="$pm_stats_dir/stats.%p.json" "$@" >"$run_out"
}

# tap_same_output NAME CMD...: runs CMD natively and preloaded; one test
# point for "preloaded run succeeded" and one for "byte-identical stdout".
tap_same_output() {
  same_name=$1
  shift
  run_native "$pm_tmp/native.out" "$@"
  same_native=$?
  run_preloaded "$pm_tmp/preloaded.out" "$@"
  same_preloaded=$?
  if [ $same_native -ne 0 ]; then
    echo "# $same_name: the native run itself failed (status $same_native)"
  fi
  tap_result $same_preloaded "$same_name: exits 0 under the preloaded library"
  if cmp -s "$pm_tmp/native.out" "$pm_tmp/preloaded.out"; then
    [ -s "$pm_tmp/native.out" ] && [ $same_native -eq 0 ]
  else
    echo "$same_name: outputs differ (< native, > preloaded):" >&2
    diff "$pm_tmp/native.out" "$pm_tmp/preloaded.out" | head -n 20 >&2
    false
  fi
  tap_result $? "$same_name: same output as without the library"
}

# tap_stats NAME MIN_ALLOCATIONS [MIN_PROCESSES]: checks the statistics the
# last run_preloaded left behind (see stats_check.py).
tap_stats() {
  if ! pm_is_poolmalloc; then
    tap_skip "$1: statistics" "the preloaded library is not libpoolmalloc"
    return 0
  fi
  "$PM_PYTHON" "$PM_STATS_CHECK" --min-allocations "$2" --min-processes "${3:-1}" \
    "$pm_stats_dir" >&2
  tap_result $? "$1: statistics show at least $2 allocations through the library"
}

# tap_preloaded_program NAME MIN_ALLOCATIONS CMD...: runs a test program
# (built normally) with the library preloaded and a time limit
# (PM_TEST_TIMEOUT, default 60 s); its output
# becomes TAP comments; test points for its exit status and its statistics.
# A program that prints "allocations N" (the calls it made itself) raises
# the minimum to N: its own calls must all show in the statistics.
tap_preloaded_program() {
  prog_name=$1
  prog_min=$2
  shift 2
  pm_timeout=${PM_TEST_TIMEOUT:-60}
  run_preloaded "$pm_tmp/program.out" "$@"
  prog_status=$?
  sed 's/^/# /' "$pm_tmp/program.out"
  [ $prog_status -ne 124 ] || echo "# $prog_name: killed after $pm_timeout s (deadlock?)"
  prog_own=$(sed -n 's/^allocations \([0-9][0-9]*\)$/\1/p' "$pm_tmp/program.out")
  [ -z "$prog_own" ] || [ "$prog_own" -le "$prog_min" ] || prog_min=$prog_own
  tap_result $prog_status "$prog_name: exits 0 (status $prog_status)"
  tap_stats "$prog_name" "$prog_min"
}
