// tiny_embed compiled for the CPU matches the reference evaluator on a
// ragged batch (3 sequences padded to 32 tokens, lengths from the inputs),
// with outputs poisoned so unwritten elements show.
// RUN: kopt %models/tiny_embed.mlir -o %t.so
// RUN: kopt-weights %models/tiny_embed.mlir --random --seed=5 -o %t.w.safetensors
// RUN: python3 %S/Inputs/make_npy.py %t.ids.npy 3x32 i32 randint:0:1024 --seed=1
// RUN: python3 %S/Inputs/make_npy.py %t.pos.npy 3x32 i32 iota
// RUN: python3 %S/Inputs/make_npy.py %t.len.npy 3 i32 fill:19
// RUN: python3 %S/Inputs/make_npy.py %t.mask.npy 3x32x1 f32 prefix:19
// RUN: kopt-run %t.so --device=reference --weights=%t.w.safetensors --input=@%t.ids.npy --input=@%t.pos.npy --input=@%t.len.npy --input=@%t.mask.npy --output=@%t.ref.npy
// RUN: kopt-run %t.so --weights=%t.w.safetensors --input=@%t.ids.npy --input=@%t.pos.npy --input=@%t.len.npy --input=@%t.mask.npy --expected_output=@%t.ref.npy --tolerance=1e-4,1e-5 --poison_outputs | FileCheck %s
// CHECK: result[0]: ok (max |diff| {{.*}})
