"""The peers of the quantized linear benchmarks, timed like kopt-run
--benchmark (clean_flush.py): copy bandwidth, cuBLAS bf16 (F.linear) and
torch's tinygemm int4 g128 (_weight_int4pack_mm) on the issue-5 shapes for
1 to 512 rows."""
import os
import torch
import torch.nn.functional as F
from clean_flush import bench as clean

bench = lambda f: clean(f, rep=200) * 1e3
a = torch.empty(2**30, dtype=torch.float16, device='cuda'); b = torch.empty_like(a)
print(f'copy bandwidth {2 * 2**31 / bench(lambda: b.copy_(a)) / 1e6:.2f} TB/s'); del a, b
for n, k in ((4096, 4096), (14336, 4096), (8192, 8192), (28672, 8192)):
    w = torch.randn(n, k, dtype=torch.bfloat16, device='cuda') * 0.02
    packed = torch.ops.aten._convert_weight_to_int4pack(
        torch.randint(0, 16, (n, k // 2), dtype=torch.uint8, device='cuda'), 8)
    sz = torch.randn(k // 128, n, 2, dtype=torch.bfloat16, device='cuda')
    for m in map(int, os.environ.get('MS', '1 16 32 64 128 512').split()):
        x = torch.randn(m, k, dtype=torch.bfloat16, device='cuda')
        t_bf16 = bench(lambda: F.linear(x, w))
        t_tg = bench(lambda: torch.ops.aten._weight_int4pack_mm(x, packed, 128, sz))
        print(f'peer M={m} {n}x{k}: cublas bf16 {t_bf16:.1f} us, tinygemm int4 g128 {t_tg:.1f} us')
