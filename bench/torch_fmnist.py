#!/usr/bin/env python3
"""torch_fmnist.py — the PyTorch side of bench/fmnist_vs_torch.sh.

Trains the same networks as fmnist-train (examples/fashion-mnist) on the
same Fashion-MNIST files with the same batch size, optimizer and
normalisation, on the CPU, and prints one name=value line per epoch:

    framework=torch model=mlp epoch=1 train_seconds=... test_acc=...

The data is decoded into tensors once, before timing, and batches are
sliced from a shuffled index, so the timed loop is forward, backward and
optimizer step only: the fastest way to feed PyTorch this data set.
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path, limit):
    with gzip.open(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = [struct.unpack(">I", f.read(4))[0] for _ in range(magic & 0xFF)]
        n = dims[0] if not limit else min(limit, dims[0])
        count = n * int(np.prod(dims[1:])) if len(dims) > 1 else n
        data = np.frombuffer(f.read(count), dtype=np.uint8)
    return data.reshape([n] + dims[1:])


def load(data_dir, train_limit, test_limit):
    def p(name):
        return os.path.join(data_dir, name + ".gz")
    xtr = read_idx(p("train-images-idx3-ubyte"), train_limit).astype(np.float32) / 255.0
    ytr = read_idx(p("train-labels-idx1-ubyte"), train_limit).astype(np.int64)
    xte = read_idx(p("t10k-images-idx3-ubyte"), test_limit).astype(np.float32) / 255.0
    yte = read_idx(p("t10k-labels-idx1-ubyte"), test_limit).astype(np.int64)
    mean, std = xtr.mean(), xtr.std()  # as fmnist-train: training-set stats
    xtr = (xtr - mean) / std
    xte = (xte - mean) / std
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    return t(xtr[:, None]), t(ytr), t(xte[:, None]), t(yte)


def make_model(kind, hidden, c1, c2):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(),
                             nn.Linear(hidden, 10))
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * c2, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--channels", default="32,64")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--train-limit", type=int, default=0)
    ap.add_argument("--test-limit", type=int, default=0)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr, xte, yte = load(a.data, a.train_limit, a.test_limit)
    c1, c2 = (int(v) for v in a.channels.split(","))
    model = make_model(a.model, a.hidden, c1, c2)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    lossf = nn.CrossEntropyLoss()
    n = xtr.shape[0]
    print(f"framework=torch version={torch.__version__} threads={torch.get_num_threads()} "
          f"mkldnn={int(torch.backends.mkldnn.is_available())}", file=sys.stderr)
    for epoch in range(1, a.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        tot, right = 0.0, 0
        for s in range(0, n, a.batch_size):
            idx = perm[s:s + a.batch_size]
            x, y = xtr[idx], ytr[idx]
            opt.zero_grad(set_to_none=True)
            out = model(x)
            loss = lossf(out, y)
            loss.backward()
            opt.step()
            tot += loss.item() * len(idx)
            right += (out.argmax(1) == y).sum().item()
        t1 = time.perf_counter()
        model.eval()
        with torch.no_grad():
            tl, tr = 0.0, 0
            for s in range(0, xte.shape[0], 256):
                out = model(xte[s:s + 256])
                tl += lossf(out, yte[s:s + 256]).item() * out.shape[0]
                tr += (out.argmax(1) == yte[s:s + 256]).sum().item()
        t2 = time.perf_counter()
        m = xte.shape[0]
        print(f"framework=torch model={a.model} epoch={epoch} train_loss={tot / n:.6f} "
              f"train_acc={right / n:.4f} test_loss={tl / m:.6f} test_acc={tr / m:.4f} "
              f"seconds={t2 - t0:.3f} train_seconds={t1 - t0:.3f}", flush=True)


if __name__ == "__main__":
    main()
