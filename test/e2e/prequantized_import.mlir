// Pre-quantized int4 checkpoints: "mlp.up" is stored GPTQ-style and
// "mlp.down" AWQ-style (Inputs/make_prequantized.py packs both from known
// codes); "out.weight" is an ordinary f16 weight. kopt --weights converts
// the two into kopt's asymmetric int4 `mma` encoding, losslessly, and the
// compiled model computes exactly what the dequantized weights give.
// RUN: python3 %S/Inputs/make_prequantized.py %t.w.safetensors %t.x.npy %t.expected.npy
// RUN: kopt %s --weights=%t.w.safetensors -o %t.cpu.so 2>&1 | FileCheck %s --check-prefix=IMPORT
// IMPORT: kopt: imported 2 pre-quantized int4 weights from '{{.*}}.w.safetensors' (1 awq g32, 1 gptq g64)
// RUN: kopt-run %t.cpu.so --input=@%t.x.npy --expected_output=@%t.expected.npy --tolerance=2e-3,2e-3 | FileCheck %s --check-prefix=SAME
// RUN: kopt-run %t.cpu.so --device=reference --input=@%t.x.npy --expected_output=@%t.expected.npy --tolerance=2e-3,2e-3 | FileCheck %s --check-prefix=SAME
// SAME: result[0]: ok

// On the GPU both imported linears run the fused int4 kernels (one per
// token band; from 129 tokens the weight is dequantized once for the
// GEMM), reading zero points; the float one stays dense.
// RUN: kopt %s --weights=%t.w.safetensors -o %t.gpu.ptx 2>/dev/null
// RUN: FileCheck %s --check-prefix=PLAN < %t.gpu.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.gpu.ptx -o /dev/null %}
// RUN: kopt-run %t.gpu.ptx --device=reference --input=@%t.x.npy --expected_output=@%t.expected.npy --tolerance=2e-3,2e-3 | FileCheck %s --check-prefix=SAME
// PLAN: "kernel":"qlinear_0"
// PLAN: "kernel":"qdequantize_4"
// PLAN: "kernel":"qlinear_6"
// PLAN: "kernel":"qdequantize_10"
// PLAN-NOT: "kernel":"dequantize

// Act-order (desc_act) GPTQ: each group's columns scattered over K. The
// import packs them sorted by group and the linear reads its input in that
// order (a weight the packed checkpoint holds), so the product stays exact.
// RUN: python3 %S/Inputs/make_prequantized.py %t.act.safetensors %t.x2.npy %t.e2.npy --act-order
// RUN: kopt %s --weights=%t.act.safetensors -o %t.act.so 2>&1 | FileCheck %s --check-prefix=ACTORDER
// ACTORDER: kopt: imported 2 pre-quantized int4 weights from '{{.*}}.act.safetensors' (1 awq g32, 1 gptq g64 act-order)
// RUN: kopt-run %t.act.so --input=@%t.x2.npy --expected_output=@%t.e2.npy --tolerance=2e-3,2e-3 | FileCheck %s --check-prefix=SAME
// RUN: kopt-run %t.act.so --device=reference --input=@%t.x2.npy --expected_output=@%t.e2.npy --tolerance=2e-3,2e-3 | FileCheck %s --check-prefix=SAME
// RUN: kopt %s --weights=%t.act.safetensors -o %t.act.ptx 2>/dev/null
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.act.ptx -o /dev/null %}
// RUN: kopt-run %t.act.ptx --device=reference --input=@%t.x2.npy --expected_output=@%t.e2.npy --tolerance=2e-3,2e-3 | FileCheck %s --check-prefix=SAME
// RUN: kopt %s --weights=%t.act.safetensors --emit=mlir -o - 2>/dev/null | FileCheck %s --check-prefix=ORDER
// ORDER: %[[ORDER:.*]] = kopt.weight "mlp.up.weight.input_order" : tensor<128xi32>
// ORDER: %[[T:.*]] = kopt.transpose %{{.*}} {permutation = array<i64: 1, 0>} : (tensor<?x128xf16>) -> tensor<128x?xf16>
// ORDER: %[[G:.*]] = kopt.gather %[[T]], %[[ORDER]] {axis = 0 : i64}
// ORDER: %[[X:.*]] = kopt.transpose %[[G]] {permutation = array<i64: 1, 0>}
// ORDER: kopt.linear %[[X]]
// ORDER-NOT: input_order

// With --quantize=int4 the float weight is quantized too (symmetric, group
// 128) while the imported ones keep their own groups and zero points.
// RUN: kopt %s --weights=%t.w.safetensors --quantize=int4 --emit=mlir -o - 2>/dev/null | FileCheck %s --check-prefix=TYPES
// TYPES: kopt.weight "mlp.up.weight" : !kopt.quantized<64x128xi4, group_size = 64, scale = f16, zero_point = i4, layout = mma>
// TYPES: kopt.weight "mlp.down.weight" : !kopt.quantized<128x64xi4, group_size = 32, scale = f16, zero_point = i4, layout = mma>
// TYPES: kopt.weight "out.weight" : !kopt.quantized<128x128xi4, group_size = 128, scale = f16, layout = mma>

// Errors name the weight and the problem.
// RUN: not kopt %s --weights=%t.w.safetensors --weights-format=awq -o %t.bad.so 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: kopt: error: pre-quantized weight 'mlp.up.weight' (mlp.up.qweight in '{{.*}}'): qweight is [16x64]; awq stores [128x8] for a weight of shape [64x128]
// RUN: python3 %S/Inputs/make_prequantized.py %t.badg.safetensors %t.x4.npy %t.e4.npy --bad-g-idx
// RUN: not kopt %s --weights=%t.badg.safetensors -o %t.bad.so 2>&1 | FileCheck %s --check-prefix=BADGIDX
// BADGIDX: kopt: error: pre-quantized weight 'mlp.up.weight' {{.*}}: g_idx puts 65 columns in group 0, not K / G = 64 (an act-order checkpoint's groups hold equally many)
// RUN: python3 %S/Inputs/make_prequantized.py %t.sym.safetensors %t.x3.npy %t.e3.npy --drop=mlp.down.qzeros
// RUN: not kopt %s --weights=%t.sym.safetensors -o %t.bad.so 2>&1 | FileCheck %s --check-prefix=NOZEROS
// NOZEROS: kopt: error: pre-quantized weight 'mlp.down.weight' {{.*}}: the checkpoint lacks mlp.down.qzeros (symmetric checkpoints without zero points are not supported)
// RUN: not kopt %s --weights=%t.w.safetensors --quantize=int4 --calibration=@%t.x.npy -o %t.bad.so 2>&1 | FileCheck %s --check-prefix=CALIB
// CALIB: kopt: error: --calibration needs float weights, but '{{.*}}' holds 2 pre-quantized (GPTQ/AWQ) layers
// RUN: not kopt %s --weights-format=gptq -o %t.bad.so 2>&1 | FileCheck %s --check-prefix=NOWEIGHTS
// NOWEIGHTS: kopt: error: --weights-format describes the --weights checkpoint; give --weights=w.safetensors
// RUN: not kopt %s --weights=%t.w.safetensors --weights-format=gptq3 -o %t.bad.so 2>&1 | FileCheck %s --check-prefix=NAME
// NAME: kopt: error: --weights-format: unknown pre-quantized checkpoint format 'gptq3' (expected auto, gptq, gptq-v2 or awq)

func.func @forward(%x: tensor<?x128xf16>) -> tensor<?x128xf16> {
  %wu = kopt.weight "mlp.up.weight" : tensor<64x128xf16>
  %h = kopt.linear %x, %wu : (tensor<?x128xf16>, tensor<64x128xf16>) -> tensor<?x64xf16>
  %wd = kopt.weight "mlp.down.weight" : tensor<128x64xf16>
  %y = kopt.linear %h, %wd : (tensor<?x64xf16>, tensor<128x64xf16>) -> tensor<?x128xf16>
  %wo = kopt.weight "out.weight" : tensor<128x128xf16>
  %z = kopt.linear %y, %wo : (tensor<?x128xf16>, tensor<128x128xf16>) -> tensor<?x128xf16>
  return %z : tensor<?x128xf16>
}
