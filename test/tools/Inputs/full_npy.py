#!/usr/bin/env python3
"""Writes a .npy of one repeated byte, without NumPy (not installed on
every test machine).

    full_npy.py PATH DESCR ROWS COLS BYTE     (DESCR: |u1 or |i1)
"""

import sys

path, descr, rows, cols, value = sys.argv[1:]
rows, cols = int(rows), int(cols)
header = "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }" % (descr, rows, cols)
header += " " * (-(len(header) + 11) % 64) + "\n"
with open(path, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
    f.write(bytes([int(value, 0)]) * (rows * cols))
