#!/bin/sh
# infer_same_logits.sh: infer computes bit-identical logits with and without
# libpoolmalloc preloaded (planned arena vs one malloc per tensor), and for
# any batch size (the last, partial batch is planned from its own shape).
. "$top_srcdir/tests/integration/infer_common.sh"
echo "1..6"
have_dataset || skip_all 6 "Fashion-MNIST not installed in $data_dir"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

"$infer" --limit 500 --dump-logits "$tmp/plain.f32" > "$tmp/plain.out" 2>&1
ok $? "runs without the library"
LD_PRELOAD="$POOLMALLOC_SO" "$infer" --limit 500 --dump-logits "$tmp/preload.f32" > "$tmp/preload.out" 2>&1
ok $? "runs with LD_PRELOAD=libpoolmalloc.so"
[ "$(wc -c < "$tmp/plain.f32")" -eq 20000 ]
ok $? "dump holds 500 x 10 float32 logits"
cmp "$tmp/plain.f32" "$tmp/preload.f32"
ok $? "same logits, bit for bit, with and without the library"
LD_PRELOAD="$POOLMALLOC_SO" "$infer" --limit 500 --batch 7 --dump-logits "$tmp/batch7.f32" > /dev/null 2>&1 &&
  cmp "$tmp/plain.f32" "$tmp/batch7.f32"
ok $? "same logits with batch 7 (71 full batches and one of 3)"
grep -q '^planner: libpoolmalloc' "$tmp/preload.out" && grep -q '^planner: not preloaded' "$tmp/plain.out"
ok $? "each run names where its tensors came from"
[ $failures -eq 0 ]
