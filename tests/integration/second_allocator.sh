#!/bin/sh
# second_allocator.sh: with another allocator in front of this library
# (valgrind's tools, or jemalloc or tcmalloc preloaded first), the less
# common calls follow the common ones to it (second_allocator.c), as
# glibc's do; they used to hand it blocks from this library's pool.
# Each case is skipped when its tool or library is not installed.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
program="$top_builddir/tests/integration/second_allocator"
tap_plan 4

# run_case NAME COMMAND...: ok when the program prints "mixed", exits 0,
# and valgrind (when it runs) reports no error.
run_case() {
  name=$1
  shift
  timeout "$pm_timeout" "$@" >"$pm_tmp/out" 2>"$pm_tmp/err"
  status=$?
  [ $status -eq 0 ] && grep -qx mixed "$pm_tmp/out" && ! grep -q 'Invalid' "$pm_tmp/err"
  tap_result $? "$name (status $status: $(head -c 200 "$pm_tmp/err" | tr '\n' ' '))"
}

run_case "alone" env LD_PRELOAD="$PM_PRELOAD" "$program"
if command -v valgrind >/dev/null; then
  run_case "under valgrind" env LD_PRELOAD="$PM_PRELOAD" valgrind -q --error-exitcode=3 "$program"
else
  tap_skip "under valgrind" "valgrind is not installed"
fi
for peer in jemalloc tcmalloc; do
  case $peer in
    jemalloc) library=${JEMALLOC_SO:-} ;;
    tcmalloc) library=${TCMALLOC_SO:-} ;;
  esac
  if [ -n "$library" ]; then
    run_case "$peer preloaded first" env LD_PRELOAD="$library:$PM_PRELOAD" "$program"
  else
    tap_skip "$peer preloaded first" "$peer is not installed"
  fi
done
tap_done
