// A dequantize whose only readers are linear or moe weight operands and
// which no linear fuses (here fp8) is dequantized at each reader into the
// function's shared scratch (one per slot: moe's gate, up and down), so no
// dense copy of any weight lives for the whole call: the two linears share
// one scratch sized for the larger weight.
// (Launches kept apart: merge-launches.mlir covers running the three
// dequantizes beside the router.)
// RUN: kopt %s --quantize=fp8 --quantize-activations=none --merge-launches=false -o %t.ptx
// RUN: python3 -c "import json, sys; [print(f['name'], *[b['shape'] for b in f['buffers'] if b['source'] == 'temp' and b['shape'][0] in (98304, 131072)], *[(l['kernel'], l['args'][0]['buffer']) for l in f['launches'] if l['kernel'].startswith('dequantize')]) for f in json.load(open(sys.argv[1]))['functions']]" %t.plan.json | FileCheck %s
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}

// CHECK: f [131072] ('dequantize_0', 5) ('dequantize_{{[0-9]+}}', 5)
// CHECK: moe [98304] [98304] [98304] ('dequantize_[[E:[0-9]+]]', 11) ('dequantize_[[E]]', 12) ('dequantize_{{[0-9]+}}', 13)

func.func @f(%x: tensor<?x256xbf16>) -> tensor<?x256xbf16> {
  %w1 = kopt.weight "w1" : tensor<512x256xbf16>
  %w2 = kopt.weight "w2" : tensor<256x512xbf16>
  %h = kopt.linear %x, %w1 : (tensor<?x256xbf16>, tensor<512x256xbf16>) -> tensor<?x512xbf16>
  %y = kopt.linear %h, %w2 : (tensor<?x512xbf16>, tensor<256x512xbf16>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}
func.func @moe(%x: tensor<?x128xbf16>) -> tensor<?x128xbf16> {
  %r = kopt.weight "r" : tensor<4x128xbf16>
  %g = kopt.weight "g" : tensor<4x192x128xbf16>
  %u = kopt.weight "u" : tensor<4x192x128xbf16>
  %d = kopt.weight "d" : tensor<4x128x192xbf16>
  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 2 : i64} : (tensor<?x128xbf16>, tensor<4x128xbf16>, tensor<4x192x128xbf16>, tensor<4x192x128xbf16>, tensor<4x128x192xbf16>) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}
