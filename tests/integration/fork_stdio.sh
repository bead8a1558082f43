#!/bin/sh
# fork_stdio.sh: fork does not deadlock against a thread that flushes every
# stream while another reads long lines (see fork_stdio.c). Before the
# allocator took glibc's stream-list lock first in its prepare handler, the
# program hung at one of its first forks every run. Last, a fork whose other
# handler starts the allocator's thread leaves the child's stdio usable.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

program="$top_builddir/tests/integration/fork_stdio"
echo "1..3"
for round in 1 2; do
  # SIGKILL: a deadlocked process may not die of TERM.
  timeout -s KILL 60 env LD_PRELOAD="$PM_PRELOAD" "$program" 100 >"$pm_tmp/out" 2>"$pm_tmp/err"
  status=$?
  [ $status -eq 0 ] && grep -qx 'forks=100' "$pm_tmp/out"
  tap_result $? "round $round: 100 forks beside getline and fflush(NULL) come back (status $status)"
done
timeout -s KILL 20 env LD_PRELOAD="$PM_PRELOAD" "$program" prepare >"$pm_tmp/out" 2>&1
status=$?
tap_result $status "a child forked after a handler that allocates flushes every stream (status $status)"
