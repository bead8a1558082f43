#!/bin/sh
# fork_purging.sh: a child forked while the background thread purges (see
# fork_purging.c). Under fork every child allocates; under _Fork, which
# runs no fork handlers, none hangs: each either allocates or stops with
# the allocator's one-line message naming background_thread:0, and with
# that option every child allocates.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

program="$top_builddir/tests/integration/fork_purging"
echo "1..4"

# run NAME CONF MODE: runs the program; sets status, and out and err files.
run() {
  out="$pm_tmp/$1.out" err="$pm_tmp/$1.err"
  # SIGKILL: a process waiting on a futex may not die of TERM.
  timeout -s KILL 300 env LD_PRELOAD="$PM_PRELOAD" POOLMALLOC_CONF="$2" "$program" "$3" \
    >"$out" 2>"$err"
  status=$?
}

run fork decay_ms:20 fork
tap_result $status "fork: every child allocates beside a purge in flight ($(cat "$out"))"

run unhandled decay_ms:20 _Fork
tap_result $status "_Fork: no child hangs ($(cat "$out"))"
stopped=$(sed -n 's/.* stopped=\([0-9]*\) .*/\1/p' "$out")
messages=$(grep -c '^poolmalloc: a child of _Fork waits for a lock .*background_thread:0' "$err")
[ "${stopped:-x}" = "$messages" ] && [ "$(wc -l <"$err")" -eq "$messages" ]
tap_result $? "_Fork: each child that stopped said why in one line ($messages of ${stopped:-?})"

run no_thread decay_ms:20,background_thread:0 _Fork
grep -q ' stopped=0 ' "$out"
tap_result $((status + $?)) "_Fork under background_thread:0: every child allocates ($(cat "$out"))"
tap_done
