#!/bin/sh
# infer_bad_input.sh: every kind of bad input gives one clear line naming
# the file and the problem, and exit status 2. Fixtures are made on the fly:
# a tiny valid IDX test set (3 images) and corrupt copies of it and of the
# weights file.
. "$top_srcdir/tests/integration/infer_common.sh"
echo "1..22"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp" "$weights" <<'PY' || exit 1
import gzip, os, struct, sys
root, weights = sys.argv[1], sys.argv[2]
def idx(path, magic, dims, payload):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + struct.pack(">" + "I" * len(dims), *dims) + payload)
images = bytes((i * 7) % 256 for i in range(3 * 28 * 28))
for name in ("good", "truncated", "magic", "labels", "trailing", "huge", "wide", "gzbad", "gztrail", "plain"):
    os.mkdir(os.path.join(root, name))
def write(name, image_bytes=images, image_magic=0x803, labels=bytes([0, 1, 2]), extra=b"", dims=(3, 28, 28)):
    idx(os.path.join(root, name, "t10k-images-idx3-ubyte.gz"), image_magic, dims, image_bytes + extra)
    idx(os.path.join(root, name, "t10k-labels-idx1-ubyte.gz"), 0x801, (len(labels),), labels)
write("good")
write("truncated", image_bytes=images[:1000])
write("magic", image_magic=0x801)
write("labels", labels=bytes([0, 1, 12]))
write("trailing", extra=b"x")
write("huge", dims=(0xffffffff, 28, 28))  # the count alone must not size an allocation
write("wide", dims=(10, 28, 100000))      # a wrong shape, told before any data is read
write("gzbad")
with open(os.path.join(root, "gzbad", "t10k-images-idx3-ubyte.gz"), "wb") as f:
    f.write(bytes.fromhex("1f8b0800000000000003") + b"\x07" * 8)  # deflate block type 3: invalid
write("gztrail")
with open(os.path.join(root, "gztrail", "t10k-images-idx3-ubyte.gz"), "ab") as f:
    f.write(b"garbage")  # after a complete gzip member
# Still accepted: an uncompressed IDX file and a gzip file of two members.
write("plain")
with open(os.path.join(root, "plain", "t10k-images-idx3-ubyte.gz"), "wb") as f:
    f.write(struct.pack(">IIII", 0x803, 3, 28, 28) + images)
with open(os.path.join(root, "plain", "t10k-labels-idx1-ubyte.gz"), "wb") as f:
    f.write(gzip.compress(struct.pack(">II", 0x801, 3)) + gzip.compress(bytes([0, 1, 2])))
# Weights with one non-finite value: tensor 0 value 3 NaN, tensor 4 value 7 -inf.
def poison(name, tensor, index, value):
    data = bytearray(open(weights, "rb").read())
    offset = 8
    for t in range(tensor + 1):
        ndim = struct.unpack_from("<I", data, offset)[0]
        dims = struct.unpack_from("<%dI" % ndim, data, offset + 4)
        offset += 4 + 4 * ndim
        if t == tensor:
            struct.pack_into("<f", data, offset + 4 * index, value)
        count = 1
        for d in dims:
            count *= d
        offset += 4 * count
    open(os.path.join(root, name), "wb").write(data)
poison("nan.weights", 0, 3, float("nan"))
poison("inf.weights", 4, 7, float("-inf"))
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
expect "truncated IDX file" "t10k-images-idx3-ubyte.gz: truncated IDX file: the header claims 3 images (2368 bytes); the file ends after 1016 bytes$" --data "$tmp/truncated"
expect "wrong magic number" "wrong magic number 0x00000801 (expected 0x00000803)$" --data "$tmp/magic"
expect "label out of range" "label 12 of image 2 is not a class 0..9$" --data "$tmp/labels"
expect "trailing bytes" "trailing data after 2368 bytes of IDX file$" --data "$tmp/trailing"
expect "huge image count" "t10k-images-idx3-ubyte.gz: truncated IDX file: the header claims 4294967295 images (3367254359296 bytes); the file ends after 2368 bytes$" --data "$tmp/huge"
expect "wrong image shape" "t10k-images-idx3-ubyte.gz: images are 28x100000, expected 28x28$" --data "$tmp/wide"
expect "corrupt gzip data names the file once" "^infer: $tmp/gzbad/t10k-images-idx3-ubyte.gz: corrupt gzip data (invalid block type)$" --data "$tmp/gzbad"
expect "garbage after the gzip data" "t10k-images-idx3-ubyte.gz: trailing garbage after the gzip data at byte [0-9]*$" --data "$tmp/gztrail"
"$infer" --weights "$weights" --data "$tmp/plain" > "$tmp/out" 2>&1 &&
  grep -q '^accuracy: .* (./3)$' "$tmp/out"
ok $? "a plain IDX file and a two-member gzip file are read"
# A path too long for the 512-byte message keeps its end and the problem.
long=$tmp/$(printf '%0200d/%0200d/%0200d' 0 0 0)
expect "long --data path" "^infer: \.\.\.[0/]*/t10k-images-idx3-ubyte.gz: No such file or directory$" --data "$long"

expect "missing weights" "^infer: $tmp/none.weights: No such file or directory$" --data "$tmp/good" --weights "$tmp/none.weights"
head -c 1000 "$weights" > "$tmp/short.weights"
expect "truncated weights" "short.weights: truncated weights file in tensor 2 (conv2.w)$" --data "$tmp/good" --weights "$tmp/short.weights"
{ printf 'XXXX'; tail -c +5 "$weights"; } > "$tmp/magic.weights"
expect "wrong weights magic" "magic.weights: not a weights file" --data "$tmp/good" --weights "$tmp/magic.weights"
expect "NaN weight" "nan.weights: tensor 0 (conv1.w) value 3 is not finite (nan)$" --data "$tmp/good" --weights "$tmp/nan.weights"
expect "infinite weight" "inf.weights: tensor 4 (fc1.w) value 7 is not finite (-inf)$" --data "$tmp/good" --weights "$tmp/inf.weights"
expect "directory as weights" "^infer: $tmp: Is a directory$" --data "$tmp/good" --weights "$tmp"

# A failed --dump-logits write is an I/O error (2), not a planning failure
# (1). Without the library a notice comes first, so only the last line counts.
if [ -w /dev/full ]; then
  "$infer" --weights "$weights" --data "$tmp/good" --dump-logits /dev/full > "$tmp/out" 2> "$tmp/err"
  status=$?
  [ $status -eq 2 ] && tail -n 1 "$tmp/err" | grep -q '^infer: /dev/full: No space left on device$'
  ok $? "--dump-logits write error exits 2 (status $status)"
else
  test_number=$((test_number + 1))
  echo "ok $test_number # SKIP no writable /dev/full"
fi

expect "unknown option" "^infer: unknown option '--frobnicate'$" --frobnicate
expect "bad batch size" "^infer: --batch wants a number 1..65536, not 'x'$" --batch x
expect "unknown model" "^infer: unknown model 'vgg'$" --model vgg
[ $failures -eq 0 ]
