"""Checks a `kopt --quantize-report` JSON file: its shape, its bits within a
budget, and (given kopt-run's output on the same single sample) that its
whole-model cosine and relative L2 are what the compiled model computes."""
import argparse
import json
import re
import sys

parser = argparse.ArgumentParser()
parser.add_argument("report")
parser.add_argument("run_output", nargs="?")
parser.add_argument("--layers", type=int)
parser.add_argument("--positions", type=int)
parser.add_argument("--max-bits", type=float)
args = parser.parse_args()

with open(args.report) as f:
    report = json.load(f)
model = report["model"][0]
assert 0 < model["cosine"] <= 1, model
assert 0 <= model["rel_l2"] < 1, model
assert 0 <= model["top1_agreement"] <= 1, model
for layer in report["layers"]:
    assert layer["bits"] > 0 and layer["encoding"], layer
    if layer["calibrated"]:
        assert 0 <= layer["layer_rel_l2"] < 1, layer
if args.layers is not None:
    assert len(report["layers"]) == args.layers, len(report["layers"])
if args.positions is not None:
    assert model["positions"] == args.positions, model
if args.max_bits is not None:
    assert report["bits_per_weight"] <= args.max_bits, report["bits_per_weight"]
    assert report["budget_bits"] == args.max_bits, report
if args.run_output:
    text = open(args.run_output).read()
    found = re.search(r"cosine ([0-9.]+), rel L2 ([0-9.]+)", text)
    assert found, text
    cosine, rel = float(found.group(1)), float(found.group(2))
    # The reference evaluator and the compiled model differ by rounding.
    assert abs(cosine - model["cosine"]) < 1e-4, (cosine, model)
    assert abs(rel - model["rel_l2"]) < 2e-3, (rel, model)
print("report agrees with the compiled model")
