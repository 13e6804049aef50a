"""Inputs of the quantized linear benchmarks (quant.sh, qgemv.sh): random
packed codes (every byte a valid code pair) in the `mma` layout and scales
for int4 g128 and int8 per channel of the issue-5 shapes, and bf16-exact
activations of 1 to 512 rows. Written to the current directory."""
import numpy as np

r = np.random.default_rng(5)
for n, k in ((4096, 4096), (14336, 4096), (8192, 8192), (28672, 8192)):
    np.save(f'q4_{n}x{k}.npy', r.integers(-128, 128, (n // 16, k // 64 * 512), dtype=np.int8))
    np.save(f'q8_{n}x{k}.npy', r.integers(-128, 128, (n // 16, k // 32 * 512), dtype=np.int8))
    np.save(f's4_{n}x{k}.npy', (r.random((n, k // 128)) * 0.01 + 0.001).astype(np.float32))
    np.save(f's8_{n}x{k}.npy', (r.random((n, 1)) * 0.001 + 0.0001).astype(np.float32))
for k in (4096, 8192):
    for m in (1, 16, 32, 64, 128, 512):
        np.save(f'qx{m}_{k}.npy', r.standard_normal((m, k)).astype(np.float32))
