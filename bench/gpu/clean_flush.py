"""Times GPU work the way kopt-run --benchmark does (runtime/src/cuda/L2Flush.h):
before each timed call, L2 is flushed by *reading* a 256 MiB buffer, so it
holds clean lines. triton's do_bench flushes with a memset, which leaves L2
dirty: the timed kernel then also pays for writing those lines back.

    python3 clean_flush.py SCRIPT [ARGS]   # runs SCRIPT with do_bench replaced
    from clean_flush import bench          # or call it directly
"""
import runpy, sys
import torch

_cache = None


def bench(fn, warmup=25, rep=100, return_mode="median", **_):
    """Milliseconds of `fn` (median, or mean/min/max), do_bench's signature.

    do_bench's `rep` is a time budget in ms; here it sets the number of
    timed calls, rep // 2 (at least 20), each after a 256 MiB read flush
    (~70 us), so a call stays cheap whatever `fn` costs. `warmup` is
    accepted and ignored: three untimed calls warm up.
    """
    global _cache
    if _cache is None:
        _cache = torch.zeros((256 << 20) // 4, dtype=torch.int32, device="cuda")
    for _ in range(3):
        fn()
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(max(rep // 2, 20)):
        _cache.sum()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    if return_mode == "min":
        return times[0]
    if return_mode == "max":
        return times[-1]
    if return_mode == "mean":
        return sum(times) / len(times)
    return times[len(times) // 2]


if __name__ == "__main__":
    import triton.testing
    triton.testing.do_bench = bench
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
