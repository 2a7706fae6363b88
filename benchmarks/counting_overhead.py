"""What counting costs: the same query uncounted, counted, and priced, side by side.

For each target, one 8-bit l1 top-1 search over N rows in three harness
modes: no hook; instruction counting (the block hook and the cached,
capstone-decoded block table); and instructions plus every core's cycles
(which on the 8086 adds a memory hook for odd-address and 8-bit-bus word
penalties).  The modes are interleaved round by round and each keeps its
fastest round, so load from other processes hits all three alike.  The cost
issue's goal: a counted run at most 3x an uncounted one.  The last column is
the counting rate: executed instructions counted and priced per second.

    .venv/bin/python benchmarks/counting_overhead.py [--rows 1000] [--dims 16] [--rounds 15]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from isa.build import build_kernel
from isa.spec import KernelSpec
from isa.targets import TARGETS
from sim.cycles import cores_for
from sim.runner import KernelRunner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--dims", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--targets", nargs="+", default=list(TARGETS))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    db = rng.integers(0, 256, (args.rows, args.dims)).astype(np.uint8)
    q = rng.integers(0, 256, args.dims).astype(np.uint8)
    print(f"8-bit l1 top-1, N={args.rows}, D={args.dims}, fastest of {args.rounds} interleaved rounds")
    print(f"{'target':10s} {'uncounted ms':>13s} {'counted ms':>11s} {'ratio':>6s} {'+cycles ms':>11s} "
          f"{'ratio':>6s} {'instructions':>13s} {'priced instr/s':>15s}  cores")
    for name in args.targets:
        built = build_kernel(name, KernelSpec("search", "l1", 8, args.dims, 1))
        modes = {"none": KernelRunner(built, count=False),
                 "instructions": KernelRunner(built, count=True, cores=()),
                 "cycles": KernelRunner(built, count=True)}
        best = {}
        for runner in modes.values():
            runner.load_database(db)
            runner.call(q, k=1)  # warm the translation cache and the block tables
        for _ in range(args.rounds):
            for mode, runner in modes.items():
                start = time.perf_counter()
                runner.call(q, k=1)
                best[mode] = min(best.get(mode, float("inf")), time.perf_counter() - start)
        ins = modes["instructions"].call(q, k=1).instructions
        base = best["none"]
        print(f"{name:10s} {base * 1e3:13.2f} {best['instructions'] * 1e3:11.2f} {best['instructions'] / base:6.2f} "
              f"{best['cycles'] * 1e3:11.2f} {best['cycles'] / base:6.2f} {ins:13,d} {ins / best['cycles']:15,.0f}  "
              f"{','.join(cores_for(name))}")


if __name__ == "__main__":
    main()
