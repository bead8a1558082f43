#!/bin/sh
# remote_free_window.sh: a free into another thread's slab, held by gdb in
# the few instructions around the publication of its block
# (remote_free_window.py, remote_free_window.c):
#   trim: the owner gives the emptied slab back and its segment is unmapped
#         just after the block is published: the freer must not read the
#         slab again;
#   exit: the owner's thread exits and abandons the slab just before: the
#         freer must see that its block emptied an ownerless slab, so that
#         the slab is reaped;
#   huge: a double free of a huge block whose first free, by another
#         thread, unmaps it while the second is on its way: the second must
#         abort with its one-line message, not fault.
# Skipped when gdb is not installed.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
echo "1..3"
if ! command -v gdb >/dev/null; then
  echo "ok 1 # SKIP gdb is not installed"
  echo "ok 2 # SKIP gdb is not installed"
  echo "ok 3 # SKIP gdb is not installed"
  exit 0
fi
program="$top_builddir/tests/integration/remote_free_window"
for mode in trim exit huge; do
  expected=0
  case $mode in
    trim) conf=decay_ms:0 what="the freer comes back after its slab's segment is unmapped" ;;
    exit) conf=decay_ms:50 what="the slab the freed block empties after its thread exited is reaped" ;;
    huge) conf=retain_max:0 expected="signal SIGABRT"
      what="a huge block's late second free aborts with its message, not a fault" ;;
  esac
  PM_WINDOW_MODE=$mode PM_GDB_STATUS="$pm_tmp/$mode.status" timeout -s KILL "$pm_timeout" \
    gdb -q -batch -nx \
    -ex "set environment LD_PRELOAD=$PM_PRELOAD" \
    -ex "set environment POOLMALLOC_CONF=$conf" \
    -x "$top_srcdir/tests/integration/remote_free_window.py" "$program" \
    >"$pm_tmp/$mode.out" 2>&1
  status=$(cat "$pm_tmp/$mode.status" 2>/dev/null)
  [ "$status" = "$expected" ] &&
    { [ $mode != huge ] || grep -q '^poolmalloc: free(): double free 0x' "$pm_tmp/$mode.out"; }
  result=$?
  [ $result -eq 0 ] || sed 's/^/# /' "$pm_tmp/$mode.out"
  tap_result $result "$mode: $what (exit: ${status:-none})"
done
tap_done
