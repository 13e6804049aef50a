// kopt --calibration on tiny_llama (CPU): the accuracy report, the
// size-budgeted mixed-precision policy and activation-aware scaling, each
// checked against what the compiled model then computes.
// RUN: kopt-weights %models/tiny_llama.mlir --random --seed=7 -o %t.w.safetensors
// RUN: python3 %S/Inputs/make_npy.py %t.ids.npy 1x13 i32 randint:0:512 --seed=2
// RUN: python3 %S/Inputs/make_npy.py %t.pos.npy 1x13 i32 iota
// RUN: python3 %S/Inputs/make_npy.py %t.cal.npy 1x32 i32 randint:0:512 --seed=5
// RUN: python3 %S/Inputs/make_npy.py %t.calpos.npy 1x32 i32 iota
// RUN: kopt %models/tiny_llama.mlir -o %t.f32.so
// RUN: kopt-run %t.f32.so --weights=%t.w.safetensors --input=@%t.ids.npy --input=@%t.pos.npy --output=@%t.f32.npy

// The report: every quantized weight in graph order, then the whole model.
// RUN: kopt %models/tiny_llama.mlir --weights=%t.w.safetensors --quantize=int4 --calibration=@%t.ids.npy,@%t.pos.npy --quantize-report=%t.report.json -o %t.q4.so 2>&1 | FileCheck %s --check-prefix=REPORT
// REPORT: kopt: quantization report: 1 calibration sample(s) of @forward, 15 quantized weights, 4.203 bits/weight
// REPORT-NEXT: weight encoding bits  layer rel L2  in-model rel L2  cosine
// REPORT-NEXT: model.layers.0.self_attn.q_proj.weight i4 g128 4.25 0.0{{[0-9]+}} 0.0{{[0-9]+}} 0.99{{[0-9]+}}
// REPORT: model.layers.0.mlp.down_proj.weight i4 per-channel 4.05
// REPORT: lm_head.weight
// REPORT-NEXT: whole model, result[0]: rel L2 0.1{{[0-9]+}}, cosine 0.99{{[0-9]+}}, top-1 agreement {{[0-9]+}}/13
// The report's whole-model figures are what the compiled model computes.
// RUN: kopt-run %t.q4.so --input=@%t.ids.npy --input=@%t.pos.npy --expected_output=@%t.f32.npy --tolerance=0,1 --min_cosine=0 > %t.q4.txt
// RUN: python3 %S/Inputs/check_report.py %t.report.json %t.q4.txt --layers=15 --positions=13 | FileCheck %s --check-prefix=AGREE
// AGREE: report agrees with the compiled model

// fp8 (w8a8: per-token activation and per-channel weight scales) reports
// the same way, and the compiled model computes what it reports.
// RUN: kopt %models/tiny_llama.mlir --weights=%t.w.safetensors --quantize=fp8 --calibration=@%t.ids.npy,@%t.pos.npy --quantize-report=%t.f8.json -o %t.f8.so 2>&1 | FileCheck %s --check-prefix=FP8
// FP8: model.layers.0.self_attn.q_proj.weight f8E4M3FN per-channel 8.{{[0-9]+}}
// FP8: whole model, result[0]: rel L2 0.0{{[0-9]+}}, cosine 0.99{{[0-9]+}}
// RUN: kopt-run %t.f8.so --input=@%t.ids.npy --input=@%t.pos.npy --expected_output=@%t.f32.npy --tolerance=0,1 --min_cosine=0.99 > %t.f8.txt
// RUN: python3 %S/Inputs/check_report.py %t.f8.json %t.f8.txt --layers=15 --positions=13 | FileCheck %s --check-prefix=AGREE

// A budget of 5 bits per weight upgrades the most sensitive layers to int8
// and improves the model, within the budget.
// RUN: kopt %models/tiny_llama.mlir --weights=%t.w.safetensors --quantize=int4 --calibration=%t.cal.npy,%t.calpos.npy --calibration=@%t.ids.npy,@%t.pos.npy --quantize-budget=5 --quantize-report=%t.budget.json -o %t.b5.so 2>&1 | FileCheck %s --check-prefix=BUDGET
// BUDGET: kopt: quantization report: 2 calibration sample(s) of @forward, 15 quantized weights, 4.{{[0-9]+}} bits/weight (budget 5.000)
// BUDGET: i8 per-channel
// BUDGET: whole model, result[0]: {{.*}} top-1 agreement {{[0-9]+}}/45
// RUN: python3 %S/Inputs/check_report.py %t.budget.json --max-bits=5 | FileCheck %s --check-prefix=AGREE
// RUN: kopt-run %t.b5.so --input=@%t.ids.npy --input=@%t.pos.npy --expected_output=@%t.f32.npy --tolerance=0,1 --min_cosine=0.991 | FileCheck %s --check-prefix=BETTER
// BETTER: result[0]: ok

// Activation-aware scaling: the packed checkpoint carries the scaled
// weights and input scales, and the compiled model matches the reference
// evaluation of the same artifact.
// RUN: kopt %models/tiny_llama.mlir --weights=%t.w.safetensors --quantize=int4 --calibration=%t.cal.npy,%t.calpos.npy --calibration=@%t.ids.npy,@%t.pos.npy --quantize-awq -o %t.awq.so 2>&1 | FileCheck %s --check-prefix=AWQ
// AWQ: i4 g128 awq 0.{{[0-9]}}
// RUN: FileCheck %s --check-prefix=SCALES < %t.awq.plan.json
// SCALES: .input_scale"
// RUN: kopt-run %t.awq.so --device=reference --input=@%t.ids.npy --input=@%t.pos.npy --output=@%t.awqref.npy
// RUN: kopt-run %t.awq.so --input=@%t.ids.npy --input=@%t.pos.npy --expected_output=@%t.awqref.npy --tolerance=1e-4,1e-5 | FileCheck %s --check-prefix=BETTER

// Methods that learn from data say what they need.
// RUN: not kopt %models/tiny_llama.mlir --quantize=int4 --quantize-awq -o %t.x.so 2>&1 | FileCheck %s --check-prefix=NODATA
// NODATA: kopt: error: --quantize-awq learns from data: it needs the float weights (--weights=w.safetensors) and calibration inputs (--calibration=x.npy[,...], one per function argument)
// RUN: not kopt %models/tiny_llama.mlir --weights=%t.w.safetensors --quantize=int4 --quantize-budget=5 -o %t.x.so 2>&1 | FileCheck %s --check-prefix=NOCAL
// NOCAL: kopt: error: --quantize-budget learns from data
// RUN: not kopt %models/tiny_llama.mlir --weights=%t.w.safetensors --calibration=%t.ids.npy,%t.pos.npy -o %t.x.so 2>&1 | FileCheck %s --check-prefix=NOQUANT
// NOQUANT: kopt: error: --calibration needs --quantize=int4|int8|fp8
// RUN: not kopt %models/tiny_llama.mlir --weights=%t.w.safetensors --quantize=int4 --calibration=%t.ids.npy,%t.pos.npy --quantize-budget=3 -o %t.x.so 2>&1 | FileCheck %s --check-prefix=TIGHT
// TIGHT: kopt: error: --quantize-budget: the budget of 3.000000 bits per weight is below the 4.2{{[0-9]+}} the requested encoding needs
// RUN: not kopt %models/tiny_llama.mlir --weights=%t.w.safetensors --quantize=int4 --calibration=%t.ids.npy,%t.pos.npy --quantize-budget=-1 -o %t.x.so 2>&1 | FileCheck %s --check-prefix=RANGE
// RANGE: kopt: error: --quantize-budget takes bits per weight in (0, 64]
// RUN: not kopt %models/tiny_llama.mlir --weights=%t.w.safetensors --quantize=int4 --calibration=%t.ids.npy -o %t.x.so 2>&1 | FileCheck %s --check-prefix=ARITY
// ARITY: kopt: error: calibration: evaluating the model: forward: expects 2 inputs, got 1
// RUN: not kopt %models/tiny_llama.mlir --weights=%t.w.safetensors --quantize=int4 --calibration=%t.none.npy,%t.pos.npy -o %t.x.so 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: kopt: error: --calibration: {{.*}}none.npy
