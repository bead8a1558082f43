#!/bin/sh
# thread_churn.sh: thousands of short-lived threads whose blocks outlive
# them (thread_churn.c) under the preloaded library.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
tap_plan 2
tap_preloaded_program "short-lived threads, blocks freed after their exit" 140000 \
  env STRESS_CHURN_THREADS="${STRESS_CHURN_THREADS:-3000}" "$top_builddir/tests/stress/thread_churn"
tap_done
