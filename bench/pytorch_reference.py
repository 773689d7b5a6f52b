#!/usr/bin/env python3
"""Plain-PyTorch counterpart of `aha bench train` and `aha bench generate`, for the comparison row of the README.

The same model (Llama semantics: d 512, 8 layers, 8 heads, SwiGLU 1376, vocab 264, untied head, ≈25.6M parameters),
the same step (batch 16 × seq 256, AdamW, clipping) and the same decode shape (prompt 64, 256 new tokens, KV cache,
sampling at temperature 1), written directly in torch so that what .NET costs or saves per op shows up as a ratio.
Prints a table and one JSON line last. Not run in CI:

    apt-get install python3-torch libopenblas0-pthread
    /usr/bin/python3 bench/pytorch_reference.py [--steps 6] [--threads N]

Debian's python3-torch links the generic libblas.so.3; without OpenBLAS installed that is the reference (netlib)
BLAS, hundreds of times slower (one training step took minutes). The BLAS actually loaded is printed.
Each phase prints its line as soon as it finishes.
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

D, L, H, FF, V, SEQ, BATCH = 512, 8, 8, 1376, 264, 256, 16
HD = D // H


def params():
    g = torch.Generator().manual_seed(0)
    def w(*shape):
        return (torch.randn(*shape, generator=g) * 0.02).requires_grad_()
    p = {"embed": w(V, D), "norm": torch.ones(D, requires_grad=True), "head": w(V, D)}
    for l in range(L):
        for name, shape in [("q", (D, D)), ("k", (D, D)), ("v", (D, D)), ("o", (D, D)), ("gate", (FF, D)), ("up", (FF, D)), ("down", (D, FF))]:
            p[f"{l}.{name}"] = w(*shape)
        p[f"{l}.n1"] = torch.ones(D, requires_grad=True)
        p[f"{l}.n2"] = torch.ones(D, requires_grad=True)
    return p


def rms(x, w):
    return w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5)


def rope(x, pos):
    inv = 1.0 / (10000 ** (torch.arange(0, HD, 2).float() / HD))
    f = pos[:, None].float() * inv
    emb = torch.cat([f, f], -1)
    x1, x2 = x[..., : HD // 2], x[..., HD // 2:]
    return x * emb.cos() + torch.cat([-x2, x1], -1) * emb.sin()


def forward(p, ids, start=0, cache=None):
    b, t = ids.shape
    pos = torch.arange(start, start + t)
    x = F.embedding(ids, p["embed"])
    for l in range(L):
        h = rms(x, p[f"{l}.n1"])
        q, k, v = (F.linear(h, p[f"{l}.{n}"]).view(b, t, H, HD).transpose(1, 2) for n in "qkv")
        q, k = rope(q, pos), rope(k, pos)
        if cache is not None:  # preallocated (L, 2, B, H, capacity, HD), written in place like Aha's KvCache
            cache[l, 0, :, :, start:start + t] = k
            cache[l, 1, :, :, start:start + t] = v
            k, v = cache[l, 0, :, :, :start + t], cache[l, 1, :, :, :start + t]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(HD)
        if t > 1:
            mask = torch.ones(t, k.shape[2], dtype=torch.bool).tril(k.shape[2] - t)
            scores = scores.masked_fill(~mask, float("-inf"))
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, D)
        x = x + F.linear(y, p[f"{l}.o"])
        h = rms(x, p[f"{l}.n2"])
        x = x + F.linear(F.silu(F.linear(h, p[f"{l}.gate"])) * F.linear(h, p[f"{l}.up"]), p[f"{l}.down"])
    return F.linear(rms(x, p["norm"]), p["head"])


def bench_train(p, steps):
    opt = torch.optim.AdamW(p.values(), lr=3e-4)
    ids = torch.randint(0, 256, (BATCH, SEQ + 1))
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        logits = forward(p, ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(p.values(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    per_step = sum(times[2:]) / len(times[2:])  # the first steps allocate
    return BATCH * SEQ / per_step


@torch.no_grad()
def bench_decode(p, batch, prompt=64, new=256):
    ids = torch.randint(0, 256, (batch, prompt))
    t0 = time.perf_counter()
    cache = torch.zeros(L, 2, batch, H, prompt + new, HD)
    logits = forward(p, ids, 0, cache)[:, -1]
    for i in range(new):
        nxt = torch.multinomial(logits.softmax(-1), 1)
        if i == new - 1:
            break
        logits = forward(p, nxt, prompt + i, cache)[:, -1]
    return batch * new / (time.perf_counter() - t0)


def loaded_blas():
    """The BLAS library this process actually mapped (Debian switches libblas.so.3 by alternatives)."""
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line.split()[-1]}
    return ", ".join(sorted(os.path.basename(os.path.dirname(l)) + "/" + os.path.basename(l) for l in libs)) or "unknown"


def main():
    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 6
    # Debian's torch starts with one thread here; use every core, as `aha bench` does.
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else os.cpu_count()
    torch.set_num_threads(threads)
    p = params()
    n = sum(t.numel() for t in p.values())
    a = torch.randn(1024, 1024)
    best = min((lambda: (lambda t0: (a @ a, time.perf_counter() - t0)[1])(time.perf_counter()))() for _ in range(10))
    peak = 2 * 1024 ** 3 / best
    x = torch.ones(4)
    for _ in range(100):
        x + x
    t0 = time.perf_counter()
    for _ in range(5000):
        x + x
    per_op = (time.perf_counter() - t0) / 5000  # what one tiny call costs from Python, as `aha bench generate` times it from C#
    blas = loaded_blas()
    print(f"plain PyTorch {torch.__version__} ({blas}), {torch.get_num_threads()} threads, {n:,} parameters", flush=True)
    print(f"matmul peak          {peak / 1e9:8.1f} GFLOP/s", flush=True)
    print(f"cost of one tiny op  {per_op * 1e6:8.1f} µs", flush=True)
    train = bench_train(p, steps)
    flops_train = 6 * n + 12 * L * D * SEQ
    print(f"train tokens/s       {train:8.0f}   MFU {train * flops_train / peak:6.1%}", flush=True)
    for t in p.values():
        t.requires_grad_(False)
    dec = {}
    for b in (1, 8, 64):
        dec[b] = r = bench_decode(p, b)
        print(f"decode b{b:<2} tokens/s  {r:8.0f}   MFU {r * 2 * n / peak:6.1%}", flush=True)
    print(json.dumps({"bench": "pytorch_reference", "torch": torch.__version__, "blas": blas, "threads": torch.get_num_threads(),
                      "parameters": n, "matmul_peak_flops": round(peak), "per_op_seconds": round(per_op, 9), "train_tokens_per_second": round(train, 1),
                      **{f"decode_tokens_per_second_b{b}": round(r, 1) for b, r in dec.items()}}))


if __name__ == "__main__":
    main()
