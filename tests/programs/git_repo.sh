#!/bin/sh
# git_repo.sh: git building a repository of a few hundred generated files
# over several commits (init, add, commit, log, gc, fsck) natively and
# preloaded. With fixed identities and dates every hash is deterministic,
# so the commit and tree hashes and fsck's verdict must match exactly.
. "$top_srcdir/tests/integration/preload_lib.sh"
pm_require_library
command -v git >/dev/null || { echo "Bail out! git not installed"; exit 1; }

cat >"$pm_tmp/git_workload.sh" <<'SCRIPT'
set -e
repo=$1/repo
rm -rf "$repo" && mkdir -p "$repo" && cd "$repo"
export HOME=$1 GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=t@example.org
export GIT_COMMITTER_NAME=Tester GIT_COMMITTER_EMAIL=t@example.org
git init -q -b main .
for dir in $(seq -w 0 19); do mkdir "dir$dir"; done
for round in 1 2 3 4 5; do
  export GIT_AUTHOR_DATE="2024-01-0$round 12:00:00 +0000" GIT_COMMITTER_DATE="2024-01-0$round 12:00:00 +0000"
  # 400 files in 20 directories; each round rewrites a different share.
  awk -v round=$round 'BEGIN { for (f = 0; f < 400; f++) {
    if (round > 1 && f % round != 0) continue
    file = sprintf("dir%02d/file%03d.txt", f % 20, f)
    for (l = 0; l < 20 + (f * 7 + round) % 60; l++) print "round", round, "file", f, "line", l, f * l > file
    close(file) } }'
  git add -A
  git commit -q -m "round $round"
done
git log --format='%H %T %s'
git rev-parse HEAD^{tree} HEAD~2:dir07
git gc -q --aggressive
git fsck --full --strict 2>&1 && echo fsck ok
git count-objects -v | grep -E '^(count|in-pack|packs):'
git diff --stat HEAD~4 HEAD | tail -n 1
SCRIPT

tap_plan 3
tap_same_output "git init/add/commit/log/gc/fsck" sh "$pm_tmp/git_workload.sh" "$pm_tmp"
sed 's/^/# /' "$pm_tmp/preloaded.out" | tail -n 8
tap_stats "git" 20000 10
tap_done
