#!/bin/sh
# gcc_compile.sh: gcc under the preloaded library (the driver, cc1, as and
# ld are all preloaded) must produce the same object file as without it,
# and the program it links must run and print the same result.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

sample="$top_srcdir/tests/integration/gcc_sample.c"
# Both runs write to the same paths, so the objects may only differ if the
# compiler behaves differently; their checksum is part of the output.
compile='gcc -O2 -Wall -g -c -o "$2/sample.o" "$1" && md5sum <"$2/sample.o" &&
  gcc -O2 -o "$2/sample" "$1" && "$2/sample"'

tap_plan 3
tap_same_output "gcc -O2 -g compile, link and run" sh -c "$compile" sh "$sample" "$pm_tmp"
tap_stats "gcc -O2 -g compile, link and run" 50000 4
tap_done
