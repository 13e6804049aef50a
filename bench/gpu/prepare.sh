#!/bin/bash
# Builds .gpu-run/ (git-ignored): PTX + plans of the benchmark kernels and
# the bundled models, their weights, inputs and reference outputs, and the
# kopt-run binary (it needs only libc/libstdc++, so it runs on the GPU
# machine). Then: device run with carry [".gpu-run"], command
# `bash .gpu-run/run.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd); K=$root/build/bin; D=$root/.gpu-run
mkdir -p "$D" && cd "$D"
cp "$root/bench/gpu/run.sh" "$root/bench/gpu/numerics.sh" "$root/bench/gpu/clean_flush.py" "$K/kopt-run" "$root/bench/gpu/linear_attention_bf16.mlir" .
cp "$root/../shared/bench/peers_h200.py" . 2>/dev/null || echo "no shared/bench/peers_h200.py: peers skipped"
# Every e2e numerics case as PTX + inputs + reference outputs, checked on
# the GPU by run.sh with kopt-run (cases/cases.txt lists the commands).
rm -rf cases
KOPT_EXPORT_GPU_CASES=$D/cases $K/kopt-e2e-tests --gtest_filter='*/GpuNumerics.*' \
  --gtest_brief=1 >/dev/null
echo "exported $(wc -l < cases/cases.txt) GPU numerics runs"
# Compressed (58 -> 33 MB) so the folder stays under the device tool's
# 64 MiB carry limit; numerics.sh unpacks it there.
tar czf cases.tgz cases && rm -rf cases
$K/kopt "$root/bench/gpu/linear_f16.mlir" -o linear.ptx
$K/kopt "$root/bench/gpu/linear_bf16.mlir" -o linear_bf16.ptx
$K/kopt "$root/bench/gpu/gemm_bf16_4096.mlir" -o gemm_bf16_4096.ptx
$K/kopt "$root/bench/gpu/attention_f16.mlir" -o attention.ptx
for m in attention_bf16 attention_window_bf16 attention_decode_bf16 attention_decode_mha_bf16 \
         linear_attention_bf16 moe_bf16; do
  $K/kopt "$root/bench/gpu/$m.mlir" -o $m.ptx
done
# Quantized linear (bench/gpu/quant.sh): weight-only int4 g128 and int8
# per-channel over the packed parts (inputs, so the GPU machine makes them
# with NumPy), and tiny_llama packed at load time.
cp "$root/bench/gpu/quant.sh" "$root/bench/gpu/quant_inputs.py" "$root/bench/gpu/quant_peers.py" .
for shape in 4096x4096 14336x4096 8192x8192 28672x8192; do
  n=${shape%x*}; k=${shape#*x}
  for bits in 4 8; do
    if [ $bits = 4 ]; then g=128; st=i4; qb=$((k / 64 * 512)); else g=$k; st=i8; qb=$((k / 32 * 512)); fi
    q="tensor<$((n / 16))x${qb}xi8>"; sc="tensor<${n}x$((k / g))xbf16>"; w="tensor<${n}x${k}xbf16>"
    cat > ql_i${bits}_$shape.mlir <<MLIR
func.func @f(%x: tensor<?x${k}xbf16>, %q: $q, %s: $sc) -> tensor<?x${n}xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<${n}x${k}x${st}, group_size = $g, scale = bf16, layout = mma>} : ($q, $sc) -> $w
  %y = kopt.linear %x, %w : (tensor<?x${k}xbf16>, $w) -> tensor<?x${n}xbf16>
  return %y : tensor<?x${n}xbf16>
}
MLIR
    $K/kopt ql_i${bits}_$shape.mlir -o ql_i${bits}_$shape.ptx
  done
done
for mode in int4 int8 fp8; do
  $K/kopt "$root/models/tiny_llama.mlir" --quantize=$mode -o tlq_$mode.ptx
done

# Runtime error paths (run.sh expects each bad call to fail with its message).
mkdir -p errors
for f in "$root"/bench/gpu/errors/*.mlir; do
  $K/kopt "$f" -o errors/$(basename "$f" .mlir).ptx
done
$K/kopt "$root/models/tiny_llama.mlir" -o tl.ptx
$K/kopt "$root/models/tiny_embed.mlir" -o te.ptx
$K/kopt-weights "$root/models/tiny_llama.mlir" --random --seed=1 -o tlw.safetensors
$K/kopt-weights "$root/models/tiny_embed.mlir" --random --seed=2 -o tew.safetensors
# A Python with NumPy (the Debian python3-numpy one when PATH's has none).
py=${PYTHON:-python3}
$py -c 'import numpy' 2>/dev/null || py=/usr/bin/python3
$py - <<'PY'
import numpy as np
rng = np.random.default_rng(0)
np.save('tl_ids.npy', rng.integers(0, 512, (1, 13)).astype(np.int32))
np.save('tl_pos.npy', np.arange(13, dtype=np.int32)[None, :])
np.save('te_ids.npy', rng.integers(0, 512, (3, 32)).astype(np.int32))
np.save('te_pos.npy', np.tile(np.arange(32, dtype=np.int32), (3, 1)))
np.save('te_len.npy', np.array([32, 17, 5], dtype=np.int32))
mask = np.zeros((3, 32, 1), np.float32)
for row, n in enumerate((32, 17, 5)):
    mask[row, :n] = 1
np.save('te_mask.npy', mask)
PY
$K/kopt-run tl.ptx --device=reference --weights=tlw.safetensors \
  --input=@tl_ids.npy --input=@tl_pos.npy --output=@tl_ref.npy
for mode in int4 int8 fp8; do
  $K/kopt-run tlq_$mode.ptx --device=reference --weights=tlw.safetensors \
    --input=@tl_ids.npy --input=@tl_pos.npy --output=@tlq_${mode}_ref.npy
done
# Calibrated int4 (compile-time packed): activation-aware input scales, and
# a 5-bit budget that mixes int4, int8 and f32 layers.
$K/kopt "$root/models/tiny_llama.mlir" --weights=tlw.safetensors --quantize=int4 \
  --calibration=@tl_ids.npy,@tl_pos.npy --quantize-awq -o tlc_awq.ptx 2>/dev/null
$K/kopt "$root/models/tiny_llama.mlir" --weights=tlw.safetensors --quantize=int4 \
  --calibration=@tl_ids.npy,@tl_pos.npy --quantize-budget=5 -o tlc_b5.ptx 2>/dev/null
# A GPTQ + AWQ int4 checkpoint imported at compile time (the lit test's
# model and data), checked on the GPU against the exact expected output.
$py "$root/test/e2e/Inputs/make_prequantized.py" pq.safetensors pq_x.npy pq_expected.npy
$K/kopt "$root/test/e2e/prequantized_import.mlir" --weights=pq.safetensors -o pq.ptx 2>/dev/null
for c in awq b5; do
  $K/kopt-run tlc_$c.ptx --device=reference --input=@tl_ids.npy --input=@tl_pos.npy \
    --output=@tlc_${c}_ref.npy
done
$K/kopt-run te.ptx --device=reference --weights=tew.safetensors \
  --input=@te_ids.npy --input=@te_pos.npy --input=@te_len.npy \
  --input=@te_mask.npy --output=@te_ref.npy
# tiny_llama over a KV cache: prefill (13 tokens into empty caches), then
# one decode step on the caches the prefill returned, both by the reference.
$py - <<'PY'
import numpy as np
np.save('tl_zero_cache.npy', np.zeros((1, 256, 2, 32), np.float32))
np.save('tl_next_id.npy', np.array([[7]], np.int32))
np.save('tl_next_pos.npy', np.array([[13]], np.int32))
PY
cache="--input=@tl_zero_cache.npy --input=@tl_zero_cache.npy --input=@tl_zero_cache.npy --input=@tl_zero_cache.npy"
$K/kopt-run tl.ptx --device=reference --weights=tlw.safetensors --function=forward_cached \
  --input=@tl_ids.npy --input=@tl_pos.npy --input=1xi32=0 --input=1xi32=13 $cache \
  --output=@tlp_logits.npy --output=@tlp_k0.npy --output=@tlp_v0.npy --output=@tlp_k1.npy --output=@tlp_v1.npy
$K/kopt-run tl.ptx --device=reference --weights=tlw.safetensors --function=forward_cached \
  --input=@tl_next_id.npy --input=@tl_next_pos.npy --input=1xi32=13 --input=1xi32=14 \
  --input=@tlp_k0.npy --input=@tlp_v0.npy --input=@tlp_k1.npy --input=@tlp_v1.npy \
  --output=@tld_logits.npy --output=@tld_k0.npy --output=@tld_v0.npy --output=@tld_k1.npy --output=@tld_v1.npy
