#!/usr/bin/env python3
"""Writes a GPTQ + AWQ int4 checkpoint for prequantized_import.mlir, an input
and the expected output (without NumPy, for lit tests).

    make_prequantized.py WEIGHTS X EXPECTED [--act-order | --bad-g-idx]

"mlp.up" is GPTQ (qweight [K/8, N] along K, zero points stored minus one,
group 64), "mlp.down" is AWQ (qweight [K, N/8], columns 0 2 4 6 1 3 5 7 per
word, group 32), "out.weight" is a float f16 weight. The expected output
follows the model with the dequantized weights (q - z) * s rounded to f16.
--act-order scatters each GPTQ group's columns over K (desc_act: g_idx a
shuffle of k / group, the expected output following it); --bad-g-idx
puts one column too many in group 0; --drop NAME leaves tensor NAME out.
"""

import argparse
import json
import random
import struct

AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]


def f16(x):
    return struct.unpack("<e", struct.pack("<e", x))[0]


def pack_words(values):
    """Eight 4-bit values per little-endian int32, value i at bits 4i."""
    words = []
    for i in range(0, len(values), 8):
        w = 0
        for j, v in enumerate(values[i:i + 8]):
            w |= (v & 15) << (4 * j)
        words.append(w)
    return struct.pack(f"<{len(words)}I", *words)


class Int4Weight:
    def __init__(self, rng, n, k, group, zero_lo, zero_hi):
        self.n, self.k, self.group = n, k, group
        g = k // group
        self.codes = [[rng.randrange(16) for _ in range(k)] for _ in range(n)]
        self.zeros = [[rng.randint(zero_lo, zero_hi) for _ in range(n)] for _ in range(g)]
        self.scales = [[f16(rng.uniform(0.005, 0.02)) for _ in range(n)] for _ in range(g)]
        self.g_idx = [c // group for c in range(k)]

    def dense(self):
        return [[f16((self.codes[r][c] - self.zeros[self.g_idx[c]][r]) *
                     self.scales[self.g_idx[c]][r]) for c in range(self.k)]
                for r in range(self.n)]

    def scale_bytes(self):
        return struct.pack(f"<{self.n * len(self.scales)}e",
                           *[s for row in self.scales for s in row])

    def gptq(self, prefix):
        qweight = pack_words([self.codes[r][c] for c8 in range(0, self.k, 8)
                              for r in range(self.n) for c in range(c8, c8 + 8)])
        qzeros = pack_words([z - 1 for row in self.zeros for z in row])
        g_idx = self.g_idx
        return {prefix + ".qweight": ("I32", [self.k // 8, self.n], qweight),
                prefix + ".qzeros": ("I32", [len(self.zeros), self.n // 8], qzeros),
                prefix + ".scales": ("F16", [len(self.scales), self.n], self.scale_bytes()),
                prefix + ".g_idx": ("I32", [self.k], struct.pack(f"<{self.k}i", *g_idx))}

    def awq(self, prefix):
        qweight = pack_words([self.codes[w8 + o][c] for c in range(self.k)
                              for w8 in range(0, self.n, 8) for o in AWQ_ORDER])
        qzeros = pack_words([row[w8 + o] for row in self.zeros
                             for w8 in range(0, self.n, 8) for o in AWQ_ORDER])
        return {prefix + ".qweight": ("I32", [self.k, self.n // 8], qweight),
                prefix + ".qzeros": ("I32", [len(self.zeros), self.n // 8], qzeros),
                prefix + ".scales": ("F16", [len(self.scales), self.n], self.scale_bytes())}


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_npy(path, rows, dtype="<f4", code="f"):
    shape = (len(rows), len(rows[0]))
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }" % (dtype, *shape)
    header += " " * (-(len(header) + 11) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack(f"<{shape[0] * shape[1]}{code}", *[v for r in rows for v in r]))


def linear(x, w):
    return [[f16(sum(a * b for a, b in zip(row, wr))) for wr in w] for row in x]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("weights")
    parser.add_argument("x")
    parser.add_argument("expected")
    parser.add_argument("--act-order", action="store_true")
    parser.add_argument("--bad-g-idx", action="store_true")
    parser.add_argument("--drop", default="")
    args = parser.parse_args()
    rng = random.Random(11)
    up = Int4Weight(rng, 64, 128, 64, 1, 16)
    down = Int4Weight(rng, 128, 64, 32, 0, 15)
    out = [[f16(rng.uniform(-0.1, 0.1)) for _ in range(128)] for _ in range(128)]
    tensors = {}
    if args.act_order:
        random.Random(5).shuffle(up.g_idx)
    if args.bad_g_idx:
        up.g_idx[-1] = 0
    tensors.update(up.gptq("mlp.up"))
    tensors.update(down.awq("mlp.down"))
    tensors["out.weight"] = ("F16", [128, 128],
                             struct.pack("<16384e", *[v for r in out for v in r]))
    tensors.pop(args.drop, None)
    write_safetensors(args.weights, tensors)
    x = [[f16(rng.uniform(-1, 1)) for _ in range(128)] for _ in range(3)]
    write_npy(args.x, x, "<f2", "e")
    y = linear(linear(linear(x, up.dense()), down.dense()), out)
    write_npy(args.expected, y, "<f2", "e")


if __name__ == "__main__":
    main()
