"""The 8086/8088 cost per query under both models: the bus-unit model (cores i8086/i8088) and the published tables.

For the default kernel (8-bit l1 top-1 search over N random rows) and the
byte-loop baseline, cycles per query on the queue-accurate cores and on the
``-datasheet`` cores, and the kernel's speed-up over the byte loop on each.

    .venv/bin/python benchmarks/i8086_models.py [--rows 1000] [--dims 8 16 32 64] [--queries 3]
"""

from __future__ import annotations

import argparse

import numpy as np

from isa.build import build_kernel
from isa.spec import KernelSpec
from sim.search_run import run_search

CORES = ("i8086", "i8086-datasheet", "i8088", "i8088-datasheet")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--dims", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--queries", type=int, default=3)
    args = ap.parse_args()
    print(f"8-bit l1 top-1, N={args.rows}, {args.queries} queries per cell")
    print(f"{'D':>3s} {'core':16s} {'kernel cycles':>14s} {'byte loop':>12s} {'speed-up':>9s} {'kernel/datasheet':>17s}")
    for d in args.dims:
        spec = KernelSpec("search", "l1", 8, d, 1)
        rng = np.random.default_rng(d)
        db = rng.integers(0, 256, (args.rows, d)).astype(np.uint8)
        qs = rng.integers(0, 256, (args.queries, d)).astype(np.uint8)
        built = {"kernel": build_kernel("i8086", spec), "byte loop": build_kernel("i8086", spec, variant="baseline")}
        cycles = {}
        for core in CORES:
            for name, b in built.items():
                result = run_search("i8086", db, qs, bits=8, metric="l1", k=1, core=core, built=b)
                assert result.mismatches == 0
                cycles[core, name] = result.mean("cycles")
        for core in CORES:
            kernel, loop = cycles[core, "kernel"], cycles[core, "byte loop"]
            sheet = cycles[core.split("-")[0] + "-datasheet", "kernel"]
            print(f"{d:3d} {core:16s} {kernel:14,.0f} {loop:12,.0f} {loop / kernel:8.2f}× {kernel / sheet:16.2f}×")


if __name__ == "__main__":
    main()
