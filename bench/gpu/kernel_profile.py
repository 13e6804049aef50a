"""Summaries for bench/gpu/tune.sh (standard library only).

    python3 kernel_profile.py tunelog LOG.csv   # default vs best per tuned kernel
    python3 kernel_profile.py ncu PROFILE.csv   # one call's kernels by time

`tunelog` reads kopt-run's --tune_log (variant 0 is the heuristic default)
and prints, per kernel and shape bucket, the default's and the best
variant's median and their ratio. `ncu` reads `ncu --csv --metrics
gpu__time_duration.sum` output and prints the kernel families (names with
their trailing numbers removed) by total time, with counts.
"""
import collections
import csv
import re
import sys


def tunelog(path):
    groups = collections.OrderedDict()
    for row in csv.DictReader(open(path)):
        key = (row["function"], row["kernel"], row["bucket"])
        groups.setdefault(key, []).append(row)
    worst = 1.0
    total_default = total_best = 0.0
    for (function, kernel, bucket), rows in groups.items():
        timed = [r for r in rows if float(r["median_us"]) >= 0 and not r["failure"]]
        default = [r for r in rows if r["variant_index"] == "0"]
        if not timed or not default or float(default[0]["median_us"]) < 0:
            print(f"{kernel} ({bucket}): no usable default/variants")
            continue
        d = float(default[0]["median_us"])
        best = min(timed, key=lambda r: float(r["median_us"]))
        b = float(best["median_us"])
        worst = max(worst, d / b)
        total_default += d
        total_best += b
        failed = [r for r in rows if r["failure"]]
        print(f"{kernel} ({bucket}): default {d:.1f} us, best {b:.1f} us "
              f"[{best['variant']}], default/best {d / b:.3f}"
              + (f", {len(failed)} rejected" if failed else ""))
    if total_best:
        print(f"tunelog {path}: {len(groups)} groups, worst default/best "
              f"{worst:.3f}, summed default/best {total_default / total_best:.3f}")


def ncu(path):
    lines = open(path).read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith('"ID"'))
    families = collections.defaultdict(lambda: [0.0, 0])
    total = 0.0
    for row in csv.DictReader(lines[start:]):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        ns = float(row["Metric Value"].replace(",", ""))
        unit = row.get("Metric Unit", "ns")
        ns *= {"ns": 1, "nsecond": 1, "us": 1e3, "usecond": 1e3, "ms": 1e6,
               "msecond": 1e6}.get(unit, 1)
        name = re.sub(r"[_0-9]+$", "", row["Kernel Name"].split("(")[0])
        families[name][0] += ns
        families[name][1] += 1
        total += ns
    print(f"ncu {path}: {sum(c for _, c in families.values())} kernels, "
          f"{total / 1e3:.1f} us summed")
    for name, (ns, count) in sorted(families.items(), key=lambda kv: -kv[1][0])[:30]:
        print(f"  {ns / 1e3:9.1f} us {100 * ns / total:5.1f}%  x{count:<4d} "
              f"{ns / 1e3 / count:7.2f} us each  {name}")


if __name__ == "__main__":
    {"tunelog": tunelog, "ncu": ncu}[sys.argv[1]](sys.argv[2])
