#!/bin/sh
# valgrind.sh: `make check-valgrind`. Runs the Criterion unit test programs
# (built normally, nothing preloaded), test_threads and the infer example
# under memcheck. The allocator maps its own memory, so memcheck cannot see
# overruns inside pool blocks; it still catches reads of uninitialised
# values, invalid accesses to the C library's heap and to the stack, and
# definite leaks of C library memory. Criterion re-executes the test binary
# for every test, hence --trace-children. Prints TAP-ish lines and a count.
#
# A memcheck error fails the run. A program that fails on its own under
# valgrind (tests with time limits do: memcheck slows them down many times)
# is listed as TODO with its log, since memcheck found nothing wrong.
#
# Environment (set by tests/sanitize/local.mk): top_builddir, LIBTOOL,
# PROGRAMS (test programs relative to top_builddir), VALGRIND,
# VALGRIND_JOBS (programs run at once).
set -u
: "${VALGRIND:=valgrind}" "${VALGRIND_JOBS:=2}"
# The planner's tests want every plan checked (tests/unit/plan_test.h).
# PM_UNDER_VALGRIND skips the races of two threads, which memcheck runs
# one at a time.
POOLMALLOC_VALIDATE_PLANS=1 PM_UNDER_VALGRIND=1
export POOLMALLOC_VALIDATE_PLANS PM_UNDER_VALGRIND
out="$top_builddir/tests/sanitize"
mkdir -p "$out"

if ! $VALGRIND --version >/dev/null 2>&1; then
  echo "1..0 # SKIP $VALGRIND not found (apt-get install valgrind)"
  exit 0
fi
# Built without valgrind's header, the library cannot correct memcheck's
# view of a mapping mremap moved and grew (tests/README.md): every write to
# such a block would be reported.
if ! grep -q '^#define HAVE_VALGRIND_MEMCHECK_H 1' "$top_builddir/config.h"; then
  echo "1..0 # SKIP configured before valgrind was installed: run ./configure again"
  exit 0
fi

# run_one LOG COMMAND...: memcheck on COMMAND (libtool wrappers resolved);
# LOG.status gets the exit status and the seconds taken.
run_one() {
  log=$1
  shift
  start=$(date +%s)
  $LIBTOOL --mode=execute $VALGRIND -q --vgdb=no --read-inline-info=no --error-exitcode=99 \
    --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --trace-children=yes \
    "$@" >"$log" 2>&1
  echo "$? $(($(date +%s) - start))" >"$log.status"
}

names=
started=0
launch() { # launch NAME LOG COMMAND...
  names="$names $1"
  log=$2
  shift 2
  run_one "$log" "$@" &
  started=$((started + 1))
  [ $((started % VALGRIND_JOBS)) -ne 0 ] || wait
}

# The unit tests are Criterion programs: one test at a time.
for program in $PROGRAMS; do
  name=$(basename "$program")
  case $program in
  tests/sanitize/test_threads) launch "$name" "$out/valgrind-$name.log" "$top_builddir/$program" ;;
  *) launch "$name" "$out/valgrind-$name.log" "$top_builddir/$program" --jobs 1 ;;
  esac
done

# infer runs its kernels on one malloc() block per tensor or, with the
# library preloaded, on a planned arena: both get checked, on a small
# slice of the test set.
infer="$top_builddir/examples/infer/infer"
data=/usr/share/datasets/fashion-mnist
have_infer=no
if [ -x "$infer" ] && [ -r "$data/t10k-images-idx3-ubyte.gz" ]; then
  have_infer=yes
  launch infer "$out/valgrind-infer.log" "$infer" --limit 64 --batch 16
  launch infer-preloaded "$out/valgrind-infer-preloaded.log" \
    env LD_PRELOAD="$top_builddir/.libs/libpoolmalloc.so" "$infer" --limit 64 --batch 16
fi
wait

number=0
failures=0
todo=0
for name in $names; do
  number=$((number + 1))
  log="$out/valgrind-$name.log"
  read -r status seconds <"$log.status"
  if [ "$status" -eq 99 ] || grep -q -E '^==[0-9]+== [A-Z]' "$log"; then
    failures=$((failures + 1))
    echo "not ok $number - memcheck $name: errors reported (log: $log)"
    grep -E '^==[0-9]+== ' "$log" | head -n 30 | sed 's/^/# /'
  elif [ "$status" -eq 126 ] || [ "$status" -eq 127 ]; then
    # Not found or not runnable: nothing was checked, which is no TODO.
    failures=$((failures + 1))
    echo "not ok $number - memcheck $name: the program did not run (status $status, log: $log)"
    head -n 5 "$log" | sed 's/^/# /'
  elif [ "$status" -ne 0 ]; then
    todo=$((todo + 1))
    echo "not ok $number - memcheck $name (${seconds}s) # TODO clean, but the program" \
      "exits $status under valgrind (log: $log)"
    grep -E '^\[FAIL\]|Assertion|not ok' "$log" | head -n 10 | sed 's/^/# /'
  else
    echo "ok $number - memcheck $name (${seconds}s)"
  fi
done
if [ $have_infer = no ]; then
  number=$((number + 1))
  echo "ok $number # SKIP infer: example or Fashion-MNIST (dataset-fashion-mnist) missing"
fi

echo "1..$number"
echo "check-valgrind: $((number - failures - todo)) clean and passing," \
  "$todo clean but failing under valgrind, $failures with memcheck errors"
[ $failures -eq 0 ]
