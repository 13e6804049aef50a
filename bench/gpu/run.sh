#!/bin/bash
# Run on the GPU machine after bench/gpu/prepare.sh here.
# Correctness, sanitizers and timings of kopt's PTX on the GPU, with the
# peers (torch/cuBLAS/SDPA) measured in the same run.
cd "$(dirname "$0")"; R=./kopt-run; O=${OUT:-/tmp}
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader
echo "== tiny_llama forward S=13 vs reference"
$R tl.ptx --weights=tlw.safetensors --input=@tl_ids.npy --input=@tl_pos.npy --expected_output=@tl_ref.npy --tolerance=1e-3,1e-3 --poison_outputs --output=@$O/tl_gpu.npy; echo rc=$?
echo "== tiny_embed ragged batch vs reference"
$R te.ptx --weights=tew.safetensors --input=@te_ids.npy --input=@te_pos.npy --input=@te_len.npy --input=@te_mask.npy --expected_output=@te_ref.npy --tolerance=1e-3,1e-3 --poison_outputs; echo rc=$?
echo "== compute-sanitizer memcheck / racecheck (tiny_llama)"
compute-sanitizer --tool memcheck $R tl.ptx --weights=tlw.safetensors --input=@tl_ids.npy --input=@tl_pos.npy --output=@$O/x.npy 2>&1 | tail -3
compute-sanitizer --tool racecheck $R tl.ptx --weights=tlw.safetensors --input=@tl_ids.npy --input=@tl_pos.npy --output=@$O/x.npy 2>&1 | tail -3
python3 - <<'PY'
import numpy as np
r=np.random.default_rng(1)
np.save('w.npy',(r.standard_normal((14336,4096))*0.02).astype(np.float16))
for m in (1,2048): np.save(f'x{m}.npy',r.standard_normal((m,4096)).astype(np.float16))
for s in (1024,):
  np.save(f'q{s}.npy',r.standard_normal((1,s,32,128)).astype(np.float16))
  np.save(f'k{s}.npy',r.standard_normal((1,s,8,128)).astype(np.float16))
  np.save(f'v{s}.npy',r.standard_normal((1,s,8,128)).astype(np.float16))
PY
echo "== kopt GEMV M=1 N=14336 K=4096 f16"; $R linear.ptx --input=@x1.npy --input=@w.npy --benchmark=50 --output=@$O/y1.npy
echo "== kopt GEMM (SIMT) M=2048"; $R linear.ptx --input=@x2048.npy --input=@w.npy --benchmark=10 --output=@$O/y2048.npy
echo "== kopt attention causal B=1 S=1024 Hq=32 Hkv=8 D=128"; $R attention.ptx --input=@q1024.npy --input=@k1024.npy --input=@v1024.npy --benchmark=10 --output=@$O/a1024.npy
python3 - <<'PY'
import os, numpy as np, torch, torch.nn.functional as F, triton.testing as tt
out=os.environ.get('OUT','/tmp')
w=torch.tensor(np.load('w.npy')).cuda()
for m in (1,2048):
  x=torch.tensor(np.load(f'x{m}.npy')).cuda(); ref=F.linear(x.float(),w.float())
  got=torch.tensor(np.load(f'{out}/y{m}.npy')).cuda().float()
  print(f'linear M={m}: rel err {((got-ref).norm()/ref.norm()).item():.2e}, cuBLAS {tt.do_bench(lambda: F.linear(x,w), return_mode="median")*1e3:.1f} us')
q,k,v=[torch.tensor(np.load(f'{n}1024.npy')).cuda().transpose(1,2) for n in 'qkv']
ref=F.scaled_dot_product_attention(q.float(),k.float(),v.float(),is_causal=True,enable_gqa=True).transpose(1,2)
got=torch.tensor(np.load(f'{out}/a1024.npy')).cuda()
print(f'attention S=1024: rel err {((got-ref).norm()/ref.norm()).item():.2e}, SDPA {tt.do_bench(lambda: F.scaled_dot_product_attention(q,k,v,is_causal=True,enable_gqa=True), return_mode="median")*1e3:.1f} us')
a=torch.empty(2**30,dtype=torch.uint8,device='cuda'); b=torch.empty_like(a)
t=tt.do_bench(lambda: b.copy_(a), return_mode='median'); print(f'copy bandwidth {2*2**30/t/1e9:.2f} TB/s')
PY
