#!/bin/sh
# address_limit.sh: under an address-space limit (ulimit -v, RLIMIT_AS)
# of 64 MiB, room for one 32 MiB segment but not for the 64 MiB the
# aligned reservation of one takes, a program still gets its memory: the
# first small malloc used to fail. And under a limit with room for a new
# block only once freed blocks are unmapped, the allocator gives back what
# it keeps when the OS refuses the mapping (address_refill.py).
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
tap_plan 2
# limited KIB NAME COMMAND...: runs COMMAND with the library preloaded
# under a KIB address-space limit, and reports it as test NAME.
limited() {
  kib=$1 name=$2
  shift 2
  (
    ulimit -v "$kib" || exit 77
    exec env LD_PRELOAD="$PM_PRELOAD" PYTHONMALLOC=malloc "$@"
  ) >"$pm_tmp/out" 2>&1
  status=$?
  if [ $status -eq 77 ]; then
    tap_skip "$name" "ulimit -v is not available"
  else
    [ $status -eq 0 ]
    tap_result $? "$name (status $status$(sed 's/^/: /' "$pm_tmp/out" | tr '\n' ' '))"
  fi
}
limited 65536 "3000 blocks under a 64 MiB address-space limit" \
  "$top_builddir/tests/integration/exit_paths" return
limited 250000 "freed memory given back when the OS refuses a mapping" \
  "$PM_PYTHON" "$top_srcdir/tests/integration/address_refill.py"
tap_done
