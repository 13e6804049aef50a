#!/bin/bash
# Run on the GPU machine after bench/gpu/prepare.sh here.
# Correctness (the e2e numerics suite, the bundled models), sanitizers, and
# timings of kopt's PTX on the GPU, with the peers (torch/cuBLAS/SDPA)
# measured in the same run.
cd "$(dirname "$0")"; R=$PWD/kopt-run; O=${OUT:-/tmp}
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader

source ./numerics.sh
echo "== e2e numerics suite on the GPU (ragged shapes, poisoned outputs)"
run_cases .
if [ -n "${SANITIZE:-}" ]; then
  echo "== compute-sanitizer on the GEMM/attention cases"
  sanitize_cases "$SANITIZE"
fi

echo "== runtime errors reported by the kernels (status buffer -> message)"
expect_error() { # message, then the kopt-run arguments
  local want=$1; shift
  local got; got=$(cd errors && $R "$@" --quiet 2>&1); local rc=$?
  if [ $rc -eq 1 ] && [[ "$got" == *"$want"* ]]; then echo "ok: $want";
  else echo "FAIL (rc=$rc): wanted '$want', got: $got"; fi
}
kv="--input=1x100x2x64xbf16=0.5 --input=1x100x2x64xbf16=1"
expect_error "kopt.attention: kv_len 150 is outside [0, 100]" attention_kv_len.ptx --input=1x1x4x64xbf16=1 $kv --input=1xi32=150
expect_error "kopt.attention: kv_len -1 is outside [0, 100]" attention_kv_len.ptx --input=1x3x4x64xbf16=1 $kv --input=1xi32=-1
expect_error "kopt.attention: kv_len 101 is outside [0, 100]" attention_kv_len.ptx --input=1x16x4x64xbf16=1 $kv --input=1xi32=101
(cd errors && $R attention_kv_len.ptx --input=1x16x4x64xbf16=1 $kv --input=1xi32=100 --quiet) && echo "ok: kv_len = Skv runs"
expect_error "kopt.topk: k = 5 exceeds the dim size 3" topk_k.ptx --input=2x3xf32=1
expect_error "kopt.embedding: id 12 is outside [0, 10)" embedding_id.ptx --input=10x8xf32=1 "--input=1x3xi32=[1 12 3]"
expect_error "KV cache overflow: the write ends at position 9, outside the cache of length 8" cache_overflow.ptx --input=1x8x1x4xf32=0 --input=1x3x1x4xf32=1 --input=1xi32=6

[ -n "${NUMERICS_ONLY:-}" ] && exit 0

echo "== tiny_llama forward S=13 vs reference"
$R tl.ptx --weights=tlw.safetensors --input=@tl_ids.npy --input=@tl_pos.npy --expected_output=@tl_ref.npy --tolerance=1e-3,1e-3 --poison_outputs --output=@$O/tl_gpu.npy; echo rc=$?
echo "== tiny_llama forward_cached: prefill S=13 into empty caches, then one decode step, vs reference"
cache="--input=@tl_zero_cache.npy --input=@tl_zero_cache.npy --input=@tl_zero_cache.npy --input=@tl_zero_cache.npy"
$R tl.ptx --weights=tlw.safetensors --function=forward_cached --input=@tl_ids.npy --input=@tl_pos.npy --input=1xi32=0 --input=1xi32=13 $cache \
  --expected_output=@tlp_logits.npy --expected_output=@tlp_k0.npy --expected_output=@tlp_v0.npy --expected_output=@tlp_k1.npy --expected_output=@tlp_v1.npy \
  --tolerance=1e-3,1e-3 --poison_outputs --quiet; echo rc=$?
$R tl.ptx --weights=tlw.safetensors --function=forward_cached --input=@tl_next_id.npy --input=@tl_next_pos.npy --input=1xi32=13 --input=1xi32=14 \
  --input=@tlp_k0.npy --input=@tlp_v0.npy --input=@tlp_k1.npy --input=@tlp_v1.npy \
  --expected_output=@tld_logits.npy --expected_output=@tld_k0.npy --expected_output=@tld_v0.npy --expected_output=@tld_k1.npy --expected_output=@tld_v1.npy \
  --tolerance=1e-3,1e-3 --poison_outputs --quiet; echo rc=$?
echo "== tiny_llama decode step (launches per call, CUDA graph replay)"
$R tl.ptx --weights=tlw.safetensors --function=forward_cached --input=@tl_next_id.npy --input=@tl_next_pos.npy --input=1xi32=13 --input=1xi32=14 \
  --input=@tlp_k0.npy --input=@tlp_v0.npy --input=@tlp_k1.npy --input=@tlp_v1.npy --benchmark=200 --quiet
echo "== tiny_embed ragged batch vs reference"
$R te.ptx --weights=tew.safetensors --input=@te_ids.npy --input=@te_pos.npy --input=@te_len.npy --input=@te_mask.npy --expected_output=@te_ref.npy --tolerance=1e-3,1e-3 --poison_outputs; echo rc=$?

python3 - <<'PY'
import numpy as np
r=np.random.default_rng(1)
np.save('w.npy',(r.standard_normal((14336,4096))*0.02).astype(np.float16))
np.save('wb.npy',(r.standard_normal((14336,4096))*0.02).astype(np.float32))
np.save('wb4k.npy',(r.standard_normal((4096,4096))*0.02).astype(np.float32))
for m in (1,2048): np.save(f'x{m}.npy',r.standard_normal((m,4096)).astype(np.float16))
for m in (1,2048,4096): np.save(f'xb{m}.npy',r.standard_normal((m,4096)).astype(np.float32))
for s in (1024,):
  np.save(f'q{s}.npy',r.standard_normal((1,s,32,128)).astype(np.float16))
  np.save(f'k{s}.npy',r.standard_normal((1,s,8,128)).astype(np.float16))
  np.save(f'v{s}.npy',r.standard_normal((1,s,8,128)).astype(np.float16))
PY
echo "== kopt GEMV M=1 N=14336 K=4096 f16"; $R linear.ptx --input=@x1.npy --input=@w.npy --benchmark=50 --output=@$O/y1.npy
echo "== kopt GEMV M=1 N=14336 K=4096 bf16"; $R linear_bf16.ptx --input=@xb1.npy --input=@wb.npy --benchmark=50 --output=@$O/yb1.npy 2>&1 | grep -v rounding
echo "== kopt GEMM f16 M=2048 N=14336 K=4096"; $R linear.ptx --input=@x2048.npy --input=@w.npy --benchmark=20 --output=@$O/y2048.npy
echo "== kopt GEMM bf16 M=2048 N=14336 K=4096"; $R linear_bf16.ptx --input=@xb2048.npy --input=@wb.npy --benchmark=20 --output=@$O/yb2048.npy 2>&1 | grep -v rounding
echo "== kopt GEMM bf16 4096^3"; $R gemm_bf16_4096.ptx --input=@xb4096.npy --input=@wb4k.npy --benchmark=20 --output=@$O/yb4096.npy 2>&1 | grep -v rounding
echo "== kopt attention causal B=1 S=1024 Hq=32 Hkv=8 D=128"; $R attention.ptx --input=@q1024.npy --input=@k1024.npy --input=@v1024.npy --benchmark=10 --output=@$O/a1024.npy
python3 - <<'PY'
import numpy as np
r=np.random.default_rng(2)
for s in (4096, 8192):
  for n in 'qkv': np.save(f'{n}b{s}.npy', r.standard_normal((4,s,32,128)).astype(np.float32))
np.save('qd.npy', r.standard_normal((4,1,32,128)).astype(np.float32))
for n in 'kv': np.save(f'{n}d.npy', r.standard_normal((4,8192,8,128)).astype(np.float32))
np.save('lend.npy', np.full(4, 8192, np.int32))
PY
echo "== kopt attention bf16 causal B=4 H=32 S=4096 D=128"; $R attention_bf16.ptx --input=@qb4096.npy --input=@kb4096.npy --input=@vb4096.npy --benchmark=10 --output=@$O/ab4096.npy 2>&1 | grep -v rounding
echo "== kopt attention bf16 sliding window W=1024 B=4 H=32 S=8192 D=128"; $R attention_window_bf16.ptx --input=@qb8192.npy --input=@kb8192.npy --input=@vb8192.npy --benchmark=10 --output=@$O/aw8192.npy 2>&1 | grep -v rounding
echo "== kopt decode attention bf16 B=4 Hq=32 Hkv=8 kv_len=8192 D=128"; $R attention_decode_bf16.ptx --input=@qd.npy --input=@kd.npy --input=@vd.npy --input=@lend.npy --benchmark=20 --output=@$O/ad.npy 2>&1 | grep -v rounding
python3 - <<'PY'
import numpy as np
r=np.random.default_rng(3)
np.save('qm.npy', r.standard_normal((8,1,32,128)).astype(np.float32))
for n in 'kv': np.save(f'{n}m.npy', r.standard_normal((8,16384,32,128), dtype=np.float32))
np.save('lenm.npy', np.full(8, 16384, np.int32))
PY
echo "== kopt decode attention bf16 MHA B=8 H=32 kv_len=16384 D=128 (ANCHORS shape)"; $R attention_decode_mha_bf16.ptx --input=@qm.npy --input=@km.npy --input=@vm.npy --input=@lenm.npy --benchmark=20 --output=@$O/am.npy 2>&1 | grep -v rounding
python3 - <<'PY'
import os, numpy as np, torch, torch.nn.functional as F, triton.testing as tt
out=os.environ.get('OUT','/tmp')
from clean_flush import bench as clean_bench  # kopt-run's L2 flush
bench=lambda f: clean_bench(f, rep=200)*1e3
def check(name, got, ref, peer):
  got=torch.tensor(np.load(got)).cuda().float()
  print(f'{name}: rel err {((got-ref.float()).norm()/ref.float().norm()).item():.2e}, peer {peer:.1f} us')
w=torch.tensor(np.load('w.npy')).cuda()
for m in (1,2048):
  x=torch.tensor(np.load(f'x{m}.npy')).cuda()
  check(f'f16 linear M={m}', f'{out}/y{m}.npy', F.linear(x.float(),w.float()), bench(lambda: F.linear(x,w)))
wb=torch.tensor(np.load('wb.npy')).cuda().bfloat16(); wb4=torch.tensor(np.load('wb4k.npy')).cuda().bfloat16()
for m, ww, tag in ((1,wb,'1'),(2048,wb,'2048'),(4096,wb4,'4096')):
  x=torch.tensor(np.load(f'xb{m}.npy')).cuda().bfloat16()
  check(f'bf16 linear M={m} N={ww.shape[0]}', f'{out}/yb{tag}.npy', F.linear(x.float(),ww.float()), bench(lambda: F.linear(x,ww)))
q,k,v=[torch.tensor(np.load(f'{n}1024.npy')).cuda().transpose(1,2) for n in 'qkv']
ref=F.scaled_dot_product_attention(q.float(),k.float(),v.float(),is_causal=True,enable_gqa=True).transpose(1,2)
check('attention S=1024', f'{out}/a1024.npy', ref, bench(lambda: F.scaled_dot_product_attention(q,k,v,is_causal=True,enable_gqa=True)))
def ld(n): return torch.tensor(np.load(n)).cuda().bfloat16().transpose(1,2)
q,k,v=ld('qb4096.npy'),ld('kb4096.npy'),ld('vb4096.npy')
ref=torch.cat([F.scaled_dot_product_attention(q[i:i+1].float(),k[i:i+1].float(),v[i:i+1].float(),is_causal=True) for i in range(4)]).transpose(1,2)
check('attention bf16 causal S=4096', f'{out}/ab4096.npy', ref, bench(lambda: F.scaled_dot_product_attention(q,k,v,is_causal=True)))
q,k,v=ld('qb8192.npy'),ld('kb8192.npy'),ld('vb8192.npy')
i=torch.arange(8192,device='cuda'); mask=(i[:,None]>=i[None,:])&(i[:,None]-i[None,:]<1024)
ref=torch.empty(4,32,8192,128,device='cuda')
for b in range(4):
  for h in range(0,32,8): ref[b,h:h+8]=F.scaled_dot_product_attention(q[b:b+1,h:h+8].float(),k[b:b+1,h:h+8].float(),v[b:b+1,h:h+8].float(),attn_mask=mask)[0]
ref=ref.transpose(1,2)
check('attention bf16 window 1024 S=8192', f'{out}/aw8192.npy', ref, 0.0)
del ref, q, k, v
q=torch.tensor(np.load('qd.npy')).cuda().bfloat16().transpose(1,2); k,v=ld('kd.npy'),ld('vd.npy')
ref=F.scaled_dot_product_attention(q.float(),k.float(),v.float(),enable_gqa=True).transpose(1,2)
check('decode attention kv 8192', f'{out}/ad.npy', ref, bench(lambda: F.scaled_dot_product_attention(q,k,v,enable_gqa=True)))
del q, k, v, ref
q=torch.tensor(np.load('qm.npy')).cuda().bfloat16().transpose(1,2); k,v=ld('km.npy'),ld('vm.npy')
ref=F.scaled_dot_product_attention(q[:1].float(),k[:1].float(),v[:1].float()).transpose(1,2)
got=torch.tensor(np.load(f'{out}/am.npy'))[:1].cuda().float()
print(f'decode attention MHA kv 16384 (batch 0): rel err {((got-ref).norm()/ref.norm()).item():.2e}, peer {bench(lambda: F.scaled_dot_product_attention(q,k,v)):.1f} us')
del q, k, v, ref
a=torch.empty(2**30,dtype=torch.uint8,device='cuda'); b=torch.empty_like(a)
t=bench(lambda: b.copy_(a)); print(f'copy bandwidth {2*2**30/t/1e6:.2f} TB/s')
PY
python3 - <<'PY'
import numpy as np
r=np.random.default_rng(4)
for n in 'qkv': np.save(f'la_{n}.npy', (r.standard_normal((4,4096,32,128))*0.1).astype(np.float32))
for t in (1,16,512): np.save(f'moe_x{t}.npy', r.standard_normal((t,4096)).astype(np.float32))
np.save('moe_r.npy', (r.standard_normal((8,4096))*0.02).astype(np.float32))
PY
echo "== kopt linear attention bf16 B=4 S=4096 H=32 D=128 (per-head decay, f32 state)"
$R linear_attention_bf16.ptx --input=@la_q.npy --input=@la_k.npy --input=@la_v.npy --benchmark=20 --output=@$O/la_o.npy --output=@$O/la_s.npy 2>&1 | grep -v rounding
# Expert weights are constants (timing does not depend on them; routing
# does, through x and the router).
moe_w="--input=8x14336x4096xbf16=0.01 --input=8x14336x4096xbf16=0.01 --input=8x4096x14336xbf16=0.01"
for t in 1 16 512; do
  echo "== kopt MoE bf16 8 experts top-2 4096->14336, $t tokens"
  $R moe_bf16.ptx --input=@moe_x$t.npy --input=@moe_r.npy $moe_w --benchmark=20 --output=@$O/moe$t.npy 2>&1 | grep -v rounding
done
python3 - <<'PY'
import os, re, numpy as np, torch, torch.nn.functional as F, triton.testing as tt
out=os.environ.get('OUT','/tmp')
from clean_flush import bench as clean_bench  # kopt-run's L2 flush
bench=lambda f: clean_bench(f, rep=200)*1e3
rel=lambda got, ref: ((got.float()-ref.float()).norm()/ref.float().norm()).item()
# Linear attention: the chunked form in torch (f32 for the reference, bf16
# eager as the peer), decay as in bench/gpu/linear_attention_bf16.mlir.
src=open('linear_attention_bf16.mlir').read()
g=torch.tensor([float(v) for v in re.search(r'array<f32: ([^>]*)>', src).group(1).split(',')]).cuda()
def la(q,k,v,dt,C=64):
  B,S,H,D=q.shape
  q,k,v=[t.to(dt).permute(0,2,1,3).reshape(B,H,S//C,C,D) for t in (q,k,v)]
  i=torch.arange(C,device='cuda').float(); lg=torch.log(g)[:,None]
  diff=i[:,None]-i[None,:]
  M=torch.where(diff>=0, torch.exp(lg[:,:,None]*diff.clamp(min=0)), 0.0).to(dt)
  qdec=torch.exp(lg*(i+1)).to(dt)[:,:,None]; kdec=torch.exp(lg*(C-1-i)).to(dt)[:,:,None]
  gC=torch.exp(lg*C)[:,:,None]
  intra=((q@k.transpose(-1,-2))*M[None,:,None])@v
  kv=(k*kdec[None,:,None]).transpose(-1,-2)@v
  s=torch.zeros(B,H,D,D,device='cuda'); outs=[]
  for c in range(S//C):
    outs.append((q[:,:,c]*qdec[None])@s.to(dt)); s=s*gC[None]+kv[:,:,c].float()
  return (intra+torch.stack(outs,2)).reshape(B,H,S,D).permute(0,2,1,3), s
q,k,v=[torch.tensor(np.load(f'la_{n}.npy')).cuda().bfloat16() for n in 'qkv']
o,s=la(q,k,v,torch.float32)
print(f'linear attention: rel err out {rel(torch.tensor(np.load(f"{out}/la_o.npy")).cuda(), o):.2e}, '
      f'state {rel(torch.tensor(np.load(f"{out}/la_s.npy")).cuda(), s):.2e}, '
      f'peer (torch chunked, bf16 eager) {bench(lambda: la(q,k,v,torch.bfloat16)):.1f} us')
del q,k,v,o,s
# MoE: the HF Mixtral block's loop over experts (eager), same weights.
E,Hd,Fd=8,4096,14336
wg=torch.full((E,Fd,Hd),0.01,dtype=torch.bfloat16,device='cuda'); wu=wg.clone()
wd=torch.full((E,Hd,Fd),0.01,dtype=torch.bfloat16,device='cuda')
router=torch.tensor(np.load('moe_r.npy')).cuda().bfloat16()
def moe(x, dt=torch.bfloat16):
  p=torch.softmax((x.float()@router.float().T),-1); w,sel=torch.topk(p,2); w=(w/w.sum(-1,keepdim=True)).to(dt)
  y=torch.zeros(x.shape,dtype=dt,device='cuda'); mask=F.one_hot(sel,E).permute(2,1,0)
  for e in range(E):
    idx,top=torch.where(mask[e])
    if top.numel()==0: continue
    xs=x[top].to(dt)
    h=F.silu(xs@wg[e].to(dt).T)*(xs@wu[e].to(dt).T)
    y.index_add_(0,top,(h@wd[e].to(dt).T)*w[top,idx,None])
  return y
for t in (1,16,512):
  x=torch.tensor(np.load(f'moe_x{t}.npy')).cuda().bfloat16()
  ref=moe(x, torch.float32)
  print(f'MoE {t} tokens: rel err {rel(torch.tensor(np.load(f"{out}/moe{t}.npy")).cuda(), ref):.2e}, peer (HF-style eager) {bench(lambda: moe(x)):.1f} us')
PY
if [ -n "${PEERS:-}" ] && [ -f peers_h200.py ]; then
  # Same L2 flush as kopt-run --benchmark (clean_flush.py says why).
  echo "== peers_h200.py"; PEERS_JSON=$O/peers.json timeout 300 python3 clean_flush.py peers_h200.py
fi
