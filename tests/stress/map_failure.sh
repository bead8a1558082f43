#!/bin/sh
# map_failure.sh: with the OS refusing new mappings (fault injection through
# POOLMALLOC_CONF=fail_map_after:N) every allocation function returns NULL
# with ENOMEM and the program goes on once it frees (map_failure.c). Runs
# only against libpoolmalloc: the hook is its own.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
tap_plan 2
if ! pm_is_poolmalloc; then
  tap_skip "allocation functions when mmap fails" "the preloaded library is not libpoolmalloc"
  tap_skip "statistics" "the preloaded library is not libpoolmalloc"
  exit 0
fi
# 5 mappings: the heap, registry and three 32 MiB segments, then refusals.
# retain_max above what the program holds: past it, freed segments would be
# unmapped at once and could not be mapped again.
tap_preloaded_program "allocation functions when mmap fails" 50 \
  env POOLMALLOC_CONF=fail_map_after:5,retain_max:256M "$top_builddir/tests/stress/map_failure"
tap_done
