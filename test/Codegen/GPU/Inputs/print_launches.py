"""Prints one line per launch of a plan: function, kernel, its token guard
(lo..hi, lo.. when unbounded, - when none) and its arguments (buffer ids
and index expressions), comma-separated.

usage: print_launches.py PLAN
"""
import json
import sys

with open(sys.argv[1]) as f:
    plan = json.load(f)
for fn in plan["functions"]:
    for launch in fn["launches"]:
        guard = launch.get("guard")
        if guard is None:
            span = "-"
        elif guard["max"] >= 2**63 - 1:
            span = f"{guard['min']}.."
        else:
            span = f"{guard['min']}..{guard['max']}"
        args = ",".join(str(a.get("buffer", a.get("i64"))) for a in launch["args"])
        print(fn["name"], launch["kernel"], f"guard={span}", f"args={args}")
