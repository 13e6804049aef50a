// kopt-weights: deterministic random weights scaled by role, checkpoint
// checks that name every problem, and clear errors for hostile files.

// RUN: kopt-weights %s --random --seed=3 -o %t.a.safetensors
// RUN: kopt-weights %s --random --seed=3 -o %t.b.safetensors
// RUN: cmp %t.a.safetensors %t.b.safetensors
// RUN: kopt-weights %s --random --seed=4 -o %t.c.safetensors
// RUN: not cmp -s %t.a.safetensors %t.c.safetensors

// Linear weights and biases: U(+-1/sqrt(K)) with K = 64, so |w| < 0.125 and
// std = 0.125/sqrt(3) = 0.072; norms 1 +- 0.02; embeddings N(0, 0.02).
// RUN: kopt-weights --inspect %t.a.safetensors | FileCheck %s --check-prefix=STATS
// STATS: bias f16 [32] min=-0.1{{[0-9]+}} max=0.1{{[0-9]+}}
// STATS: embed bf16 [100x64] min=-0.0{{[0-9]+}} max=0.0{{[0-9]+}} mean={{-?[0-9.e-]+}} std=0.0{{19|20|21}}
// STATS: norm f16 [64] min=0.98{{[0-9]+}} max=1.01{{[0-9]+}}
// STATS: proj f16 [32x64] min=-0.12{{[0-9]+}} max=0.12{{[0-9]+}} mean={{-?[0-9.e-]+}} std=0.07{{[0-9]+}}
// RUN: kopt-weights %s --random --seed=3 --verbose -o %t.d.safetensors 2>&1 | FileCheck %s --check-prefix=ROLES
// ROLES-DAG: embed: embedding
// ROLES-DAG: norm: norm scale
// ROLES-DAG: proj: linear weight, scale 1.250000e-01
// ROLES-DAG: bias: linear bias

// --check accepts a matching checkpoint and names every mismatch.
// RUN: kopt-weights %s --check=%t.a.safetensors | FileCheck %s --check-prefix=OK
// OK: ok: '{{.*}}a.safetensors' binds all 4 weights of the model
// RUN: kopt-weights %S/Inputs/weights-mismatch.mlir --random -o %t.bad.safetensors
// RUN: not kopt-weights %s --check=%t.bad.safetensors 2>&1 | FileCheck %s --check-prefix=MISMATCH
// MISMATCH-DAG: error: weight 'proj' has shape [64x32] in the checkpoint but the model reads it as [32x64]
// MISMATCH-DAG: error: weight 'norm' is f32 in the checkpoint but the model reads it as f16
// MISMATCH-DAG: error: weight 'bias' is missing from '{{.*}}bad.safetensors'

// Hostile and missing files: one clear line each.
// RUN: head -c 20 %t.a.safetensors > %t.truncated.safetensors
// RUN: not kopt-weights --inspect %t.truncated.safetensors 2>&1 | FileCheck %s --check-prefix=TRUNC
// TRUNC: kopt-weights: error: '{{.*}}truncated.safetensors': header length {{[0-9]+}} is past the end of the file (20 bytes)
// RUN: not kopt-weights %s --check=%t.none.safetensors 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: kopt-weights: error: cannot open '{{.*}}none.safetensors': No such file or directory
// RUN: not kopt-weights %S/Inputs/weights-quantized.mlir --random -o %t.q.safetensors 2>&1 | FileCheck %s --check-prefix=QUANT
// QUANT: kopt-weights: error: weight 'q' has compressed type !kopt.quantized; random initialisation writes float weights only
// RUN: not kopt-weights %s 2>&1 | FileCheck %s --check-prefix=MODE
// MODE: kopt-weights: error: choose one of --random and --check=<weights>
// RUN: not kopt-weights %s --random 2>&1 | FileCheck %s --check-prefix=NOOUT
// NOOUT: kopt-weights: error: --random needs -o <file.safetensors>

func.func @f(%ids: tensor<?xi32>) -> tensor<?x32xf16> {
  %t = kopt.weight "embed" : tensor<100x64xbf16>
  %x = kopt.embedding %t, %ids : (tensor<100x64xbf16>, tensor<?xi32>) -> tensor<?x64xbf16>
  %h = kopt.cast %x : (tensor<?x64xbf16>) -> tensor<?x64xf16>
  %n = kopt.weight "norm" : tensor<64xf16>
  %y = kopt.rmsnorm %h, %n : (tensor<?x64xf16>, tensor<64xf16>) -> tensor<?x64xf16>
  %w = kopt.weight "proj" : tensor<32x64xf16>
  %b = kopt.weight "bias" : tensor<32xf16>
  %z = kopt.linear %y, %w, %b : (tensor<?x64xf16>, tensor<32x64xf16>, tensor<32xf16>) -> tensor<?x32xf16>
  return %z : tensor<?x32xf16>
}
