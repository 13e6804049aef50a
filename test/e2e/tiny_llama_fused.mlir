// tiny_llama compiled with --fuse (and with --fuse --quantize=int4) gives
// the results of its unfused build on the CPU, and the fused GPU artifact
// passes ptxas: its residual adds, SwiGLU product and casts ride in the
// linears' epilogues, so it launches fewer kernels.
// RUN: kopt-weights %models/tiny_llama.mlir --random --seed=11 -o %t.w.safetensors
// RUN: python3 %S/Inputs/make_npy.py %t.ids.npy 1x9 i32 randint:0:512 --seed=4
// RUN: python3 %S/Inputs/make_npy.py %t.pos.npy 1x9 i32 iota
// RUN: kopt %models/tiny_llama.mlir -o %t.unfused.so
// RUN: kopt %models/tiny_llama.mlir --fuse -o %t.fused.so
// RUN: kopt-run %t.unfused.so --weights=%t.w.safetensors --input=@%t.ids.npy --input=@%t.pos.npy --output=@%t.unfused.npy
// RUN: kopt-run %t.fused.so --weights=%t.w.safetensors --input=@%t.ids.npy --input=@%t.pos.npy --expected_output=@%t.unfused.npy --tolerance=0,0 | FileCheck %s
// RUN: kopt %models/tiny_llama.mlir --quantize=int4 -o %t.q.unfused.so
// RUN: kopt %models/tiny_llama.mlir --fuse --quantize=int4 -o %t.q.fused.so
// RUN: kopt-run %t.q.unfused.so --weights=%t.w.safetensors --input=@%t.ids.npy --input=@%t.pos.npy --output=@%t.q.unfused.npy
// RUN: kopt-run %t.q.fused.so --weights=%t.w.safetensors --input=@%t.ids.npy --input=@%t.pos.npy --expected_output=@%t.q.unfused.npy --tolerance=0,0 | FileCheck %s
// CHECK: result[0]: ok (max |diff| 0)

// RUN: kopt %models/tiny_llama.mlir --fuse --merge-launches=false -o %t.fused.ptx
// RUN: kopt %models/tiny_llama.mlir --merge-launches=false -o %t.unfused.ptx
// RUN: kopt %models/tiny_llama.mlir --fuse -o %t.merged.ptx
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.fused.ptx -o /dev/null %}
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.merged.ptx -o /dev/null %}
// RUN: python3 %S/Inputs/count_launches.py %t.unfused.plan.json forward_cached 1 > %t.counts
// RUN: python3 %S/Inputs/count_launches.py %t.fused.plan.json forward_cached 1 >> %t.counts
// RUN: python3 %S/Inputs/count_launches.py %t.merged.plan.json forward_cached 1 >> %t.counts
// RUN: FileCheck %s --check-prefix=COUNT < %t.counts
// Decoding one token, per layer: both residual adds, silu and the product
// run in epilogues: 4 kernels fewer per layer; with merged launches, the
// q, k and v projections are one kernel and rope(q) runs beside both cache
// updates: 4 fewer again.
// COUNT: forward_cached: [[#UNFUSED:]] kernels at 1 tokens
// COUNT: forward_cached: [[#UNFUSED-8]] kernels at 1 tokens
// COUNT: forward_cached: [[#UNFUSED-16]] kernels at 1 tokens
