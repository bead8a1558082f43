#!/bin/sh
# run.sh: `make check-sanitize`. Builds the library's sources together with
# each Criterion unit test of tests/unit/ and with test_threads.c, once
# with UndefinedBehaviorSanitizer (-fno-sanitize-recover: the first report
# fails the test) and once with ThreadSanitizer, and runs every binary.
# Nothing is interposed: the tests call pm_* and the process keeps the C
# library's malloc, which both sanitizers expect. Prints TAP-ish lines and
# a final count; fails if any test fails or a sanitizer reports.
#
# Environment (set by tests/sanitize/local.mk): top_srcdir, top_builddir,
# SANITIZE_CC (the compiler), LIB_SOURCES (the library's sources as listed
# in the makefiles), CRITERION_CFLAGS, CRITERION_LIBS.
set -u
: "${SANITIZE_CC:=cc}" "${SANITIZE_JOBS:=2}" "${CRITERION_CFLAGS:=}" "${CRITERION_LIBS:=-lcriterion}"
# The planner's tests want every plan checked (tests/unit/plan_test.h).
POOLMALLOC_VALIDATE_PLANS=1
export POOLMALLOC_VALIDATE_PLANS
out="$top_builddir/tests/sanitize"
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/pm-sanitize.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer"
cppflags="-I$top_srcdir/include -I$top_srcdir/src -I$top_builddir"
number=0
failures=0

result() { # result STATUS NAME [LOG]
  number=$((number + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $number - $2"
  else
    failures=$((failures + 1))
    echo "not ok $number - $2${3:+ (log: $3)}"
    if [ -n "${3:-}" ]; then
      grep -E 'runtime error|WARNING: ThreadSanitizer|SUMMARY|^ +#[0-9]|\[FAIL\]|not ok' "$3" |
        head -n 30 | sed 's/^/# /'
    fi
  fi
}

# Interposition stays out; the CSV reader and SVG writer belong to
# poolmalloc-plan but have unit tests of their own.
sources=
for source in $LIB_SOURCES src/planner/csv.c src/planner/svg.c; do
  case $source in
  src/interpose.c | src/interpose_extras.c) ;;
  *.c) [ -f "$top_srcdir/$source" ] && sources="$sources $source" ;;
  esac
done
# The Criterion tests among tests/unit/*.c (the rest are helper programs).
tests=
for test in $(grep -l '^Test(' "$top_srcdir"/tests/unit/*.c); do
  tests="$tests $(basename "$test" .c)"
done

# sanitize NAME FLAGS RUNTIME_ENV TESTS: builds the library objects once,
# then every test linked against them, and runs each.
sanitize() {
  name=$1 flags=$2 runtime_env=$3 selected=$4
  mkdir -p "$work/$name"
  echo "# check-sanitize: building with $SANITIZE_CC $flags"
  for source in $sources; do echo "$source"; done |
    xargs -P "$SANITIZE_JOBS" -I{} sh -c '
      $1 $2 $3 $4 -c "$5/$6" -o "$7/$(echo "$6" | tr / _).o" || exit 255
    ' sh "$SANITIZE_CC" "$cflags" "$cppflags" "$flags" "$top_srcdir" {} "$work/$name" \
    >"$out/$name-build.log" 2>&1
  if [ $? -ne 0 ]; then
    result 1 "$name: the library builds" "$out/$name-build.log"
    return
  fi
  for test in $selected; do
    binary="$out/$name-$test"
    log="$binary.log"
    case $test in
    test_threads | runtime_threads) source="$top_srcdir/tests/sanitize/$test.c" libs="-lpthread -lm -ldl" ;;
    *) source="$top_srcdir/tests/unit/$test.c" libs="$CRITERION_LIBS -lpthread -lm" ;;
    esac
    # shellcheck disable=SC2086 # flag lists are meant to split
    if ! $SANITIZE_CC $cflags $cppflags $CRITERION_CFLAGS $flags "$source" "$work/$name"/*.o \
      -o "$binary" $libs >"$log" 2>&1; then
      result 1 "$name: $test builds" "$log"
      continue
    fi
    # One Criterion worker at a time; the timeout guards against a hung one.
    # shellcheck disable=SC2086
    env $runtime_env CRITERION_JOBS=1 "$binary" --jobs 1 --timeout 120 >>"$log" 2>&1
    status=$?
    if grep -q -E 'runtime error|WARNING: ThreadSanitizer' "$log"; then status=1; fi
    result $status "$name: $test" "$log"
  done
}

sanitize ubsan "-fsanitize=undefined -fno-sanitize-recover=all" \
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1" "$tests test_threads runtime_threads"
# Criterion cannot run under TSan: its sandbox maps its shared arena at a
# fixed place TSan has reserved and aborts ("Could not initialize
# inheritable arena", Snaipe/Criterion#274). So the threads of the unit
# tests (alloc_threads, alloc_lock, alloc_idle) never run under TSan;
# test_threads and runtime_threads, plain TAP programs, carry the
# concurrency there.
for test in $tests; do
  number=$((number + 1))
  echo "ok $number # SKIP tsan: $test (Criterion cannot run under TSan, Criterion#274)"
done
sanitize tsan "-fsanitize=thread" "TSAN_OPTIONS=halt_on_error=0:exitcode=66:second_deadlock_stack=1" \
  "test_threads runtime_threads"

echo "1..$number"
echo "check-sanitize: $((number - failures)) passed, $failures failed"
[ $failures -eq 0 ]
