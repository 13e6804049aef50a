"""Writes a random safetensors checkpoint for every weight a kopt plan reads.

    python3 random_checkpoint.py MODEL.plan.json OUT.safetensors [--seed N]

For benchmarks of models too large to carry to the GPU machine: dense
weights are N(0, 0.02) (norm weights 1), packed parts of quantized weights
(`P.qweight`, `P.scales`, `P.zeros` in the plan, which kopt-run binds as they
are) are random codes with scales in [0.001, 0.01) and zero points that are
valid codes. Only NumPy is needed; bf16 is written by rounding f32 bits.
"""
import argparse
import json
import struct

import numpy as np

DTYPES = {  # plan dtype -> (safetensors dtype, numpy storage dtype)
    "f32": ("F32", np.float32),
    "f16": ("F16", np.float16),
    "bf16": ("BF16", np.uint16),
    "i8": ("I8", np.int8),
    "f8E4M3FN": ("F8_E4M3", np.uint8),
    "i32": ("I32", np.int32),
}


def bf16_bits(values):
    bits = values.astype(np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def tensor(weight, rng):
    shape, dtype = tuple(weight["shape"]), weight["dtype"]
    part = weight.get("quantized", {}).get("part")
    if part == "qweight" and dtype == "f8E4M3FN":
        # Every e4m3 bit pattern but the NaNs 0x7f and 0xff.
        codes = rng.integers(0, 254, shape)
        return (codes + (codes >= 0x7F)).astype(np.uint8)
    if part == "qweight":
        return rng.integers(-128, 128, shape, dtype=np.int8)
    if part == "zeros":
        storage = weight["quantized"].get("storage")
        high = 16 if storage == "i4" else 256
        return rng.integers(0, high, shape).astype(np.uint8).view(np.int8)
    if dtype == "i8":
        return rng.integers(-128, 128, shape, dtype=np.int8)
    if part == "scales":
        values = rng.uniform(0.001, 0.01, shape)
    elif "norm" in weight["name"]:
        values = np.ones(shape)
    else:
        values = rng.standard_normal(shape, dtype=np.float32) * 0.02
    if dtype == "bf16":
        return bf16_bits(values)
    return values.astype(DTYPES[dtype][1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("plan")
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    plan = json.load(open(args.plan))
    weights = {}
    for function in plan["functions"]:
        for weight in function.get("weights", []):
            weights.setdefault(weight["name"], weight)
    rng = np.random.default_rng(args.seed)
    header, blobs, offset = {}, [], 0
    for name in sorted(weights):
        weight = weights[name]
        if weight["dtype"] not in DTYPES:
            raise SystemExit(f"{name}: dtype {weight['dtype']} not supported")
        data = np.ascontiguousarray(tensor(weight, rng)).tobytes()
        header[name] = {"dtype": DTYPES[weight["dtype"]][0],
                        "shape": list(weight["shape"]),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(args.out, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for blob in blobs:
            out.write(blob)
    print(f"{args.out}: {len(weights)} tensors, {offset / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
