#!/bin/sh
# infer_models.sh: the shape-only graphs of infer --model have the published
# structure (tensor counts, MobileNetV2's 65 intermediates and 26.31 MiB
# naive as in Pisarchyk & Lee 2020), the best planner reaches the lower bound
# on all four at batch 1, and without the library --model refuses to print
# naive figures as if they were a plan.
. "$top_srcdir/tests/integration/infer_common.sh"
echo "1..8"
out=$(LD_PRELOAD="$POOLMALLOC_SO" "$infer" --model all 2>&1)
ok $? "infer --model all plans every network"
echo "$out" | sed 's/^/# /'

# row MODEL BATCH: the table row (model batch input tensors naive lower planned saving ratio algo).
row() { echo "$out" | awk -v m="$1" -v b="$2" '$1 == m && $2 == b'; }
check_tensors() { # check_tensors MODEL COUNT
  row "$1" 1 | awk -v n="$2" '{ exit !($4 == n) }' && row "$1" 8 | awk -v n="$2" '{ exit !($4 == n) }'
}
check_tensors resnet50 74 && check_tensors mobilenetv2 66 && check_tensors bert-base 191 &&
  check_tensors unet 32
ok $? "tensor counts: resnet50 74, mobilenetv2 66, bert-base 191, unet 32 (inputs included)"
echo "$out" | grep -q '^  mobilenetv2  ours: 65 intermediate tensors, naive 26.31 MiB$'
ok $? "mobilenetv2: 65 intermediate tensors, 26.31 MiB naive, as published"
status=0
for m in resnet50 mobilenetv2 bert-base unet; do
  row $m 1 | awk '{ exit !($7 == $6 && $9 == "1.000") }' || status=1
done
ok $status "planned arena equals the lower bound at batch 1 on all four"
# Batch 8 multiplies every tensor by 8: naive and lower bound scale exactly
# (to the printed precision), and no plan goes below its lower bound.
status=0
for m in resnet50 mobilenetv2 bert-base unet; do
  r1=$(row $m 1) r8=$(row $m 8)
  echo "$r1 $r8" | awk '{ exit !(NF == 20 && ($15 - 8 * $5) ^ 2 < 0.01 && ($16 - 8 * $6) ^ 2 < 0.01 && $17 >= $16) }' || status=1
done
ok $status "batch 8 scales the naive size and lower bound by 8"
unet2=$(LD_PRELOAD="$POOLMALLOC_SO" "$infer" --model unet --batch 2 2>&1)
status=$?
[ $status -eq 0 ] && [ "$(echo "$unet2" | grep -c '^unet ')" -eq 1 ] &&
  echo "$unet2" | grep -q '^unet             2  1x572x572'
ok $? "--model unet --batch 2 prints one row, at batch 2"
"$infer" --model mobilenetv2 > /dev/null 2>&1
[ $? -eq 1 ]
ok $? "without the library --model exits 1"
"$infer" --model mobilenetv2 2>&1 | grep -q "needs libpoolmalloc's planner"
ok $? "and says the planner is needed"
[ $failures -eq 0 ]
