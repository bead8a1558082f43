# infer_common.sh: shared setup for the infer tests (sourced, not run).
# Finds the program and the dataset, and gives TAP helpers.
infer="$top_builddir/examples/infer/infer"
data_dir=/usr/share/datasets/fashion-mnist
weights="$top_srcdir/examples/infer/lenet5.weights"
test_number=0
failures=0

ok() { # ok CONDITION-STATUS NAME
  test_number=$((test_number + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $test_number - $2"
  else
    echo "not ok $test_number - $2"
    failures=$((failures + 1))
  fi
}

skip_all() { # skip_all PLAN REASON: every test of the plan as a TAP SKIP
  for i in $(seq 1 "$1"); do echo "ok $i # SKIP $2"; done
  exit 0
}

have_dataset() { [ -r "$data_dir/t10k-images-idx3-ubyte.gz" ] && [ -r "$data_dir/t10k-labels-idx1-ubyte.gz" ]; }
