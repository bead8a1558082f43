#!/bin/sh
# run.sh: `make check-fuzz`. Builds the libFuzzer targets with clang from
# the library's sources (no interposition: the targets call pm_* and
# AddressSanitizer keeps its own malloc), then runs each for a bounded time
# from its seed corpus and prints one TAP line per target with the number
# of executions. Skips, successfully, when clang cannot build libFuzzer
# targets.
#
# Environment (set by tests/fuzz/local.mk): top_srcdir, top_builddir,
# FUZZ_CC (clang), FUZZ_TIME (seconds per target), LIB_SOURCES (the
# library's sources relative to top_srcdir, as listed in the makefiles).
set -u
: "${FUZZ_CC:=clang}" "${FUZZ_TIME:=20}" "${FUZZ_JOBS:=2}"
out="$top_builddir/tests/fuzz"
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/pm-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

sanitizers=-fsanitize=address,undefined
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cppflags="-I$top_srcdir/include -I$top_srcdir/src -I$top_builddir"

echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d[0] && n; }' \
  >"$work/probe.c"
if ! $FUZZ_CC -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" \
  >"$work/probe.log" 2>&1; then
  echo "1..0 # SKIP $FUZZ_CC cannot build libFuzzer targets" \
    "(install clang and libclang-rt-14-dev, or set FUZZ_CC)"
  exit 0
fi

# The library once, instrumented for coverage and both sanitizers, shared
# by the two targets.
echo "check-fuzz: compiling the library with $FUZZ_CC $sanitizers"
# Interposition stays out: the targets call pm_* and the sanitizers keep
# the process's own malloc.
for source in $LIB_SOURCES src/planner/csv.c; do
  case $source in *.c) [ "$source" != src/interpose.c ] && echo "$source" ;; esac
done |
  xargs -P "$FUZZ_JOBS" -I{} sh -c '
    object="$1/$(echo "$2" | tr / _).o"
    $3 $4 $5 $6 -fsanitize=fuzzer-no-link -c "$7/$2" -o "$object" || exit 255
  ' sh "$work" {} "$FUZZ_CC" "$cflags" "$cppflags" "$sanitizers" "$top_srcdir" ||
  {
    echo "Bail out! the library does not build with $FUZZ_CC"
    exit 1
  }

targets="fuzz_alloc fuzz_plan"
echo "1..2"
number=0
failures=0
for target in $targets; do
  number=$((number + 1))
  log="$out/$target.log"
  # fuzz_alloc needs no CSV reader; fuzz_plan needs no allocator, but the
  # unused objects cost nothing at link time.
  if ! $FUZZ_CC $cflags $cppflags -fsanitize=fuzzer,address,undefined \
    "$top_srcdir/tests/fuzz/$target.c" "$work"/*.o -o "$out/$target" -lpthread >"$log" 2>&1; then
    echo "not ok $number - $target does not build (see $log)"
    failures=$((failures + 1))
    continue
  fi
  max_len=512
  [ "$target" = fuzz_plan ] && max_len=4096
  mkdir -p "$work/corpus-$target"
  start=$(date +%s)
  "$out/$target" -max_total_time="$FUZZ_TIME" -max_len="$max_len" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$out/$target-" \
    "$work/corpus-$target" "$top_srcdir/tests/fuzz/corpus/$target" >>"$log" 2>&1
  status=$?
  seconds=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  seed=$(sed -n 's/^INFO: Seed: *//p' "$log" | tail -n 1)
  if [ $status -eq 0 ]; then
    echo "ok $number - $target: ${runs:-?} executions in ${seconds}s (seed $seed)"
  else
    failures=$((failures + 1))
    echo "not ok $number - $target failed after ${seconds}s (seed $seed); log: $log"
    grep -E 'ERROR|runtime error|SUMMARY|^ +#[0-9] |Test unit written' "$log" | head -n 20 |
      sed 's/^/# /'
    # The allocator keeps state across inputs, so a crashing input may
    # need the ones before it: rerunning with -seed replays the session.
    echo "# replay: mkdir EMPTY_DIR && $out/$target -seed=$seed -max_len=$max_len" \
      "-max_total_time=$FUZZ_TIME EMPTY_DIR $top_srcdir/tests/fuzz/corpus/$target"
  fi
done
echo "check-fuzz: $((number - failures)) of $number targets passed"
[ $failures -eq 0 ]
