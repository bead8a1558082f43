#!/bin/sh
# runtime_link.sh: the runtime_link example, built against poolmalloc.h
# alone, plans with the real library when it is preloaded and falls back to
# plain malloc (saying so once) when it is not. Prints TAP.
: "${top_builddir:?}" "${POOLMALLOC_SO:?}"
program="$top_builddir/examples/runtime_link/runtime_link"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
notice="poolmalloc: library not loaded; tensors use plain malloc"
echo "1..4"

field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

if ldd "$program" | grep -q libpoolmalloc; then
  echo "not ok 1 - the example must not link libpoolmalloc"
else
  echo "ok 1 - the example does not link libpoolmalloc"
fi

LD_PRELOAD="$POOLMALLOC_SO" "$program" >"$work/out" 2>"$work/err"
code=$?
out=$(cat "$work/out")
echo "# preloaded: $out"
naive=$(field naive "$out")
planned=$(field planned "$out")
if [ $code -eq 0 ] && [ "$(field algorithm "$out")" = best ] && [ ! -s "$work/err" ] &&
  [ "$(field output "$out")" = 5 ] && [ "$planned" -lt "$naive" ]; then
  echo "ok 2 - preloaded: planned by the library, smaller than naive"
else
  echo "not ok 2 - preloaded: planned by the library, smaller than naive"
  sed 's/^/# /' "$work/err"
fi

"$program" >"$work/out" 2>"$work/err"
code=$?
out=$(cat "$work/out")
echo "# plain: $out"
if [ $code -eq 0 ] && [ "$(field algorithm "$out")" = fallback ] &&
  [ "$(field output "$out")" = 5 ] && [ "$(field planned "$out")" = "$(field naive "$out")" ]; then
  echo "ok 3 - without the library: the fallback runs the same program"
else
  echo "not ok 3 - without the library: the fallback runs the same program"
  sed 's/^/# /' "$work/err"
fi
if [ "$(cat "$work/err")" = "$notice" ]; then
  echo "ok 4 - without the library: the notice is printed exactly once"
else
  echo "not ok 4 - without the library: the notice is printed exactly once"
  sed 's/^/# /' "$work/err"
fi
