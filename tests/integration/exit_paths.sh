#!/bin/sh
# exit_paths.sh: POOLMALLOC_STATS output appears whether the program returns
# from main, calls exit(), dies by abort() or by a SIGABRT it did not raise
# through abort() (which must still kill it), aborts through a handler that
# chains to the allocator's (which must not loop), forks a child that
# detaches from stderr (which must not keep it open), or its main thread leaves through
# pthread_exit (which must not leave the process hanging on the allocator's
# background thread, busy or idle, nor run the exit handlers with signals
# blocked), and a bad free still aborts with its message first.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

program="$top_builddir/tests/integration/exit_paths"
echo "1..23"

# json_allocations FILE: total_allocations of a JSON statistics file.
json_allocations() {
  "$PM_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["total_allocations"])' "$1"
}

for how in return exit abort raise chained_abort daemon_child pthread_exit pthread_exit_idle \
  pthread_exit_worker pthread_exit_late_worker; do
  file="$pm_tmp/$how.json"
  # SIGKILL: a process kept alive by a thread that blocks signals ignores TERM.
  # pthread_exit_idle ends as soon as its main thread has left (2.5 s in),
  # once the background thread, told by the main thread's exit hook, sees
  # itself the last thread; were it not told, it would look only after 30 s
  # of idleness. pthread_exit_worker's background thread holds memory whose
  # decay deadline lies 15 s away: it must look for the end sooner.
  # pthread_exit_late_worker's worker ends 6.5 s in, unseen: the looks
  # must stay frequent (they once grew to 30 s apart).
  limit=30 conf=
  [ $how = pthread_exit_idle ] && limit=15
  [ $how = pthread_exit_worker ] && limit=10 conf=decay_ms:60000
  [ $how = pthread_exit_late_worker ] && limit=10
  timeout -s KILL $limit env LD_PRELOAD="$PM_PRELOAD" POOLMALLOC_STATS=json \
    ${conf:+POOLMALLOC_CONF=$conf} POOLMALLOC_STATS_FILE="$file" "$program" $how 2>"$pm_tmp/$how.err"
  status=$?
  case $how in
    abort | raise | chained_abort) [ $status -eq 134 ] ;; # the shell's 128 + SIGABRT
    *) [ $status -eq 0 ] ;;
  esac
  tap_result $? "$how: the program ends as it would without statistics (status $status)"
  allocations=$(json_allocations "$file" 2>/dev/null)
  [ "${allocations:-0}" -ge 3000 ]
  tap_result $? "$how: the JSON statistics file counts its allocations (${allocations:-none})"
done

# Text mode to stderr at abort.
env LD_PRELOAD="$PM_PRELOAD" POOLMALLOC_STATS=text "$program" abort 2>"$pm_tmp/text.err"
grep -q '^  total_allocations: [0-9]' "$pm_tmp/text.err"
tap_result $? "abort: the text statistics reach stderr"

# A bad free: the message comes first and the process still aborts.
env LD_PRELOAD="$PM_PRELOAD" POOLMALLOC_STATS=text "$program" badfree 2>"$pm_tmp/bad.err"
status=$?
[ $status -eq 134 ] && head -n 1 "$pm_tmp/bad.err" | grep -q '^poolmalloc: free(): invalid pointer 0x'
tap_result $? "badfree: one-line message first, then SIGABRT (status $status)"
# The report follows (or, were the pages lock held, a note saying why not).
grep -q -e '^  total_allocations: ' -e 'statistics skipped' "$pm_tmp/bad.err"
tap_result $? "badfree: the statistics follow the message"
tap_done
