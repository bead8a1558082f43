#!/bin/sh
# abandoned_idle.sh: memory an exited thread left behind, freed by another
# thread that then idles, goes back to the OS (abandoned_idle.c), by
# default and under decay_ms:0; under retain_max:1M no more than that
# stays while it waits for its decay.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
tap_plan 3
for conf in "" decay_ms:0 retain_max:1M; do
  max_kept=
  [ "$conf" = retain_max:1M ] && max_kept=1048576
  env LD_PRELOAD="$PM_PRELOAD" ${conf:+POOLMALLOC_CONF=$conf} \
    "$top_builddir/tests/integration/abandoned_idle" $max_kept >"$pm_tmp/out" 2>&1
  status=$?
  tap_result $status "${conf:-defaults}: given back while idle ($(tr '\n' ' ' <"$pm_tmp/out"))"
done
tap_done
