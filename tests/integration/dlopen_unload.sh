#!/bin/sh
# dlopen_unload.sh: the library as a plugin's dependency, loaded and
# unloaded with dlopen and dlclose (dlopen_unload.c): its thread-local
# state must be initial-exec (a dynamic TLS access, __tls_get_addr, may
# itself allocate), and it must stay loaded after dlclose, since its
# background thread, thread-exit key and fork handlers outlive any unload.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
echo "1..3"

# No general- or local-dynamic TLS access anywhere in the library.
! nm -D "$PM_PRELOAD" | grep -q ' U __tls_get_addr'
tap_result $? "every thread-local variable is initial-exec (no __tls_get_addr import)"

LC_ALL=C readelf -d "$PM_PRELOAD" | grep -q 'FLAGS_1.*NODELETE' &&
  POOLMALLOC_CONF=decay_ms:100 timeout -s KILL "$pm_timeout" \
    "$top_builddir/tests/integration/dlopen_unload" "$PM_PRELOAD" >"$pm_tmp/out" 2>&1
status=$?
grep -qx 'still loaded: yes' "$pm_tmp/out"
tap_result $? "marked NODELETE: dlclose leaves it loaded"
[ $status -eq 0 ] && grep -qx survived "$pm_tmp/out"
tap_result $? "a worker's exit and the background thread's wake after dlclose (status $status)"
[ $status -eq 0 ] || sed 's/^/# /' "$pm_tmp/out"
tap_done
