"""Peers of bench/gpu/epilogue_bf16.mlir on the same shapes, timed like
kopt-run --benchmark (clean_flush.bench): cuBLAS (F.linear with its bias)
alone, cuBLAS followed by the separate elementwise kernels of eager
PyTorch, and torch.compile of the whole block."""
import torch
import torch.nn.functional as F
from clean_flush import bench


def block(x, w, b, r):
    return F.gelu(F.linear(x, w, b), approximate="tanh") + r


compiled = torch.compile(block)
n = k = 4096
w = torch.randn(n, k, dtype=torch.bfloat16, device="cuda") * 0.02
b = torch.randn(n, dtype=torch.bfloat16, device="cuda")
with torch.no_grad():
    for m in (16, 128, 2048, 4096):
        x = torch.randn(m, k, dtype=torch.bfloat16, device="cuda")
        r = torch.randn(m, n, dtype=torch.bfloat16, device="cuda")
        gemm = bench(lambda: F.linear(x, w, b), rep=100) * 1e3
        eager = bench(lambda: block(x, w, b, r), rep=100) * 1e3
        inductor = bench(lambda: compiled(x, w, b, r), rep=100) * 1e3
        print(f"peer M={m} 4096x4096 bias+gelu+residual: cublas alone {gemm:.1f} us, "
              f"cublas + elementwise {eager:.1f} us, torch.compile {inductor:.1f} us")
