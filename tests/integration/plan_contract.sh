#!/bin/sh
# plan_cache_limit.sh: plan_cache_limit's checks against the library
# (preloaded) and against poolmalloc_runtime.h's fallback (not preloaded).
# Prints TAP.
: "${top_builddir:?}" "${POOLMALLOC_SO:?}"
program="$top_builddir/tests/integration/plan_cache_limit"
checks=9
echo "1..$((2 * checks))"
LD_PRELOAD="$POOLMALLOC_SO" "$program" library 0
"$program" fallback "$checks" 2>/dev/null
