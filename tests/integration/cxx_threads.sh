#!/bin/sh
# cxx_threads.sh: the C++17 STL program (tests/integration/cxx_threads.cc)
# whose containers and shared_ptrs cross threads must print the same
# checksum under the preloaded library as without it.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

tap_plan 3
tap_same_output "C++ STL across threads" "$top_builddir/tests/integration/cxx_threads"
tap_stats "C++ STL across threads" 300000
tap_done
