"""Cycles per query of the default search kernel on every core, under chosen memory systems.

The demo-like spec: 8-bit l1 top-1 over N = 1,442 random rows of D = 16
(the digits demo's database shape), the generator's default variant, a few
seeded queries; every answer is checked against the reference.  One column
per ``--wait-states`` setting (default: zero and every preset); a core whose
model does not price wait states shows its zero-wait figure in every column.

    .venv/bin/python benchmarks/core_models.py [--rows 1442] [--dims 16] [--queries 3] [--wait-states zero code=1,data=1 …]
"""

from __future__ import annotations

import argparse

import numpy as np

from isa.build import build_kernel
from isa.spec import KernelSpec
from isa.targets import TARGETS
from sim.cycles import cores_for, supports_wait_states
from sim.cycles.presets import PRESETS, parse_wait_states
from sim.search_run import run_search


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1442)
    ap.add_argument("--dims", type=int, default=16)
    ap.add_argument("--queries", type=int, default=3)
    ap.add_argument("--targets", nargs="+", default=list(TARGETS))
    ap.add_argument("--wait-states", nargs="+", default=list(PRESETS), metavar="SPEC")
    args = ap.parse_args()
    settings = [(text, parse_wait_states(text)) for text in args.wait_states]
    rng = np.random.default_rng(0)
    db = rng.integers(0, 256, (args.rows, args.dims)).astype(np.uint8)
    qs = rng.integers(0, 256, (args.queries, args.dims)).astype(np.uint8)
    spec = KernelSpec("search", "l1", 8, args.dims, 1)
    print(f"8-bit l1 top-1, N={args.rows}, D={args.dims}, mean of {args.queries} queries; cycles/query")
    print("| target | core | variant | instructions | " + " | ".join(text for text, _ in settings) + " |")
    print("|---|---|---|---|" + "---|" * len(settings))
    for name in args.targets:
        target = TARGETS[name]
        built = build_kernel(target, spec)
        for core in cores_for(name):
            cells, instructions = [], None
            for _, ws in settings:
                if ws and not supports_wait_states(core):
                    cells.append("(zero)")
                    continue
                run = run_search(name, db, qs, bits=8, metric="l1", k=1, core=core, built=built, wait_states=ws)
                if run.mismatches:
                    raise SystemExit(f"{name}/{core}: {run.first_mismatch()}")
                instructions = run.mean("instructions")
                cells.append(f"{run.mean('cycles'):,.0f}")
            print(f"| {name} | {core} | {built.kernel.variant} | {instructions:,.0f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
