#!/bin/sh
# autogen.sh: install the Debian packages the build and tests need (when run
# as root and they are missing), then generate configure with autoreconf.
set -e
cd "$(dirname "$0")"

build_deps="autoconf automake libtool pkg-config make gcc g++ libcriterion-dev zlib1g-dev"
run_deps="libjemalloc-dev libjemalloc2 libmimalloc-dev libmimalloc2.0 libtcmalloc-minimal4 \
  sqlite3 python3 python3-numpy dataset-fashion-mnist hyperfine git perl"

missing=""
for pkg in $build_deps $run_deps; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "autogen.sh: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "autogen.sh: missing Debian packages:$missing (run as root to install them)" >&2
  fi
fi
autoreconf -fi
