// Launches of independent ops that follow one another run as one kernel,
// each part in its own range of blocks: the GEMVs of q, k and v (one token
// band: 256 + 32 + 32 blocks, the parts' sizes passed last) but not the
// projection reading q, nor the wgmma GEMMs (dynamic shared memory); MoE
// weight dequantizes beside the router. --merge-launches=false keeps them.
// RUN: kopt %s --quantize=fp8 --quantize-activations=none --quantize-keep=w? -o %t.ptx
// RUN: python3 -c "import json, sys; [print(f['name'], l['kernel'], l['grid'][0], l.get('guard', {}).get('max', '-'), *[a['i64'] for a in l['args'][-3:] if 'i64' in a]) for f in json.load(open(sys.argv[1]))['functions'] for l in f['launches']]" %t.plan.json | FileCheck %s
// RUN: FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}
// RUN: kopt %s --quantize=fp8 --quantize-activations=none --quantize-keep=w? --merge-launches=false -o %t.apart.ptx
// RUN: python3 -c "import json, sys; [print(f['name'], l['kernel']) for f in json.load(open(sys.argv[1]))['functions'] for l in f['launches']]" %t.apart.plan.json | FileCheck %s --check-prefix=APART

// CHECK:      qkv rownorm_{{[0-9]+}} s0 -
// CHECK-NEXT: qkv merged_[[QKV:[0-9]+]] 320 8 256 32 32
// CHECK-NEXT: qkv wgmma_gemm_
// CHECK-NOT:  merged
// CHECK:      qkv gemv_{{[0-9]+}} 256 8
// CHECK-NOT:  qkv merged
// CHECK:      moe merged_{{[0-9]+}} s0 ceildiv 8 + 1152 - 384 384 s0 ceildiv 8
// CHECK-NEXT: moe moe_up

// PTX-LABEL: .visible .entry merged_
// PTX:       griddepcontrol.wait;
// PTX:       setp.{{.*}}
// PTX:       shfl.sync.bfly

// APART:      qkv rownorm
// APART-NEXT: qkv gemv_[[Q:[0-9]+]]
// APART:      qkv gemv_[[KV:[0-9]+]]
// APART:      qkv gemv_[[KV]]
// APART-NOT:  merged

func.func @qkv(%x: tensor<?x2048xbf16>) -> (tensor<?x2048xbf16>, tensor<?x256xbf16>, tensor<?x256xbf16>) {
  %g = kopt.weight "g" : tensor<2048xbf16>
  %wq = kopt.weight "wq" : tensor<2048x2048xbf16>
  %wk = kopt.weight "wk" : tensor<256x2048xbf16>
  %wv = kopt.weight "wv" : tensor<256x2048xbf16>
  %wo = kopt.weight "wo" : tensor<2048x2048xbf16>
  %n = kopt.rmsnorm %x, %g {epsilon = 1.0e-05 : f32} : (tensor<?x2048xbf16>, tensor<2048xbf16>) -> tensor<?x2048xbf16>
  %q = kopt.linear %n, %wq : (tensor<?x2048xbf16>, tensor<2048x2048xbf16>) -> tensor<?x2048xbf16>
  %k = kopt.linear %n, %wk : (tensor<?x2048xbf16>, tensor<256x2048xbf16>) -> tensor<?x256xbf16>
  %v = kopt.linear %n, %wv : (tensor<?x2048xbf16>, tensor<256x2048xbf16>) -> tensor<?x256xbf16>
  %o = kopt.linear %q, %wo : (tensor<?x2048xbf16>, tensor<2048x2048xbf16>) -> tensor<?x2048xbf16>
  return %o, %k, %v : tensor<?x2048xbf16>, tensor<?x256xbf16>, tensor<?x256xbf16>
}

func.func @moe(%x: tensor<?x128xbf16>) -> tensor<?x128xbf16> {
  %r = kopt.weight "r" : tensor<4x128xbf16>
  %g = kopt.weight "moe.g" : tensor<4x192x128xbf16>
  %u = kopt.weight "moe.u" : tensor<4x192x128xbf16>
  %d = kopt.weight "moe.d" : tensor<4x128x192xbf16>
  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 2 : i64} : (tensor<?x128xbf16>, tensor<4x128xbf16>, tensor<4x192x128xbf16>, tensor<4x192x128xbf16>, tensor<4x128x192xbf16>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}
