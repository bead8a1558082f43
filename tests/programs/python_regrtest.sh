#!/bin/sh
# python_regrtest.sh: a fixed list of allocation-heavy modules from
# CPython's own regression suite (Debian's libpython3.11-testsuite), run by
# Debian's python3 natively and then preloaded. PYTHONMALLOC=malloc sends
# every Python object through malloc, not only the large ones. Both runs
# must report the same result line and the same tests passed.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

modules="test_dict test_list test_set test_tuple test_unicode test_bytes test_string
  test_json test_collections test_ordered_dict test_deque test_heapq test_bisect test_array
  test_struct test_re test_sort test_userdict test_gc test_threading test_mmap
  test_memoryview test_itertools test_functools"
if ! "$PM_PYTHON" -c 'import test.libregrtest' 2>/dev/null; then
  echo "Bail out! CPython's test suite is missing (apt-get install libpython3.11-testsuite)"
  exit 1
fi

# Keeps the verdicts only: timings and load averages differ between runs.
regrtest='cd "$1" && PYTHONMALLOC=malloc PYTHONHASHSEED=0 "$2" -m test -j2 $3 >regrtest.out 2>&1
  status=$?
  sed -n "s/^[0-9:]* load avg: [0-9.]* \[ *[0-9]*\/[0-9]*\(\/[0-9]*\)*\] \(test_[a-z_]*\) \([a-z ]*\).*/\2 \3/p" \
    regrtest.out | sed "s/ *$//" | sort
  grep -E "^(Tests result|[0-9]+ tests? (OK|failed))" regrtest.out
  exit $status'

tap_plan 3
mkdir "$pm_tmp/work"
# shellcheck disable=SC2086 # the module list is split on purpose
tap_same_output "python3 -m test ($(echo $modules | wc -w) modules)" \
  sh -c "$regrtest" sh "$pm_tmp/work" "$PM_PYTHON" "$modules"
sed 's/^/# /' "$pm_tmp/preloaded.out"
tap_stats "python3 -m test" 1000000 3
tap_done
