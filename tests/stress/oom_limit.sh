#!/bin/sh
# oom_limit.sh: with POOLMALLOC_CONF=limit:64M every allocation function
# must return NULL with ENOMEM at the limit, and serve again after frees
# (oom_limit.c). Runs only against libpoolmalloc: other allocators have no
# pool limit.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
tap_plan 2
if ! pm_is_poolmalloc; then
  tap_skip "allocation functions at the pool limit" "the preloaded library is not libpoolmalloc"
  tap_skip "statistics" "the preloaded library is not libpoolmalloc"
  exit 0
fi
tap_preloaded_program "allocation functions at the pool limit" 100 \
  env POOLMALLOC_CONF=limit:64M "$top_builddir/tests/stress/oom_limit"
tap_done
