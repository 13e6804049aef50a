// kopt-quantize gives linear weights quantized types; everything else keeps
// its precision.
// RUN: kopt-opt %s --kopt-quantize | FileCheck %s --check-prefix=INT4
// RUN: kopt-opt %s --kopt-quantize="mode=int8 group-size=-1 symmetric=false" | FileCheck %s --check-prefix=INT8
// RUN: kopt-opt %s --kopt-quantize="mode=fp8 group-size=0" | FileCheck %s --check-prefix=FP8
// RUN: kopt-opt %s --kopt-quantize="keep=lm_head.*,down.weight layout=plain" | FileCheck %s --check-prefix=KEEP
// RUN: not kopt-opt %s --kopt-quantize="keep=nothing.like.this" 2>&1 | FileCheck %s --check-prefix=TYPO
// RUN: kopt-opt %s --kopt-quantize="group-size=96" | FileCheck %s --check-prefix=ADAPT
// RUN: kopt-opt %s --kopt-quantize="int8=*down*,lm_head.weight keep=experts.up" | FileCheck %s --check-prefix=MIXED
// RUN: kopt-opt %s --kopt-quantize="mode=none imported=up.weight:32" | FileCheck %s --check-prefix=IMPORTED
// RUN: kopt-opt %s --kopt-quantize="keep=up.weight imported=up.weight:64" | FileCheck %s --check-prefix=IMPORTED-WINS
// RUN: not kopt-opt %s --kopt-quantize="imported=up.weight" 2>&1 | FileCheck %s --check-prefix=IMPORTED-BAD
// RUN: not kopt-opt %s --kopt-quantize="mode=none imported=embed:64" 2>&1 | FileCheck %s --check-prefix=IMPORTED-USE

// INT4-LABEL: func.func @block
// INT4: kopt.weight "embed" : tensor<64x128xbf16>
// INT4: kopt.weight "up.weight" : !kopt.quantized<256x128xi4, group_size = 128, scale = bf16, layout = mma>
// INT4: kopt.clamp
// INT4: kopt.weight "down.weight" : !kopt.quantized<128x256xi4, group_size = 128, scale = bf16, layout = mma>
// INT4: kopt.weight "norm.weight" : tensor<128xbf16>
// INT4: kopt.linear %{{.+}}, %{{.+}} : (tensor<1x?x128xbf16>, !kopt.quantized<64x128xi4, group_size = 128, scale = bf16, layout = mma>)

// INT8-LABEL: func.func @block
// INT8: kopt.weight "up.weight" : !kopt.quantized<256x128xi8, group_size = 128, scale = bf16, zero_point = i8, layout = mma>
// INT8: kopt.weight "down.weight" : !kopt.quantized<128x256xi8, group_size = 256, scale = bf16, zero_point = i8, layout = mma>

// FP8: kopt.weight "up.weight" : !kopt.quantized<256x128xf8E4M3FN, group_size = 0, scale = bf16>

// KEEP: kopt.weight "up.weight" : !kopt.quantized<256x128xi4, group_size = 128, scale = bf16>
// KEEP: kopt.weight "down.weight" : tensor<128x256xbf16>
// KEEP: kopt.weight "lm_head.weight" : tensor<64x128xbf16>

// A group that does not divide K adapts per layer: K = 128 takes 64, and
// K = 256 takes 64 too (the largest divisor below 96 that is a multiple of
// the layout's 16).
// ADAPT: kopt.weight "up.weight" : !kopt.quantized<256x128xi4, group_size = 64,
// ADAPT: kopt.weight "down.weight" : !kopt.quantized<128x256xi4, group_size = 64,

// TYPO: error: kopt-quantize: keep pattern 'nothing.like.this' matches no kopt.weight

// Mixed precision: int8 globs take int8 codes with per-channel scales
// (experts too); keep wins nothing here but its own weight.
// Pre-quantized (GPTQ/AWQ) weights: asymmetric int4 with their own group,
// whatever mode and keep say; with mode=none nothing else changes.
// IMPORTED-LABEL: func.func @block
// IMPORTED: kopt.weight "up.weight" : !kopt.quantized<256x128xi4, group_size = 32, scale = bf16, zero_point = i4, layout = mma>
// IMPORTED: kopt.weight "down.weight" : tensor<128x256xbf16>
// IMPORTED-WINS: kopt.weight "up.weight" : !kopt.quantized<256x128xi4, group_size = 64, scale = bf16, zero_point = i4, layout = mma>
// IMPORTED-WINS: kopt.weight "down.weight" : !kopt.quantized<128x256xi4, group_size = 128, scale = bf16, layout = mma>
// IMPORTED-BAD: kopt-quantize: imported takes NAME:GROUP, got 'up.weight'
// IMPORTED-USE: error: kopt-quantize: imported weight 'embed' must be read only as a kopt.linear weight

// MIXED-LABEL: func.func @block
// MIXED: kopt.weight "up.weight" : !kopt.quantized<256x128xi4, group_size = 128, scale = bf16, layout = mma>
// MIXED: kopt.weight "down.weight" : !kopt.quantized<128x256xi8, group_size = 256, scale = bf16, layout = mma>
// MIXED: kopt.weight "lm_head.weight" : !kopt.quantized<64x128xi8, group_size = 128, scale = bf16, layout = mma>
// MIXED-LABEL: func.func @experts
// MIXED: kopt.weight "experts.gate" : !kopt.quantized<4x64x128xi4
// MIXED: kopt.weight "experts.up" : tensor<4x64x128xf16>
// MIXED: kopt.weight "experts.down" : !kopt.quantized<4x128x64xi8, group_size = 64,

func.func @block(%ids: tensor<1x?xi32>) -> tensor<1x?x64xbf16> {
  // An embedding table is not a linear weight.
  %table = kopt.weight "embed" : tensor<64x128xbf16>
  %x = kopt.embedding %table, %ids : (tensor<64x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x128xbf16>
  %up = kopt.weight "up.weight" : tensor<256x128xbf16>
  %h = kopt.linear %x, %up : (tensor<1x?x128xbf16>, tensor<256x128xbf16>) -> tensor<1x?x256xbf16>
  // Activation clipping stays as written.
  %c = kopt.clamp %h {min = -3.0 : f32, max = 3.0 : f32} : (tensor<1x?x256xbf16>) -> tensor<1x?x256xbf16>
  %down = kopt.weight "down.weight" : tensor<128x256xbf16>
  %y = kopt.linear %c, %down : (tensor<1x?x256xbf16>, tensor<128x256xbf16>) -> tensor<1x?x128xbf16>
  %nw = kopt.weight "norm.weight" : tensor<128xbf16>
  %n = kopt.rmsnorm %y, %nw {epsilon = 1.0e-5 : f32} : (tensor<1x?x128xbf16>, tensor<128xbf16>) -> tensor<1x?x128xbf16>
  %head = kopt.weight "lm_head.weight" : tensor<64x128xbf16>
  %logits = kopt.linear %n, %head : (tensor<1x?x128xbf16>, tensor<64x128xbf16>) -> tensor<1x?x64xbf16>
  return %logits : tensor<1x?x64xbf16>
}


// Experts of a kopt.moe are quantized like linear weights.
// INT4-LABEL: func.func @experts
// INT4: kopt.weight "experts.gate" : !kopt.quantized<4x64x128xi4, group_size = 128, scale = f16, layout = mma>
// INT4: kopt.weight "experts.down" : !kopt.quantized<4x128x64xi4, group_size = 64, scale = f16, layout = mma>
// INT4: kopt.weight "router" : tensor<4x128xf16>
func.func @experts(%x: tensor<?x128xf16>) -> tensor<?x128xf16> {
  %g = kopt.weight "experts.gate" : tensor<4x64x128xf16>
  %u = kopt.weight "experts.up" : tensor<4x64x128xf16>
  %d = kopt.weight "experts.down" : tensor<4x128x64xf16>
  %r = kopt.weight "router" : tensor<4x128xf16>
  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 2 : i64} : (tensor<?x128xf16>, tensor<4x128xf16>, tensor<4x64x128xf16>, tensor<4x64x128xf16>, tensor<4x128x64xf16>) -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}
