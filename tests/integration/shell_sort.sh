#!/bin/sh
# shell_sort.sh: a shell pipeline (bash, awk, sort, uniq) under the preloaded
# library must print byte-for-byte what it prints on glibc. 100k generated
# lines make awk and sort allocate for real.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library

cat >"$pm_tmp/pipeline.sh" <<'SCRIPT'
# Any command that fails, anywhere in a pipe, fails the script (sed, not
# head, reads all of its input, so no SIGPIPE can fail it): a crash
# after a program's output (in its exit-time statistics) must show.
set -e -o pipefail
# Deterministic data: a linear congruential generator inside awk.
awk 'BEGIN { x = 12345; for (i = 0; i < 100000; i++) {
  x = (x * 1103515245 + 12345) % 2147483648
  printf "%d %s-%d\n", x % 100000, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, x % 7 + 1), i % 97
} }' >"$1/data.txt"
sort -n "$1/data.txt" | md5sum
sort -u -k2,2 "$1/data.txt" | md5sum
cut -d' ' -f2 "$1/data.txt" | sort | uniq -c | sort -k1,1nr -k2 | sed -n 1,20p
awk '{ count[$2]++; total += $1 } END { n = 0; for (k in count) n++; print n, total }' "$1/data.txt"
words=""
i=0
while [ $i -lt 2000 ]; do words="$words w$i"; i=$((i + 1)); done
echo "${#words}"
SCRIPT

tap_plan 3
mkdir "$pm_tmp/work"
tap_same_output "shell pipeline with sort" bash "$pm_tmp/pipeline.sh" "$pm_tmp/work"
tap_stats "shell pipeline with sort" 20000 5
tap_done
