#!/bin/sh
# infer_accuracy.sh: the committed weights classify the full Fashion-MNIST
# test set at >= 85% under libpoolmalloc, with a plan that is no larger than
# the naive layout, no smaller than the lower bound, and reused from the
# shape cache for every repeated batch shape.
. "$top_srcdir/tests/integration/infer_common.sh"
echo "1..5"
have_dataset || skip_all 5 "Fashion-MNIST not installed in $data_dir"
out=$(LD_PRELOAD="$POOLMALLOC_SO" "$infer" --batch 32 2>&1)
ok $? "classifies the 10000 test images"
echo "$out" | sed 's/^/# /'

correct=$(echo "$out" | sed -n 's/^accuracy: .* (\([0-9]*\)\/10000)$/\1/p')
[ -n "$correct" ] && [ "$correct" -ge 8500 ]
ok $? "accuracy >= 85% ($correct/10000 correct)"

# Rows of the plan table: batch tensors naive lower planned saving.
row32=$(echo "$out" | awk '$1 == 32 && NF == 6')
row16=$(echo "$out" | awk '$1 == 16 && NF == 6')
echo "$row32" | awk '{ exit !($2 == 14 && $5 >= $4 && $5 <= $3 && $5 < $3) }'
ok $? "batch 32 plan: 14 buffers, lower bound <= arena < naive"
echo "$row16" | awk '{ exit !($2 == 14 && $5 >= $4 && $5 <= $3) }'
ok $? "last batch of 16 gets its own plan"
echo "$out" | grep -q '(bytes; 313 plan calls, 311 answered by the shape cache)'
ok $? "repeated shapes come from the shape cache"
[ $failures -eq 0 ]
