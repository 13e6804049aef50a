// tiny_llama's stateless @forward compiled for the CPU matches the reference
// evaluator at several sequence lengths (1, a prime, a tile multiple + 1),
// with outputs poisoned so unwritten elements show; bad ids and
// inconsistent shapes are reported, not crashed on.
// RUN: kopt %models/tiny_llama.mlir -o %t.so
// RUN: kopt-weights %models/tiny_llama.mlir --random --seed=7 -o %t.w.safetensors
// RUN: python3 %S/Inputs/make_npy.py %t.ids1.npy 1x1 i32 randint:0:512 --seed=1
// RUN: python3 %S/Inputs/make_npy.py %t.pos1.npy 1x1 i32 iota
// RUN: kopt-run %t.so --device=reference --weights=%t.w.safetensors --input=@%t.ids1.npy --input=@%t.pos1.npy --output=@%t.ref1.npy
// RUN: kopt-run %t.so --weights=%t.w.safetensors --input=@%t.ids1.npy --input=@%t.pos1.npy --expected_output=@%t.ref1.npy --tolerance=1e-4,1e-5 --poison_outputs | FileCheck %s
// RUN: python3 %S/Inputs/make_npy.py %t.ids13.npy 1x13 i32 randint:0:512 --seed=2
// RUN: python3 %S/Inputs/make_npy.py %t.pos13.npy 1x13 i32 iota
// RUN: kopt-run %t.so --device=reference --weights=%t.w.safetensors --input=@%t.ids13.npy --input=@%t.pos13.npy --output=@%t.ref13.npy
// RUN: kopt-run %t.so --weights=%t.w.safetensors --input=@%t.ids13.npy --input=@%t.pos13.npy --expected_output=@%t.ref13.npy --tolerance=1e-4,1e-5 --poison_outputs | FileCheck %s
// RUN: python3 %S/Inputs/make_npy.py %t.ids65.npy 1x65 i32 randint:0:512 --seed=3
// RUN: python3 %S/Inputs/make_npy.py %t.pos65.npy 1x65 i32 iota
// RUN: kopt-run %t.so --device=reference --weights=%t.w.safetensors --input=@%t.ids65.npy --input=@%t.pos65.npy --output=@%t.ref65.npy
// RUN: kopt-run %t.so --weights=%t.w.safetensors --input=@%t.ids65.npy --input=@%t.pos65.npy --expected_output=@%t.ref65.npy --tolerance=1e-4,1e-5 --poison_outputs | FileCheck %s
// CHECK: result[0]: ok (max |diff| {{.*}})

// RUN: not kopt-run %t.so --weights=%t.w.safetensors '--input=1x3xi32=[1 512 2]' '--input=1x3xi32=[0 1 2]' 2>&1 | FileCheck %s --check-prefix=BADID
// BADID: kopt-run: error: kopt.embedding: id 512 is outside [0, 512) (at {{.*}}tiny_llama.mlir:{{[0-9]+}}:{{[0-9]+}})
// RUN: not kopt-run %t.so --weights=%t.w.safetensors --input=@%t.ids13.npy --input=@%t.pos1.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: kopt-run: error: forward: input 1 has shape [1x1] but the plan requires [1xs0] with s0 = 13 (bound by input 0)
// RUN: not kopt-run %t.so --input=@%t.ids13.npy --input=@%t.pos13.npy 2>&1 | FileCheck %s --check-prefix=NOWEIGHTS
// NOWEIGHTS: kopt-run: error:
