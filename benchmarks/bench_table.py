"""The bench table of docs/performance.md: every core × D × k against the best baselines and the bound.

Runs ``sim.bench.bench`` (what ``torus-hw bench`` runs) one target at a time,
keeping every row in a JSON file as it goes (a long run that is stopped keeps
the targets it finished), then prints the Markdown tables of
docs/performance.md and writes the per-core plot.  ``--from FILE.json``
renders a previous run (also ``torus-hw bench --json`` output) without
measuring again.

    .venv/bin/python benchmarks/bench_table.py --compilers clang,gcc --json bench.json --plot docs/bench-baselines.png
    .venv/bin/python benchmarks/bench_table.py --from bench.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from baselines.build import check_compilers, installed_compilers
from isa.targets import TARGETS
from sim.bench import (DEFAULT_DIMS, DEFAULT_KS, GOAL_BOUND, GOAL_BOUND_MIN_DIMS, GOAL_INTRINSICS,
                       GOAL_INTRINSICS_DIMS, BenchRow, bench, failures, plot)


def _name(b: dict) -> str:
    if b["compiler"] == "generator":   # the 8086's baselines are generator variants
        return f"{b['source']} (generator)"
    return " ".join(x for x in (b["source"], b["compiler"], b["flags"]) if x)


def markdown(rows: list[BenchRow]) -> str:
    out = ["| core | D | k | cycles/query | cycles/(row·dim) | best baseline | baseline cycles | × best "
           "| × naive C | bound cycles/(row·dim) | achieved ÷ bound |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b = r.best_baseline
        mark = "" if r.ratio_best >= 1.0 else " ✗"
        bmark = " ✗" if r.dims >= GOAL_BOUND_MIN_DIMS and r.achieved_over_bound > GOAL_BOUND else ""
        out.append(f"| {r.core} | {r.dims} | {r.k} | {r.cycles:,.0f} | {r.cycles_per_row_dim:.3f} | {_name(b)} "
                   f"| {b['cycles']:,.0f} | {r.ratio_best:.2f}×{mark} | {r.ratio_naive:.2f}× "
                   f"| {r.bound_cycles_per_row_dim:.3f} | {r.achieved_over_bound:.2f}{bmark} |")
    return "\n".join(out)


def goals(rows: list[BenchRow]) -> str:
    """One line per goal of issue 12: met, or the rows that miss it."""
    lines = []
    miss = [r for r in rows if r.ratio_best < 1.0]
    lines.append(f"- ≥ 1.0× the best baseline on every core, D and k: "
                 + ("met" if not miss else "missed at " + ", ".join(
                     f"{r.core} D={r.dims} k={r.k} ({r.ratio_best:.2f}×)" for r in miss)))
    for core, goal in GOAL_INTRINSICS.items():
        these = [r for r in rows if r.core == core and r.dims in GOAL_INTRINSICS_DIMS and r.ratio_intrinsics]
        if these:
            worst = min(these, key=lambda r: r.ratio_intrinsics)
            lines.append(f"- {core} ≥ {goal}× over intrinsics C at D ∈ {set(GOAL_INTRINSICS_DIMS)}: "
                         f"{'met' if worst.ratio_intrinsics >= goal else 'missed'} (lowest "
                         f"{worst.ratio_intrinsics:.2f}× at D={worst.dims} k={worst.k})")
    for core in dict.fromkeys(r.core for r in rows):
        these = [r for r in rows if r.core == core and r.dims >= GOAL_BOUND_MIN_DIMS]
        if these:
            worst = max(these, key=lambda r: r.achieved_over_bound)
            lines.append(f"- {core} ≤ {GOAL_BOUND}× its bound at D ≥ {GOAL_BOUND_MIN_DIMS}: "
                         f"{'met' if worst.achieved_over_bound <= GOAL_BOUND else 'missed'} (worst "
                         f"{worst.achieved_over_bound:.2f} at D={worst.dims} k={worst.k})")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=list(TARGETS))
    ap.add_argument("--dims", nargs="+", type=int, default=list(DEFAULT_DIMS))
    ap.add_argument("--k", nargs="+", type=int, default=list(DEFAULT_KS), dest="ks")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=3)
    ap.add_argument("--compilers", default=",".join(installed_compilers()),
                    help="comma-separated (default: every compiler installed here)")
    ap.add_argument("--json", default="bench.json", help="rows are kept here as each target finishes")
    ap.add_argument("--plot", default=None, help="the per-core PNG (e.g. docs/bench-baselines.png)")
    ap.add_argument("--from", dest="source", default=None, help="render this JSON instead of measuring")
    args = ap.parse_args()
    if args.source:
        rows = [BenchRow(**r) for r in json.loads(Path(args.source).read_text())]
    else:
        compilers = check_compilers(args.compilers.split(","), args.targets)
        rows = []
        for t in args.targets:
            rows += bench([t], args.dims, args.ks, rows=args.rows, queries=args.queries, compilers=compilers)
            Path(args.json).write_text(json.dumps([r.to_json() for r in rows]))
            print(f"{t}: done", file=sys.stderr)
    if args.plot:
        plot(rows, args.plot)
    print(f"compilers: {', '.join(rows[0].compilers)}; N = {rows[0].rows} rows\n")
    print(markdown(rows))
    print()
    print(goals(rows))
    bad = failures(rows)
    for line in bad:
        print(f"mismatch: {line}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
