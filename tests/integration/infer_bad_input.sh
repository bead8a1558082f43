#!/bin/sh
# infer_bad_input.sh: every kind of bad input gives one clear line naming
# the file and the problem, and exit status 2. Fixtures are made on the fly:
# a tiny valid IDX test set (3 images) and corrupt copies of it and of the
# weights file.
. "$top_srcdir/tests/integration/infer_common.sh"
echo "1..12"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp" <<'PY' || exit 1
import gzip, os, struct, sys
root = sys.argv[1]
def idx(path, magic, dims, payload):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + struct.pack(">" + "I" * len(dims), *dims) + payload)
images = bytes((i * 7) % 256 for i in range(3 * 28 * 28))
for name in ("good", "truncated", "magic", "labels", "trailing"):
    os.mkdir(os.path.join(root, name))
def write(name, image_bytes=images, image_magic=0x803, labels=bytes([0, 1, 2]), extra=b""):
    idx(os.path.join(root, name, "t10k-images-idx3-ubyte.gz"), image_magic, (3, 28, 28), image_bytes + extra)
    idx(os.path.join(root, name, "t10k-labels-idx1-ubyte.gz"), 0x801, (len(labels),), labels)
write("good")
write("truncated", image_bytes=images[:1000])
write("magic", image_magic=0x801)
write("labels", labels=bytes([0, 1, 12]))
write("trailing", extra=b"x")
PY

# expect NAME PATTERN ARGS...: exit status 2 and one stderr line matching
# PATTERN (bad usage adds the usage text after that line).
expect() {
  name=$1 pattern=$2
  shift 2
  "$infer" --weights "$weights" "$@" > "$tmp/out" 2> "$tmp/err"
  status=$?
  lines=$(wc -l < "$tmp/err")
  if [ $status -eq 2 ] && head -n 1 "$tmp/err" | grep -q -- "$pattern" &&
    { [ "$lines" -eq 1 ] || sed -n 2p "$tmp/err" | grep -q '^usage: infer'; }; then
    ok 0 "$name"
  else
    echo "# status $status, stderr:"; sed 's/^/#   /' "$tmp/err"
    ok 1 "$name"
  fi
}

"$infer" --weights "$weights" --data "$tmp/good" --batch 2 > "$tmp/out" 2>&1 &&
  grep -q '^accuracy: .* (./3)$' "$tmp/out"
ok $? "a valid 3-image IDX set is read (batches of 2 and 1)"
expect "missing dataset" "^infer: $tmp/none/t10k-images-idx3-ubyte.gz: No such file or directory$" --data "$tmp/none"
expect "truncated IDX file" "t10k-images-idx3-ubyte.gz: truncated IDX file (expected 2368 bytes, got 1016)$" --data "$tmp/truncated"
expect "wrong magic number" "wrong magic number 0x00000801 (expected 0x00000803)$" --data "$tmp/magic"
expect "label out of range" "label 12 of image 2 is not a class 0..9$" --data "$tmp/labels"
expect "trailing bytes" "trailing data after 2368 bytes of IDX file$" --data "$tmp/trailing"

expect "missing weights" "^infer: $tmp/none.weights: No such file or directory$" --data "$tmp/good" --weights "$tmp/none.weights"
head -c 1000 "$weights" > "$tmp/short.weights"
expect "truncated weights" "short.weights: truncated weights file in tensor 2 (conv2.w)$" --data "$tmp/good" --weights "$tmp/short.weights"
{ printf 'XXXX'; tail -c +5 "$weights"; } > "$tmp/magic.weights"
expect "wrong weights magic" "magic.weights: not a weights file" --data "$tmp/good" --weights "$tmp/magic.weights"

expect "unknown option" "^infer: unknown option '--frobnicate'$" --frobnicate
expect "bad batch size" "^infer: --batch wants a number 1..65536, not 'x'$" --batch x
expect "unknown model" "^infer: unknown model 'vgg'$" --model vgg
[ $failures -eq 0 ]
