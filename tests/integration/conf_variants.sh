#!/bin/sh
# conf_variants.sh: re-runs a subset of the integration tests under other
# POOLMALLOC_CONF settings (as jemalloc re-runs its tests under MALLOC_CONF
# variations): immediate release, long decay with a small retained cap, a
# pool limit these programs stay well below (reaching it would fail them),
# and no per-thread cache of large blocks (on by default). Each sub-test's
# TAP lines are renumbered into one stream, prefixed with the setting; the
# plan comes last.
: "${top_srcdir:?run through make check (top_srcdir unset)}"

dir="$top_srcdir/tests/integration"
count=0
failed=0
for conf in "decay_ms:0" "decay_ms:10000,retain_max:1M" "limit:256M" "large_cache:0"; do
  for test in shell_sort.sh cxx_threads.sh sqlite.sh; do
    # A sub-test that dies early fails here too: by its exit status, and
    # by fewer results than its own plan ("1..N") announced.
    output=$(POOLMALLOC_CONF=$conf sh "$dir/$test" 2>&3)
    exit_status=$?
    planned=
    results=0
    while IFS= read -r line; do
      case "$line" in
        "ok "* | "not ok "*)
          count=$((count + 1))
          results=$((results + 1))
          status=${line%% [0-9]*}
          text=${line#"$status" }
          text=${text#*[0-9] - }
          [ "$status" = ok ] || failed=$((failed + 1))
          echo "$status $count - [$conf] $test: $text"
          ;;
        1..*) planned=${line#1..} planned=${planned%% *} ;;
        "Bail out!"*) echo "$line [$conf] $test"; exit 1 ;;
        *) ;;
      esac
    done <<LINES
$output
LINES
    if [ "$exit_status" -ne 0 ] || [ "$results" != "${planned:-none}" ]; then
      count=$((count + 1))
      failed=$((failed + 1))
      echo "not ok $count - [$conf] $test: exit status $exit_status, $results of ${planned:-?} results"
    fi
  done
done 3>&2
echo "1..$count"
[ "$failed" -eq 0 ]
