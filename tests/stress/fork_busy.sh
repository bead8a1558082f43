#!/bin/sh
# fork_busy.sh: repeated fork() while threads keep allocating (fork_busy.c)
# under the preloaded library; every child must allocate, print and exit 0,
# also when other libraries' fork handlers allocate.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
tap_plan 5
forks=${STRESS_FORKS:-100}
# Other libraries' fork handlers may allocate, whichever side of the
# allocator's handlers they run on (fork_alloc.c).
tap_preloaded_program "$forks forks, with fork handlers that allocate" 10000 \
  env LD_PRELOAD="$PM_PRELOAD $top_builddir/tests/stress/.libs/fork_alloc.so" \
  STRESS_FORKS="$forks" "$top_builddir/tests/stress/fork_busy"
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
