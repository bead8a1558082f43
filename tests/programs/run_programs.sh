#!/bin/sh
# run_programs.sh: the real-program suite behind `make check-programs`.
# Runs each program script given as an argument (paths relative to
# $top_srcdir); every one compares an unmodified program preloaded with
# libpoolmalloc against the same program on glibc. Prints one TAP-like
# line per program, keeps each program's full TAP in
# tests/programs/NAME.log under the current (build) directory, and ends
# with "programs run: N, passed: M". Exit status 0 only if all passed.
: "${top_srcdir:?run through make check-programs (top_srcdir unset)}"

mkdir -p tests/programs || exit 1
run=0
passed=0
echo "1..$#"
for script in "$@"; do
  run=$((run + 1))
  name=$(basename "$script" .sh)
  log="tests/programs/$name.log"
  start=$(date +%s)
  sh "$top_srcdir/$script" >"$log" 2>&1
  status=$?
  seconds=$(($(date +%s) - start))
  # A script that stops early has fewer results than its plan promised.
  planned=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$log" | head -n 1)
  results=$(grep -c -E '^(not )?ok ' "$log")
  if [ $status -eq 0 ] && ! grep -q -E '^(not ok|Bail out!)' "$log" &&
    [ "${planned:-0}" -gt 0 ] && [ "$results" -eq "$planned" ]; then
    passed=$((passed + 1))
    echo "ok $run - $name (${seconds} s)"
  else
    echo "not ok $run - $name (${seconds} s, see $log)"
    grep -E '^(not ok|Bail out!)' "$log" | sed 's/^/#   /'
  fi
done
echo "programs run: $run, passed: $passed"
[ $passed -eq $run ]
