#!/usr/bin/python3
"""train.py: trains the LeNet-5 weights that examples/infer/infer uses.

Regenerate the committed weights file with (about 10 minutes on 2 cores):

    python3 examples/infer/train.py --out examples/infer/lenet5.weights

(or `make train-weights` from a build directory). Needs only Debian's
python3-numpy and the dataset-fashion-mnist package.

The network (must match lenet.c):
    conv 5x5, 1->6, pad 2, ReLU   28x28 -> 28x28
    max pool 2x2                  28x28 -> 14x14
    conv 5x5, 6->16, no pad, ReLU 14x14 -> 10x10
    max pool 2x2                  10x10 -> 5x5
    fc 400->120, ReLU; fc 120->84, ReLU; fc 84->10 (logits)
Pixels are scaled to [0, 1] (byte / 255), as infer does.

Weights file format (all integers and floats little-endian):
    4 bytes   magic "PMW1"
    uint32    tensor count (10)
    per tensor, in the order conv1.w conv1.b conv2.w conv2.b fc1.w fc1.b
    fc2.w fc2.b fc3.w fc3.b:
        uint32     ndim (1..4)
        uint32     dims[ndim]  (conv: out,in,kh,kw; fc: out,in; bias: out)
        float32    data[prod(dims)], row-major
Training: Adam (lr 1e-3, halved for the last epochs), mini-batches of 64,
He-initialised weights, fixed seed: a rerun with the same numpy and BLAS
gives the same file.
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MAGIC = b"PMW1"


def read_idx(path, magic, dims):
    with gzip.open(path, "rb") as f:
        data = f.read()
    got_magic, = struct.unpack(">I", data[:4])
    if got_magic != magic:
        sys.exit(f"train.py: {path}: wrong magic number {got_magic:#x}")
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, split):
    images = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"), 0x803, 3)
    labels = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"), 0x801, 1)
    return images.astype(np.float32)[:, :, :, None] / np.float32(255.0), labels.astype(np.int64)


def conv_forward(x, w, b, pad):
    """x [B,H,W,C] (channels last: no transposes), w [O,C,k,k] -> [B,H',W',O]."""
    k = w.shape[2]
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    win = sliding_window_view(x, (k, k), axis=(1, 2))  # B,H',W',C,k,k
    bsz, ho, wo = win.shape[:3]
    cols = win.reshape(bsz * ho * wo, -1)
    out = cols @ w.reshape(w.shape[0], -1).T + b
    return out.reshape(bsz, ho, wo, -1), cols


def conv_backward(dout, cols, x_shape, w, pad):
    bsz, ho, wo, o = dout.shape
    k = w.shape[2]
    d2 = dout.reshape(-1, o)
    dw = (d2.T @ cols).reshape(w.shape)
    db = d2.sum(axis=0)
    dcols = (d2 @ w.reshape(o, -1)).reshape(bsz, ho, wo, x_shape[3], k, k)
    dx = np.zeros((bsz, x_shape[1] + 2 * pad, x_shape[2] + 2 * pad, x_shape[3]), np.float32)
    for i in range(k):
        for j in range(k):
            dx[:, i:i + ho, j:j + wo, :] += dcols[:, :, :, :, i, j]
    if pad:
        dx = dx[:, pad:-pad, pad:-pad, :]
    return dx, dw, db


def pool_forward(x):
    """2x2 max pool; the mask routes each gradient to ONE maximum, even on ties."""
    bsz, h, w, c = x.shape
    quads = x.reshape(bsz, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 5, 2, 4)
    quads = quads.reshape(bsz, h // 2, w // 2, c, 4)
    first_max = quads.argmax(axis=4)[..., None]
    return np.take_along_axis(quads, first_max, axis=4)[..., 0], first_max


def pool_backward(dout, first_max):
    bsz, h2, w2, c = dout.shape
    quads = np.zeros((bsz, h2, w2, c, 4), np.float32)
    np.put_along_axis(quads, first_max, dout[..., None], axis=4)
    quads = quads.reshape(bsz, h2, w2, c, 2, 2).transpose(0, 1, 4, 2, 5, 3)
    return quads.reshape(bsz, h2 * 2, w2 * 2, c)


def init_params(rng):
    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    return [he((6, 1, 5, 5), 25), np.zeros(6, np.float32),
            he((16, 6, 5, 5), 150), np.zeros(16, np.float32),
            he((120, 400), 400), np.zeros(120, np.float32),
            he((84, 120), 120), np.zeros(84, np.float32),
            he((10, 84), 84), np.zeros(10, np.float32)]


def forward(p, x, keep=False):
    c1, cols1 = conv_forward(x, p[0], p[1], 2)
    r1 = np.maximum(c1, 0)
    p1, m1 = pool_forward(r1)
    c2, cols2 = conv_forward(p1, p[2], p[3], 0)
    r2 = np.maximum(c2, 0)
    p2, m2 = pool_forward(r2)
    flat = p2.transpose(0, 3, 1, 2).reshape(len(x), -1)  # fc1 expects C,H,W order
    f1 = np.maximum(flat @ p[4].T + p[5], 0)
    f2 = np.maximum(f1 @ p[6].T + p[7], 0)
    logits = f2 @ p[8].T + p[9]
    if not keep:
        return logits
    return logits, (x, cols1, c1, m1, p1, cols2, c2, m2, flat, f1, f2)


def backward(p, cache, dlogits):
    x, cols1, c1, m1, p1, cols2, c2, m2, flat, f1, f2 = cache
    g = [None] * 10
    g[8], g[9] = dlogits.T @ f2, dlogits.sum(axis=0)
    d = (dlogits @ p[8]) * (f2 > 0)
    g[6], g[7] = d.T @ f1, d.sum(axis=0)
    d = (d @ p[6]) * (f1 > 0)
    g[4], g[5] = d.T @ flat, d.sum(axis=0)
    d = (d @ p[4]).reshape(c2.shape[0], 16, 5, 5).transpose(0, 2, 3, 1)
    d = pool_backward(d, m2) * (c2 > 0)
    d, g[2], g[3] = conv_backward(d, cols2, p1.shape, p[2], 0)
    d = pool_backward(d, m1) * (c1 > 0)
    _, g[0], g[1] = conv_backward(d, cols1, x.shape, p[0], 2)
    return g


def accuracy(p, x, y):
    correct = 0
    for i in range(0, len(x), 1000):
        correct += int((forward(p, x[i:i + 1000]).argmax(axis=1) == y[i:i + 1000]).sum())
    return correct / len(x)


def save(path, p):
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(p)))
        for t in p:
            f.write(struct.pack("<I", t.ndim) + struct.pack("<" + "I" * t.ndim, *t.shape))
            f.write(np.ascontiguousarray(t, dtype="<f4").tobytes())


def main():
    ap = argparse.ArgumentParser(description="Train LeNet-5 on Fashion-MNIST for infer.")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default="lenet5.weights")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()

    x_train, y_train = load(args.data, "train")
    x_test, y_test = load(args.data, "t10k")
    rng = np.random.default_rng(args.seed)
    p = init_params(rng)
    m = [np.zeros_like(t) for t in p]
    v = [np.zeros_like(t) for t in p]
    beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    for epoch in range(args.epochs):
        lr = 1e-3 if epoch < args.epochs * 0.7 else 5e-4
        start = time.time()
        order = rng.permutation(len(x_train))
        loss_sum = 0.0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            logits, cache = forward(p, x_train[idx], keep=True)
            shifted = logits - logits.max(axis=1, keepdims=True)
            probs = np.exp(shifted)
            probs /= probs.sum(axis=1, keepdims=True)
            loss_sum += float(-np.log(probs[np.arange(len(idx)), y_train[idx]] + 1e-12).sum())
            probs[np.arange(len(idx)), y_train[idx]] -= 1
            grads = backward(p, cache, (probs / len(idx)).astype(np.float32))
            step += 1
            for t, g, mt, vt in zip(p, grads, m, v):
                mt *= beta1
                mt += (1 - beta1) * g
                vt *= beta2
                vt += (1 - beta2) * g * g
                mhat = mt / (1 - beta1 ** step)
                vhat = vt / (1 - beta2 ** step)
                t -= (lr * mhat / (np.sqrt(vhat) + eps)).astype(np.float32)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss_sum / len(order):.4f}, "
              f"test accuracy {accuracy(p, x_test, y_test):.4f}, {time.time() - start:.1f} s",
              flush=True)
    save(args.out, p)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
