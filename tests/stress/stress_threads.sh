#!/bin/sh
# stress_threads.sh: the multi-threaded content-checking stress program
# (stress_threads.c) under the preloaded library for STRESS_SECONDS
# (default 3 s here).
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
tap_plan 2
tap_preloaded_program "random malloc/calloc/realloc/aligned/free with remote frees" 1000 \
  env STRESS_SECONDS="${STRESS_SECONDS:-3}" "$top_builddir/tests/stress/stress_threads"
tap_done
