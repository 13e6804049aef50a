// A kopt.gemv_tile the streamed kernel cannot honour, and a bad
// kopt.qlinear_tile or kopt.dense_from_rows, are diagnosed at the
// linear.
// RUN: kopt %s -o %t.ptx --verify-diagnostics --split-input-file

func.func @shape(%x: tensor<?x1024xbf16>, %q: tensor<13x8192xi8>, %s: tensor<200x8xbf16>) -> tensor<?x200xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<200x1024xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<13x8192xi8>, tensor<200x8xbf16>) -> tensor<200x1024xbf16>
  // expected-error @+1 {{kopt.gemv_tile wants warps in [1, 32], stages and chunks per stage in [1, 16], flags 0-2 | 4, blocks per SM in [0, 32]}}
  %y = kopt.linear %x, %w {kopt.gemv_tile = array<i64: 4, 0, 2>} : (tensor<?x1024xbf16>, tensor<200x1024xbf16>) -> tensor<?x200xbf16>
  return %y : tensor<?x200xbf16>
}

// -----

func.func @blocks(%x: tensor<?x1024xbf16>, %q: tensor<13x8192xi8>, %s: tensor<200x8xbf16>) -> tensor<?x200xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<200x1024xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<13x8192xi8>, tensor<200x8xbf16>) -> tensor<200x1024xbf16>
  // expected-error @+1 {{kopt.gemv_tile wants warps in [1, 32], stages and chunks per stage in [1, 16], flags 0-2 | 4, blocks per SM in [0, 32]}}
  %y = kopt.linear %x, %w {kopt.gemv_tile = array<i64: 4, 2, 2, 4, 33>} : (tensor<?x1024xbf16>, tensor<200x1024xbf16>) -> tensor<?x200xbf16>
  return %y : tensor<?x200xbf16>
}

// -----

func.func @type(%x: tensor<?x1024xbf16>, %q: tensor<13x8192xi8>, %s: tensor<200x8xbf16>) -> tensor<?x200xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<200x1024xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<13x8192xi8>, tensor<200x8xbf16>) -> tensor<200x1024xbf16>
  // expected-error @+1 {{kopt.gemv_tile must be array<i64: warps, stages, chunks_per_stage[, flags[, blocks_per_sm]]>}}
  %y = kopt.linear %x, %w {kopt.gemv_tile = 4 : i64} : (tensor<?x1024xbf16>, tensor<200x1024xbf16>) -> tensor<?x200xbf16>
  return %y : tensor<?x200xbf16>
}

// -----

func.func @groups(%x: tensor<?x1024xf16>, %q: tensor<13x8192xi8>, %s: tensor<200x32xf16>) -> tensor<?x200xf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<200x1024xi4, group_size = 32, scale = f16, layout = mma>} : (tensor<13x8192xi8>, tensor<200x32xf16>) -> tensor<200x1024xf16>
  // expected-error @+1 {{kopt.gemv_tile: factored scales need groups of whole chunks (64 K), not 32}}
  %y = kopt.linear %x, %w {kopt.gemv_tile = array<i64: 4, 4, 4, 4>} : (tensor<?x1024xf16>, tensor<200x1024xf16>) -> tensor<?x200xf16>
  return %y : tensor<?x200xf16>
}

// -----

func.func @shared(%x: tensor<?x8192xbf16>, %q: tensor<13x65536xi8>, %s: tensor<200x64xbf16>) -> tensor<?x200xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<200x8192xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<13x65536xi8>, tensor<200x64xbf16>) -> tensor<200x8192xbf16>
  // expected-error @+1 {{kopt.gemv_tile: 278528 bytes of shared memory exceed the 232448 a block may take}}
  %y = kopt.linear %x, %w {kopt.gemv_tile = array<i64: 32, 16, 1>} : (tensor<?x8192xbf16>, tensor<200x8192xbf16>) -> tensor<?x200xbf16>
  return %y : tensor<?x200xbf16>
}

// -----

func.func @qlinear_tile(%x: tensor<?x1024xbf16>, %q: tensor<13x8192xi8>, %s: tensor<200x8xbf16>) -> tensor<?x200xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<200x1024xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<13x8192xi8>, tensor<200x8xbf16>) -> tensor<200x1024xbf16>
  // expected-error @+1 {{kopt.qlinear_tile must be array<i64: row_tiles, k_warps, unroll> with row_tiles in [1, 16], at most 32 warps and unroll in [1, 16]}}
  %y = kopt.linear %x, %w {kopt.qlinear_tile = array<i64: 8, 8, 2>} : (tensor<?x1024xbf16>, tensor<200x1024xbf16>) -> tensor<?x200xbf16>
  return %y : tensor<?x200xbf16>
}

// -----

func.func @dense_from_rows(%x: tensor<?x1024xbf16>, %q: tensor<13x8192xi8>, %s: tensor<200x8xbf16>) -> tensor<?x200xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<200x1024xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<13x8192xi8>, tensor<200x8xbf16>) -> tensor<200x1024xbf16>
  // expected-error @+1 {{kopt.dense_from_rows must be a positive i64}}
  %y = kopt.linear %x, %w {kopt.dense_from_rows = 0 : i64} : (tensor<?x1024xbf16>, tensor<200x1024xbf16>) -> tensor<?x200xbf16>
  return %y : tensor<?x200xbf16>
}
