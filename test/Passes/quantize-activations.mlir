// kopt-quantize-activations rounds the inputs of fp8 linears to float8, one
// fake_quant per input value (q and k share theirs); linears over other
// weights keep their inputs. The --quantize=fp8 pipeline runs it (w8a8,
// per-channel weight scales); --quantize-activations=none keeps weight-only.
// RUN: kopt-opt %s --kopt-quantize="mode=fp8 group-size=-1 keep=o.weight" --kopt-quantize-activations | FileCheck %s
// RUN: kopt-opt %s --kopt-quantize="mode=fp8" --kopt-quantize-activations=granularity=tensor | FileCheck %s --check-prefix=TENSOR
// RUN: kopt-opt %s --kopt-quantize="mode=int4" --kopt-quantize-activations | FileCheck %s --check-prefix=INT4
// RUN: not kopt-opt %s --kopt-quantize-activations=granularity=channel 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: kopt %s --quantize=fp8 --emit=mlir -o - | FileCheck %s --check-prefix=CLI
// RUN: kopt %s --quantize=fp8 --quantize-activations=none --emit=mlir -o - | FileCheck %s --check-prefix=WEIGHT-ONLY
// RUN: not kopt %s --quantize=int8 --quantize-activations=token -o %t.ptx 2>&1 | FileCheck %s --check-prefix=NOT-FP8
// RUN: not kopt %s --quantize=fp8 --quantize-activations=row -o %t.ptx 2>&1 | FileCheck %s --check-prefix=BAD-CLI

// CHECK-LABEL: func.func @attention_inputs
// CHECK: %[[X:.+]] = kopt.fake_quant %arg0 {dtype = f8E4M3FN} : (tensor<?x64xbf16>) -> tensor<?x64xbf16>
// CHECK-NOT: kopt.fake_quant
// CHECK: kopt.linear %[[X]], %{{.+}} : (tensor<?x64xbf16>, !kopt.quantized<128x64xf8E4M3FN, group_size = 64, scale = bf16>)
// CHECK: kopt.linear %[[X]], %{{.+}} : (tensor<?x64xbf16>, !kopt.quantized<128x64xf8E4M3FN, group_size = 64, scale = bf16>)
// CHECK: %[[H:.+]] = kopt.add
// CHECK-NOT: kopt.fake_quant
// CHECK: kopt.linear %[[H]], %{{.+}} : (tensor<?x128xbf16>, tensor<64x128xbf16>)

// TENSOR: kopt.fake_quant %arg0 {dtype = f8E4M3FN, granularity = "tensor"}
// TENSOR: kopt.fake_quant %{{.+}} {dtype = f8E4M3FN, granularity = "tensor"}

// INT4-NOT: kopt.fake_quant

// BAD: kopt-quantize-activations: granularity must be token or tensor, got 'channel'

// CLI: kopt.fake_quant
// CLI: group_size = 64
// WEIGHT-ONLY-NOT: kopt.fake_quant

// NOT-FP8: --quantize-activations is for --quantize=fp8
// BAD-CLI: --quantize-activations takes token, tensor or none, got 'row'

func.func @attention_inputs(%x: tensor<?x64xbf16>) -> tensor<?x64xbf16> {
  %wq = kopt.weight "q.weight" : tensor<128x64xbf16>
  %wk = kopt.weight "k.weight" : tensor<128x64xbf16>
  %wo = kopt.weight "o.weight" : tensor<64x128xbf16>
  %q = kopt.linear %x, %wq : (tensor<?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x128xbf16>
  %k = kopt.linear %x, %wk : (tensor<?x64xbf16>, tensor<128x64xbf16>) -> tensor<?x128xbf16>
  %h = kopt.add %q, %k : tensor<?x128xbf16>
  %y = kopt.linear %h, %wo : (tensor<?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// Fast accumulation marks the fp8 linears for their GEMMs.
// RUN: kopt-opt %s --kopt-quantize="mode=fp8 group-size=-1" --kopt-quantize-activations=fast-accumulation=true | FileCheck %s --check-prefix=FAST
// RUN: kopt %s --quantize=fp8 --quantize-fp8-fast-accumulation --emit=mlir -o - | FileCheck %s --check-prefix=FAST
// RUN: not kopt %s --quantize=int8 --quantize-fp8-fast-accumulation -o %t.ptx 2>&1 | FileCheck %s --check-prefix=FAST-BAD
// FAST-COUNT-3: kopt.linear {{.*}} {kopt.fp8_promote_every = 0 : i64}
// FAST-BAD: --quantize-fp8-fast-accumulation is for the fp8 GEMMs of --quantize=fp8 with fp8 activations
