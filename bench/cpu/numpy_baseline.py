#!/usr/bin/env python3
"""The CPU baselines of bench/cpu/run.sh, in NumPy (Debian's python3-numpy,
with OpenBLAS as the BLAS when libopenblas0 is installed).

Prints one line per benchmark: name, median milliseconds over 10 timed runs
after 2 warm-up runs, and GFLOP/s.
"""

import time

import numpy as np


def median_ms(fn, runs=10):
    for _ in range(2):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2] * 1e3


def main():
    rng = np.random.default_rng(0)
    # kopt.linear M=128, N=K=2048, f32: y = x @ w.T
    x = rng.standard_normal((128, 2048), dtype=np.float32)
    w = rng.standard_normal((2048, 2048), dtype=np.float32)
    ms = median_ms(lambda: x @ w.T)
    print("linear_128x2048x2048 %.3f %.1f" % (ms, 2 * 128 * 2048 * 2048 / ms / 1e6))

    # causal attention B=1 H=8 S=1024 D=64 f32 (materialises S x S scores).
    s, h, d = 1024, 8, 64
    q = rng.standard_normal((h, s, d), dtype=np.float32)
    k = rng.standard_normal((h, s, d), dtype=np.float32)
    v = rng.standard_normal((h, s, d), dtype=np.float32)
    mask = np.triu(np.full((s, s), -np.inf, dtype=np.float32), 1)

    def attention():
        scores = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(d)) + mask
        scores -= scores.max(-1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(-1, keepdims=True)
        return p @ v

    ms = median_ms(attention)
    # Causal flops: half of 4*H*S*S*D.
    print("attention_s1024_causal %.3f %.1f" % (ms, 2 * h * s * s * d / ms / 1e6))


if __name__ == "__main__":
    main()
