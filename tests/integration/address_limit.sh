#!/bin/sh
# address_limit.sh: under an address-space limit (ulimit -v, RLIMIT_AS)
# of 64 MiB, room for one 32 MiB segment but not for the 64 MiB the
# aligned reservation of one takes, a program still gets its memory: the
# first small malloc used to fail.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
tap_plan 1
(
  ulimit -v 65536 || exit 77
  exec env LD_PRELOAD="$PM_PRELOAD" "$top_builddir/tests/integration/exit_paths" return
) >"$pm_tmp/out" 2>&1
status=$?
if [ $status -eq 77 ]; then
  tap_skip "a 64 MiB address-space limit" "ulimit -v is not available"
else
  [ $status -eq 0 ]
  tap_result $? "3000 blocks under a 64 MiB address-space limit (status $status)"
fi
tap_done
