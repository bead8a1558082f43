#!/bin/sh
# alloc_preload.sh: the library as users meet it: preloaded into programs
# that know nothing of it (C and C++), through poolmalloc-run, with the
# statistics and configuration environment variables. Speaks TAP.
helper="$top_builddir/tests/unit/alloc_preload_helper"
cxx="$top_builddir/tests/unit/alloc_preload_cxx"
run="$top_builddir/tools/poolmalloc-run"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
echo "1..13"
result() { # result STATUS NAME
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
preload() { LD_PRELOAD="$POOLMALLOC_SO" "$@"; }

preload "$helper" family 2>"$tmp/err"
result $? "malloc family, glibc aliases and mallinfo2 are interposed"
cat "$tmp/err"

preload "$helper" fork 2>"$tmp/err"
result $? "the child of a busy multi-threaded parent allocates"
cat "$tmp/err"

preload "$helper" introspect 2>"$tmp/err" &&
  grep -q '^  total_allocations: [1-9]' "$tmp/err"
result $? "malloc_info, mallopt and malloc_stats answer for the library"
cat "$tmp/err"

preload "$cxx" 2>"$tmp/err"
result $? "C++ new and delete go through the allocator"
cat "$tmp/err"

address=$(preload "$helper" bad-free 2>"$tmp/err"; echo "status $?")
# (dash adds its own "Aborted" line, hence the count of ours.)
grep -qx 'poolmalloc: free(): invalid pointer 0x[0-9a-f]*' "$tmp/err" &&
  [ "$(grep -c '^poolmalloc:' "$tmp/err")" -eq 1 ] &&
  [ "$address" = "status 134" ]
result $? "a foreign pointer aborts with one line naming free()"

POOLMALLOC_STATS=json POOLMALLOC_STATS_FILE="$tmp/stats.%p.json" preload "$helper" exit &&
  set -- "$tmp"/stats.*.json && [ -f "$1" ] &&
  python3 - "$1" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
keys = {"allocated_bytes", "peak_allocated_bytes", "mapped_bytes", "released_bytes",
        "retained_bytes", "total_allocations", "total_frees", "reuse_count", "reuse_rate",
        "fragmentation", "classes", "arenas"}
assert set(stats) == keys, sorted(set(stats) ^ keys)
assert stats["total_allocations"] >= 1000 and len(stats["classes"]) > 30
assert set(stats["classes"][0]) == {"block_size", "allocations", "frees", "live_blocks",
                                    "slabs", "slab_bytes"}
PY
result $? "POOLMALLOC_STATS=json writes one JSON object with the documented keys to %p file"

POOLMALLOC_STATS=text preload "$helper" exit 2>"$tmp/text"
grep -q '^  allocated_bytes: [0-9]*$' "$tmp/text" && grep -q '^  classes:$' "$tmp/text"
result $? "POOLMALLOC_STATS=text prints the listing to stderr at exit"

POOLMALLOC_STATS=text preload "$helper" close-stderr 2>"$tmp/text"
grep -q '^  total_allocations: [0-9]*$' "$tmp/text"
result $? "the exit report reaches stderr even when the program closed it"

POOLMALLOC_STATS=text POOLMALLOC_STATS_FILE=/nonexistent/stats preload "$helper" reuse-stderr \
  "$tmp/theirs" 2>"$tmp/text"
[ ! -s "$tmp/theirs" ] && grep -q 'cannot open the stats file /nonexistent/stats' "$tmp/text" &&
  grep -q '^  total_allocations: [0-9]*$' "$tmp/text"
result $? "an unusable stats file falls back to stderr, not to a file that took fd 2"

POOLMALLOC_STATS=text preload "$helper" reuse-copy "$tmp/theirs" 2>"$tmp/text"
[ ! -s "$tmp/theirs" ] && grep -q '^  total_allocations: [0-9]*$' "$tmp/text"
result $? "the exit report skips a copy of stderr whose number the program reused"

POOLMALLOC_CONF='decay_ms:fast,colour:blue' preload "$helper" exit 2>"$tmp/err"
[ "$(wc -l <"$tmp/err")" -eq 2 ] && grep -q 'invalid value for option decay_ms:fast' "$tmp/err" &&
  grep -q 'unknown option colour' "$tmp/err"
result $? "bad POOLMALLOC_CONF entries warn once each and the program runs"

POOLMALLOC_LIB="$POOLMALLOC_SO" POOLMALLOC_STATS=json POOLMALLOC_STATS_FILE="$tmp/run.json" \
  "$run" "$helper" exit && python3 -m json.tool "$tmp/run.json" >/dev/null
result $? "poolmalloc-run preloads the library"

LD_PRELOAD=/nonexistent.so POOLMALLOC_LIB="$POOLMALLOC_SO" "$run" sh -c 'case "$LD_PRELOAD" in "$0":/nonexistent.so) exit 0;; *) exit 1;; esac' "$POOLMALLOC_SO" 2>/dev/null
result $? "poolmalloc-run prepends to an existing LD_PRELOAD"
exit 0
