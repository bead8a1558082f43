#!/bin/sh
# run_test.sh: how `make check` runs the test programs (LOG_COMPILER; the
# shell-script tests run as they are). Criterion's own time limits are per
# test suite (its --timeout only caps them), so a program that hangs all
# the same is killed after PM_TEST_PROGRAM_TIMEOUT seconds: its missing
# results then fail the run instead of stalling it. The programs that do
# not carry the allocator in themselves (alloc_unit links a white-box copy)
# run with the library preloaded: their own allocations and those of
# Criterion's forked workers then go through it, which also exercises its
# fork handlers.
test=$1
shift
limit=${PM_TEST_PROGRAM_TIMEOUT:-1200}
case $test in
*/alloc_unit) exec timeout -s KILL "$limit" "$test" "$@" ;;
*) LD_PRELOAD=$POOLMALLOC_SO exec timeout -s KILL "$limit" "$test" "$@" ;;
esac
