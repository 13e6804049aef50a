// On sm_90 every kernel starts with griddepcontrol.wait and triggers its
// dependents right after it (--dependent-launch=end: where it returns),
// and the plan says "dependent_launch": true, which lets the runtime launch
// each kernel while the one before it runs; sm_80 kernels and
// --dependent-launch=off have neither. The pass alone needs the plan.
// RUN: kopt %s --target=sm_90 -o %t.90.ptx
// RUN: FileCheck %s --check-prefix=START < %t.90.ptx
// RUN: FileCheck %s --check-prefix=PLAN < %t.90.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.90.ptx -o /dev/null %}
// RUN: kopt %s --target=sm_90 --dependent-launch=end -o %t.end.ptx
// RUN: FileCheck %s --check-prefix=END < %t.end.ptx
// RUN: kopt %s --target=sm_90 --dependent-launch=off -o %t.off.ptx
// RUN: FileCheck %s --check-prefix=NONE < %t.off.ptx
// RUN: FileCheck %s --check-prefix=NOPLAN < %t.off.plan.json
// RUN: kopt %s --target=sm_80 -o %t.80.ptx
// RUN: FileCheck %s --check-prefix=NONE < %t.80.ptx
// RUN: FileCheck %s --check-prefix=NOPLAN < %t.80.plan.json
// RUN: not kopt %s --dependent-launch=soon -o %t.bad.ptx 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: kopt-opt %s --kopt-dependent-launch --verify-diagnostics

// END-LABEL: .entry rownorm
// END-NOT: {{ld|st}}.global
// END: griddepcontrol.wait;
// END-NOT: griddepcontrol
// END: st.global
// END: griddepcontrol.launch_dependents;
// END-NEXT: ret;
// END-LABEL: .entry elementwise
// END-NOT: {{ld|st}}.global
// END: griddepcontrol.wait;
// END-NOT: griddepcontrol
// END: st.global
// END: griddepcontrol.launch_dependents;
// END-NEXT: ret;
// START-LABEL: .entry rownorm
// START-NOT: {{ld|st}}.global
// START: griddepcontrol.wait;
// START-NEXT: griddepcontrol.launch_dependents;
// PLAN: "dependent_launch": true
// NONE-NOT: griddepcontrol
// NOPLAN-NOT: dependent_launch
// BAD: --dependent-launch takes end, start or off, not 'soon'

// expected-error @below {{kopt-dependent-launch runs after kopt-export-plan (the module has no kopt.plan)}}
module {
  func.func @f(%x: tensor<?x2048xbf16>, %w: tensor<2048xbf16>) -> tensor<?x2048xbf16> {
    %n = kopt.rmsnorm %x, %w {epsilon = 1.0e-05 : f32} : (tensor<?x2048xbf16>, tensor<2048xbf16>) -> tensor<?x2048xbf16>
    %s = kopt.silu %n : (tensor<?x2048xbf16>) -> tensor<?x2048xbf16>
    return %s : tensor<?x2048xbf16>
  }
}
