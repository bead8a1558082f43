#!/bin/sh
# thread_join.sh: joining threads whose TLS glibc frees under its
# stack-cache lock (thread_join.c) must not hang: the allocator may not
# start its background thread from such a free. SIGKILL, since the hang
# blocked every signal.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
echo "1..3"
for mode in big-stack own-stack fork; do
  timeout -s KILL 30 env LD_PRELOAD="$PM_PRELOAD" \
    "$top_builddir/tests/integration/thread_join" $mode >"$pm_tmp/$mode.out" 2>&1
  status=$?
  [ $status -eq 0 ] && grep -qx joined "$pm_tmp/$mode.out"
  tap_result $? "$mode: the joins end (status $status; 137 is a hang, killed)"
done
tap_done
