#!/bin/sh
# first_call.sh: an allocator call made before any constructor (from the
# executable's preinit function) is the one that sets the allocator up, and
# must be served as any later call would: aligned, as large as asked, not
# overlapping the blocks that follow.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

program="$top_builddir/tests/integration/first_call"
calls="memalign posix_memalign aligned_alloc valloc pvalloc malloc calloc"
tap_plan 7
for call in $calls; do
  timeout "$pm_timeout" env LD_PRELOAD="$PM_PRELOAD" "$program" $call 2>"$pm_tmp/$call.err"
  status=$?
  [ $status -eq 0 ]
  tap_result $? "$call as the process's first call (status $status$(head -n 1 "$pm_tmp/$call.err" | sed 's/^/: /'))"
done
tap_done
