#!/bin/sh
# fork_busy.sh: repeated fork() while threads keep allocating (fork_busy.c)
# under the preloaded library; every child must allocate, print and exit 0.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
tap_plan 3
forks=${STRESS_FORKS:-100}
tap_preloaded_program "$forks forks of a process with allocating threads" 10000 \
  env STRESS_FORKS="$forks" "$top_builddir/tests/stress/fork_busy"
# Children exit through exit(), so each writes its own statistics file too.
if pm_is_poolmalloc; then
  files=$(ls "$pm_stats_dir" | wc -l)
  test "$files" -eq $((forks + 1))
  tap_result $? "every child wrote its statistics at exit ($files files for $((forks + 1)) processes)"
else
  tap_skip "every child wrote its statistics at exit" "not libpoolmalloc"
fi
tap_done
