"""Prints how many kernels a plan function launches when each of its
dynamic dims is `tokens`: every launch whose token-count guard admits that
many (a guard this script cannot evaluate counts as launched).

usage: count_launches.py PLAN FUNCTION TOKENS
"""
import json
import re
import sys


def evaluate(expr, value):
    """An affine expression of the plan (s0 * 2, s1 ceildiv 64, ...) with
    every symbol set to `value`; None when it has other forms."""
    if isinstance(expr, int):
        return expr
    text = re.sub(r"\bs[0-9]+\b", str(value), expr)
    text = text.replace("floordiv", "//").replace("mod", "%")
    if "ceildiv" in text or not re.fullmatch(r"[0-9+*%/() -]+", text):
        return None
    return eval(text)  # digits and operators only


plan_path, function, tokens = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(plan_path) as f:
    plan = json.load(f)
fn = next(f for f in plan["functions"] if f["name"] == function)
count = 0
for launch in fn["launches"]:
    guard = launch.get("guard")
    if guard is not None:
        value = evaluate(guard["value"], tokens)
        if value is not None and not guard["min"] <= value <= guard["max"]:
            continue
    count += 1
print(f"{function}: {count} kernels at {tokens} tokens")
