#!/usr/bin/env python3
"""Writes a .npy file of seeded random values without NumPy (for lit tests).

    make_npy.py OUT SHAPE DTYPE KIND [--seed N]
      SHAPE: 2x32 (or "" for a 0-d array); DTYPE: f32 | i32
      KIND:  uniform:LOW:HIGH | randint:LOW:HIGH | iota | fill:VALUE |
             prefix:LEN (1.0 for the first LEN entries of the last dim, else 0)
"""

import argparse
import random
import struct


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("shape")
    parser.add_argument("dtype", choices=["f32", "i32"])
    parser.add_argument("kind")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    shape = [int(d) for d in args.shape.split("x")] if args.shape else []
    count = 1
    for d in shape:
        count *= d
    last = shape[-1] if shape else 1
    rng = random.Random(args.seed)
    kind, *params = args.kind.split(":")
    values = []
    for i in range(count):
        if kind == "uniform":
            values.append(rng.uniform(float(params[0]), float(params[1])))
        elif kind == "randint":
            values.append(rng.randrange(int(params[0]), int(params[1])))
        elif kind == "iota":
            values.append(i % last)
        elif kind == "fill":
            values.append(float(params[0]))
        elif kind == "prefix":
            # For [B, S, 1] masks the "last dim" is S: use the second-to-last.
            length = int(params[0])
            s = shape[-2] if len(shape) >= 2 and last == 1 else last
            position = (i // (last if last > 1 else 1)) % s
            values.append(1.0 if position < length else 0.0)
        else:
            parser.error("unknown kind " + kind)
    descr = "<f4" if args.dtype == "f32" else "<i4"
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    fmt = "<%d%s" % (count, "f" if args.dtype == "f32" else "i")
    data = struct.pack(fmt, *[float(v) if args.dtype == "f32" else int(v) for v in values])
    with open(args.out, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)


if __name__ == "__main__":
    main()
