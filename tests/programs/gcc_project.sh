#!/bin/sh
# gcc_project.sh: this project's own build (configure + make) with every
# process of it preloaded: sh, sed, make, libtool, gcc, cc1, as, ld and the
# configure test programs. It must succeed and produce object files
# byte-identical to a build without the library, in the same directory.
# Both builds use one snapshot of the sources, so edits made meanwhile in
# the source tree cannot make them differ.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

cat >"$pm_tmp/build.sh" <<'SCRIPT'
build=$1/build
rm -rf "$build" && mkdir "$build" && cd "$build" || exit 1
if ! "$2/configure" --enable-werror >configure.out 2>&1; then
  tail -n 20 configure.out >&2
  exit 1
fi
if ! make -j2 >make.out 2>&1; then
  tail -n 30 make.out >&2
  exit 1
fi
find . -name '*.o' | LC_ALL=C sort | xargs md5sum
SCRIPT

# The snapshot holds sources only: a source tree that was itself configured
# and built in place (as the README's Quick start does) would make configure
# refuse an out-of-tree build. From a git checkout, take the tracked files
# and regenerate the build system; from a release tree, copy it as it is.
mkdir "$pm_tmp/src" || exit 1
if [ -d "$top_srcdir/.git" ] && command -v git >/dev/null; then
  git -C "$top_srcdir" ls-files -z | (cd "$top_srcdir" && xargs -0 tar -cf -) |
    tar -C "$pm_tmp/src" -xf - &&
    (cd "$pm_tmp/src" && autoreconf -fi >/dev/null 2>&1) ||
    { echo "Bail out! cannot snapshot the git checkout"; exit 1; }
else
  tar -C "$top_srcdir" -cf - . | tar -C "$pm_tmp/src" -xf - ||
    { echo "Bail out! cannot copy the source tree"; exit 1; }
fi

tap_plan 4
tap_same_output "configure && make of libpoolmalloc" sh "$pm_tmp/build.sh" "$pm_tmp" "$pm_tmp/src"
objects=$(wc -l <"$pm_tmp/preloaded.out")
test "$objects" -ge 20
tap_result $? "the build produced $objects object files (at least 20 expected)"
tap_stats "configure && make" 1000000 200
tap_done
