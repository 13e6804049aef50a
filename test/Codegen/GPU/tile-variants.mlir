// kopt-tile-linears: the tile variants the autotuner times besides the
// default, from the target description. The streamed GEMV's deep rings
// (16 warps x 8 stages x 2 chunks, 144 KB) fit sm_80's and sm_90's shared
// memory per block, not sm_89's 99 KB; row tiles per block only as many as
// still give every SM a block (N = 4096: 256 tiles; 2 per block leaves 128
// blocks, enough for sm_80's 108 SMs, not sm_90's 132). A linear whose
// tiling an attribute fixes, and a float linear, get none.
// RUN: kopt-opt %s --kopt-expand-quantized-weights --kopt-tile-linears=gpu-target=sm_90 | FileCheck %s --check-prefix=SM90
// RUN: kopt-opt %s --kopt-expand-quantized-weights --kopt-tile-linears=gpu-target=sm_80 | FileCheck %s --check-prefix=SM80
// RUN: kopt-opt %s --kopt-expand-quantized-weights --kopt-tile-linears=gpu-target=sm_89 | FileCheck %s --check-prefix=SM89
// RUN: kopt-opt %s --kopt-expand-quantized-weights '--kopt-tile-linears=gpu-target=sm_90 max-variants=1' | FileCheck %s --check-prefix=ONE
// RUN: not kopt-opt %s --kopt-tile-linears=gpu-target=sm_70 2>&1 | FileCheck %s --check-prefix=BAD
// The plan tags each variant's launches and lists the groups.
// RUN: kopt %s --tile-variants -o %t.ptx
// RUN: FileCheck %s --check-prefix=PLAN < %t.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}

// SM90-LABEL: func.func @f
// SM90: kopt.linear {{.*}}kopt.tile_variants = [{kopt.gemv_tile = array<i64: 8, 4, 2>}, {kopt.gemv_tile = array<i64: 16, 8, 2>}, {kopt.dense_from_rows = 17 : i64}]
// SM90: kopt.linear %{{.*}} {kopt.qlinear_tile = array<i64: 1, 8, 4>}
// SM90-NOT: kopt.tile_variants
// SM90: return

// SM80: kopt.tile_variants = [{kopt.gemv_tile = array<i64: 8, 4, 2>}, {kopt.gemv_tile = array<i64: 16, 8, 2>}, {kopt.qlinear_tile = array<i64: 2, 8, 2>}, {kopt.dense_from_rows = 17 : i64}]

// SM89: kopt.tile_variants = [{kopt.gemv_tile = array<i64: 8, 4, 2>}, {kopt.dense_from_rows = 17 : i64}]

// ONE: kopt.tile_variants = [{kopt.gemv_tile = array<i64: 8, 4, 2>}]

// BAD: error: kopt-tile-linears: unknown GPU target 'sm_70'

// PLAN:      "tune": {
// PLAN-NEXT:   "group": 0,
// PLAN-NEXT:   "variant": 0
// PLAN:      "variant": 3
// PLAN:      "tuning": [
// PLAN-NEXT:   {
// PLAN-NEXT:     "bucket": "s0",
// PLAN-NEXT:     "bytes": "s0 * 12288 + {{[0-9]+}}",
// PLAN-NEXT:     "group": 0,
// PLAN-NEXT:     "kernel": "node {{[0-9]+}}: linear 4096x2048 of 'w'",
// PLAN-NEXT:     "node":
// PLAN-NEXT:     "output":
// PLAN-NEXT:     "variants": [
// PLAN-NEXT:       "default",
// PLAN-NEXT:       "kopt.gemv_tile = array<i64: 8, 4, 2>",
// PLAN-NEXT:       "kopt.gemv_tile = array<i64: 16, 8, 2>",
// PLAN-NEXT:       "kopt.dense_from_rows = 17 : i64"
// PLAN-NEXT:     ]
// PLAN-NEXT:   }
// PLAN-NEXT: ]

func.func @f(%x: tensor<?x2048xbf16>, %y: tensor<?x256xbf16>) -> (tensor<?x4096xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>) {
  %w = kopt.weight "w" : !kopt.quantized<4096x2048xi4, group_size = 128, scale = bf16, layout = mma>
  %a = kopt.linear %x, %w : (tensor<?x2048xbf16>, !kopt.quantized<4096x2048xi4, group_size = 128, scale = bf16, layout = mma>) -> tensor<?x4096xbf16>
  %v = kopt.weight "v" : !kopt.quantized<64x256xi4, group_size = 128, scale = bf16, layout = mma>
  %b = kopt.linear %y, %v {kopt.qlinear_tile = array<i64: 1, 8, 4>} : (tensor<?x256xbf16>, !kopt.quantized<64x256xi4, group_size = 128, scale = bf16, layout = mma>) -> tensor<?x64xbf16>
  %u = kopt.weight "u" : tensor<64x256xbf16>
  %c = kopt.linear %y, %u : (tensor<?x256xbf16>, tensor<64x256xbf16>) -> tensor<?x64xbf16>
  return %a, %b, %c : tensor<?x4096xbf16>, tensor<?x64xbf16>, tensor<?x64xbf16>
}
