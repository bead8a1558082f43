#!/bin/sh
# python_heavy.sh: Debian's python3 running an allocation-heavy script must
# print the same checksums under the preloaded library, both with pymalloc
# (only larger objects reach malloc) and with PYTHONMALLOC=malloc (every
# object does).
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

workload="$top_srcdir/tests/integration/python_workload.py"
tap_plan 6
tap_same_output "python3 with pymalloc" env PYTHONHASHSEED=0 "$PM_PYTHON" "$workload"
tap_stats "python3 with pymalloc" 5000
tap_same_output "python3 with PYTHONMALLOC=malloc" \
  env PYTHONHASHSEED=0 PYTHONMALLOC=malloc "$PM_PYTHON" "$workload"
tap_stats "python3 with PYTHONMALLOC=malloc" 500000
tap_done
