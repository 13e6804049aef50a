#!/bin/bash
# Builds .gpu-s/ (git-ignored): what bench/gpu/step.sh runs on the GPU
# machine: every e2e GPU numerics case, and the TinyLlama-1.1B-shaped model
# (bf16 and int4 g128, fused; the default and the variants below) whose
# decode step and prefill it times, the default also with dependent launch
# forced off and on (KOPT_DEPENDENT_LAUNCH=0/1). Then: device run
# with carry [".gpu-s"], command `bash .gpu-s/step.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd); K=$root/build/bin; D=$root/.gpu-s
rm -rf "$D"; mkdir -p "$D" && cd "$D"
cp "$root/bench/gpu/step.sh" "$root/bench/gpu/numerics.sh" "$root/bench/gpu/random_checkpoint.py" \
   "$root/bench/gpu/kernel_profile.py" "$root/bench/gpu/llama_peer.py" \
   "$root/bench/gpu/clean_flush.py" "$K/kopt-run" .
KOPT_EXPORT_GPU_CASES=$D/cases $K/kopt-e2e-tests --gtest_filter='*/GpuNumerics.*' \
  --gtest_brief=1 >/dev/null
echo "exported $(wc -l < cases/cases.txt) GPU numerics runs"
# xz: the cases (100 MB) and the models must fit the 64 MiB carry.
tar cf - cases | xz -6 -T2 > cases.txz && rm -rf cases
python3 "$root/models/gen_models.py" llama --name tl1b --layers 22 --hidden 2048 \
  --heads 32 --kv-heads 4 --head-dim 64 --ffn 5632 --vocab 32000 --max-len 2048 \
  --dtype bf16 > tl1b.mlir
$K/kopt tl1b.mlir --fuse -o tl1b_bf16.ptx
$K/kopt tl1b.mlir --fuse --quantize=int4 -o tl1b_int4.ptx
# Variants against the default, timed in the same run: unfused; norms not
# applied by the GEMVs reading them (kopt-fuse{norms=false}); SwiGLU not
# applied by the down GEMVs (--reader-epilogues=false); without merged
# launches.
variant() { # name, flags...
  local name=$1; shift
  $K/kopt tl1b.mlir --fuse "$@" -o tl1b_bf16_$name.ptx
  $K/kopt tl1b.mlir --fuse --quantize=int4 "$@" -o tl1b_int4_$name.ptx
}
$K/kopt tl1b.mlir -o tl1b_bf16_unfused.ptx
$K/kopt tl1b.mlir --quantize=int4 -o tl1b_int4_unfused.ptx
nonorm() { # quantize option, output
  $K/kopt tl1b.mlir --pass-pipeline="builtin.module(kopt-model-pipeline$1,kopt-fuse{norms=false},canonicalize,cse)" -o "$2"
}
nonorm "" tl1b_bf16_nonorm.ptx
nonorm "{quantize=int4}" tl1b_int4_nonorm.ptx
variant noreader --reader-epilogues=false
variant nomerge --merge-launches=false
rm tl1b.mlir && gzip tl1b_*.ptx tl1b_*.plan.json
du -sh "$D"
