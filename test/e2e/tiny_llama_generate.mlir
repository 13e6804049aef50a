// kopt-generate: greedy decoding with the KV-cached function of the bundled
// decoder (one prefill call, then one decode call per token) agrees with a
// full recompute by the stateless `forward` at every generated position,
// stops with a note when the cache is full, and reports bad prompts, wrong
// signatures and the runtime's data-dependent errors in one line.

// RUN: kopt %models/tiny_llama.mlir -o %t.so
// RUN: kopt-weights %models/tiny_llama.mlir --random --seed=1 -o %t.safetensors

// RUN: kopt-generate %t.so --weights=%t.safetensors --prompt=1,2,3,4 --max_new_tokens=8 --check_recompute | FileCheck %s
// CHECK: {{^}}tokens:{{( [0-9]+){8}$}}
// CHECK-NEXT: {{^}}prefill: 4 tokens in {{[0-9.]+}} ms ({{[0-9.]+}} tokens/s)
// CHECK-NEXT: {{^}}decode: 7 tokens in {{[0-9.]+}} ms ({{[0-9.]+}} tokens/s)
// CHECK-NEXT: {{^}}recompute: ok (max |diff| {{.+}} over 8 generated positions, rtol=0.0001 atol=0.0001)

// The caches hold 256 positions: a 1-token prompt gets 256 new tokens (the
// last one is never fed back), then decoding stops without an error.
// RUN: kopt-generate %t.so --weights=%t.safetensors --prompt=7 --max_new_tokens=300 --check_recompute 2>&1 | FileCheck %s --check-prefix=FULL
// FULL: {{^}}tokens:{{( [0-9]+){128}( [0-9]+){128}$}}
// FULL-NEXT: {{^}}prefill: 1 token in
// FULL-NEXT: {{^}}decode: 255 tokens in
// FULL-NEXT: kopt-generate: note: stopped after 256 of 300 new tokens: the KV caches of forward_cached hold 256 positions
// FULL-NEXT: {{^}}recompute: ok ({{.+}} over 256 generated positions

// Token ids are checked by the compiled code, not by kopt-generate.
// RUN: not kopt-generate %t.so --weights=%t.safetensors --prompt=1,512,3 2>&1 | FileCheck %s --check-prefix=RANGE
// RANGE: kopt-generate: error: prefill: kopt.embedding: id 512 is outside [0, 512)
// RANGE-NOT: tokens:

// RUN: not kopt-generate %t.so --weights=%t.safetensors --prompt=1,,x 2>&1 | FileCheck %s --check-prefix=PROMPT
// PROMPT: kopt-generate: error: --prompt: token 1 of '1,,x' is empty
// RUN: not kopt-generate %t.so --weights=%t.safetensors --prompt=1 --function=forward 2>&1 | FileCheck %s --check-prefix=SIGNATURE
// SIGNATURE: kopt-generate: error: forward takes 2 inputs, not a KV-cached decoder
