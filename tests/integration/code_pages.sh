#!/bin/sh
# code_pages.sh: the code a program does not run stays off its resident
# pages. src/cold.ld splits the library's code into five mappings, in
# address order: the allocator, the warm group (realloc, the aligned
# allocations, thread exit, fork), the cold group (statistics output, error
# reports, option parsing, malloc_trim, mallinfo), the planner's exact
# search with the plan checker, and the rest of the planner. code_pages
# reports each one's resident KiB after one kind of use, and that of the
# mapping holding the unwind tables, which reading the read-only data
# before them must not map.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

program="$top_builddir/tests/integration/code_pages"
checks=14
tap_plan $checks

# unwind_kb MODE: the resident KiB of the unwind tables' mapping in the
# last run of MODE.
unwind_kb() {
  awk '/^unwind_rss_kb/ { print $2 }' "$pm_tmp/$1.out"
}

# run MODE: the resident KiB of the five code mappings, space-separated,
# with the environment cleared of the options that would run cold code
# (option parsing, statistics at exit, the plan checker).
run() {
  env -u POOLMALLOC_CONF -u POOLMALLOC_STATS -u POOLMALLOC_VALIDATE_PLANS \
    LD_PRELOAD="$PM_PRELOAD" "$program" "$1" 2>"$pm_tmp/$1.err" >"$pm_tmp/$1.out" || {
    cat "$pm_tmp/$1.err" >&2
    return 1
  }
  awk '/^rss_kb/ { printf "%s ", $2 }' "$pm_tmp/$1.out"
}

plain_rss=$(run plain)
mappings=$(awk '/^exec_mappings/ { print $2 }' "$pm_tmp/plain.out")
if [ "${mappings:-0}" -eq 1 ]; then
  # configure uses the script with GNU ld only (src/cold.ld says why).
  for i in $(seq $checks); do
    tap_skip "check $i" "one code mapping: the library was linked without src/cold.ld"
  done
  exit 0
fi
[ "${mappings:-0}" -eq 5 ]
tap_result $? "the library's code lies in 5 mappings (${mappings:-none})"
# Debug builds check every plan, which runs the plan checker.
debug_build=no
grep -q '^#define PM_DEBUG 1' "$top_builddir/config.h" && debug_build=yes

set -- $plain_rss
[ "${1:-0}" -gt 0 ]
tap_result $? "malloc, calloc, free: the allocator's code is resident (${1:-?} KiB)"
[ "${2:-1}" -eq 0 ] && [ "${3:-1}" -eq 0 ] && [ "${4:-1}" -eq 0 ] && [ "${5:-1}" -eq 0 ]
tap_result $? "malloc, calloc, free: no warm, cold, search or planner code is resident ($2 $3 $4 $5 KiB)"

set -- $(run malloc)
[ "${2:-0}" -gt 0 ]
tap_result $? "malloc family: realloc and the aligned calls map the warm code (${2:-?} KiB)"
[ "${3:-1}" -eq 0 ] && [ "${4:-1}" -eq 0 ] && [ "${5:-1}" -eq 0 ]
tap_result $? "malloc family: no cold, search or planner code is resident ($3 $4 $5 KiB)"

set -- $(run plan)
[ "${5:-0}" -gt 0 ]
tap_result $? "planner: the planner's code is resident (${5:-?} KiB)"
[ "${3:-1}" -eq 0 ]
tap_result $? "planner: no cold code is resident (${3:-?} KiB)"
[ "$(unwind_kb plan)" = 0 ]
tap_result $? "planner: its read-only data leaves the unwind tables unmapped ($(unwind_kb plan) KiB)"
if [ $debug_build = yes ]; then
  tap_skip "planner: a plan that meets its bound leaves the search out" "a debug build checks every plan"
else
  [ "${4:-1}" -eq 0 ]
  tap_result $? "planner: a plan that meets its bound leaves the search out (${4:-?} KiB)"
fi

set -- $(run stats)
[ "${3:-0}" -gt 0 ]
tap_result $? "malloc_stats: the cold code is resident (${3:-?} KiB)"
[ "${4:-1}" -eq 0 ] && [ "${5:-1}" -eq 0 ]
tap_result $? "malloc_stats: no search or planner code is resident ($4 $5 KiB)"
[ "$(unwind_kb stats)" = 0 ]
tap_result $? "malloc_stats: its read-only data leaves the unwind tables unmapped ($(unwind_kb stats) KiB)"
grep -q 'total_allocations' "$pm_tmp/stats.err"
tap_result $? "malloc_stats: the statistics reached stderr"
[ "$(wc -l <"$pm_tmp/stats.out")" -eq $((mappings + 2)) ]
tap_result $? "malloc_stats: the program ran to its report"
tap_done
