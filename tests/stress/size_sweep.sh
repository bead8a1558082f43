#!/bin/sh
# size_sweep.sh: every small request size and a sweep of larger ones must
# get a block of at least that usable size that overlaps nothing, and a
# realloc chain must keep its bytes (size_sweep.c), under the preloaded
# library.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
tap_plan 2
tap_preloaded_program "malloc and realloc over every size class" 20000 \
  "$top_builddir/tests/stress/size_sweep"
tap_done
