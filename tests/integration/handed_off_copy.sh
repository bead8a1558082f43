#!/bin/sh
# handed_off_copy.sh: a small block holding bytes copied from recycled
# pages, freed or reallocated by another thread, is not a double free
# (handed_off_copy.c).
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
tap_plan 3
for mode in realloc memcpy realloc-remote; do
  env LD_PRELOAD="$PM_PRELOAD" "$top_builddir/tests/integration/handed_off_copy" $mode \
    >"$pm_tmp/$mode.out" 2>&1
  status=$?
  [ $status -eq 0 ] && grep -qx "handed off" "$pm_tmp/$mode.out"
  tap_result $? "$mode: handed off (status $status: $(head -c 200 "$pm_tmp/$mode.out" | tr '\n' ' '))"
done
tap_done
