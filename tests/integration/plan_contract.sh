#!/bin/sh
# plan_contract.sh: plan_contract's checks against the library
# (preloaded) and against poolmalloc_runtime.h's fallback (not preloaded).
# Prints TAP.
: "${top_builddir:?}" "${POOLMALLOC_SO:?}"
program="$top_builddir/tests/integration/plan_contract"
checks=31
echo "1..$((2 * checks))"
LD_PRELOAD="$POOLMALLOC_SO" "$program" library 0
library_status=$?
"$program" fallback "$checks" 2>/dev/null
fallback_status=$?
# A crash after the last result must fail the test too.
[ $library_status -eq 0 ] && [ $fallback_status -eq 0 ]
