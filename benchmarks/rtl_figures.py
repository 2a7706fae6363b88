"""Figures for docs/performance.md "## RTL unit" and "## RTL range unit": cycles
per query, latency, simulation speed and synthesis results of the RTL search
(or, with ``--kernel range``, range) unit.

    .venv/bin/python benchmarks/rtl_figures.py                # P = 4, 8, 16, both FPGAs
    .venv/bin/python benchmarks/rtl_figures.py --no-synth     # simulation figures only
    .venv/bin/python benchmarks/rtl_figures.py --kernel range # the range unit (radius: 5% of the rows)

For each lane count P: 8-bit l1, D = 16 (defaults), N = 1,000 random rows,
a few queries in one simulation.  Cycles per query are measured in
simulation (query load to last result) and checked against the model
⌈D/P⌉·(N+1) + latency + k − 1 (range: ⌈D/P⌉·(N+1) + latency, the latency
to the count beat); every answer is checked against the NumPy reference.  Synthesis runs YoWASP Yosys + nextpnr (needs `make synth-deps`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rtl.synth import build_unit, synthesize, tools_available  # noqa: E402
from rtl.range import range_latency  # noqa: E402
from sim.rtl_sim import (rtl_cycles_per_query, rtl_latency, rtl_range_cycles_per_query,  # noqa: E402
                         simulate_range, simulate_search)
from torus_hw.reference import range_search, scan, search  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lanes", type=int, nargs="+", default=[4, 8, 16])
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--dims", type=int, default=16)
    ap.add_argument("--metric", default="l1")
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--kernel", choices=("search", "range"), default="search")
    ap.add_argument("--radius", type=int, default=None,
                    help="range radius (default: the 5th percentile of the query-row distances)")
    ap.add_argument("--cap", type=int, default=None, help="range cap (default: every match)")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=5)
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--targets", nargs="+", default=["ice40", "ecp5"])
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(2026)
    db = rng.integers(0, 1 << args.bits, (args.rows, args.dims))
    qs = rng.integers(0, 1 << args.bits, (args.queries, args.dims))
    ref_idx, ref_dist = search(qs, db, bits=args.bits, metric=args.metric, k=args.k)
    dists = np.stack([scan(q, db, bits=args.bits, metric=args.metric) for q in qs])
    radius = int(np.percentile(dists, 5)) if args.radius is None else args.radius
    synth_on = not args.no_synth
    if synth_on and not tools_available():
        print("YoWASP tools missing (make synth-deps): synthesis skipped", file=sys.stderr)
        synth_on = False

    figures = []
    for lanes in args.lanes:
        t0 = time.perf_counter()
        spec = dict(lanes=lanes, bits=args.bits, dims=args.dims, metric=args.metric)
        if args.kernel == "search":
            results, stats = simulate_search(db, qs, bits=args.bits, metric=args.metric, k=args.k, lanes=lanes)
            exact = ([r.indices for r in results] == ref_idx.tolist()
                     and [r.distances for r in results] == ref_dist.tolist())
            model = rtl_cycles_per_query(args.rows, k=args.k, **spec)
            latency = rtl_latency(**spec)
        else:
            results, stats = simulate_range(db, qs, bits=args.bits, metric=args.metric, radius=radius,
                                            cap=args.cap, lanes=lanes)
            want = [range_search(q, db, bits=args.bits, metric=args.metric, radius=radius) for q in qs]
            exact = all(r.count == len(w) and r.indices.tolist() == w[:args.cap].tolist()
                        and r.distances.tolist() == d[w[:args.cap]].tolist()
                        for r, w, d in zip(results, want, dists))
            model = rtl_range_cycles_per_query(args.rows, **spec)
            latency = range_latency(lanes, args.bits, args.metric)
        wall = time.perf_counter() - t0
        cycles = sorted({r.cycles for r in results})
        beats = -(-args.dims // lanes)
        row_cycles = [(last - first + 1) / args.rows for first, last in zip(stats.first_beat, stats.last_beat)]
        fig = {
            "kernel": args.kernel, "lanes": lanes, "bits": args.bits, "dims": args.dims, "metric": args.metric,
            "k": args.k, "radius": radius if args.kernel == "range" else None,
            "matches": [r.count for r in results] if args.kernel == "range" else None, "rows": args.rows, "queries": args.queries, "exact": exact,
            "cycles_per_query": cycles, "model_cycles_per_query": model,
            "cycles_per_row": sorted(set(row_cycles)), "beats_per_row": beats,
            "latency_cycles": latency,
            "sim_cycles": stats.total_cycles, "sim_seconds": round(stats.wall_seconds, 3),
            "sim_cycles_per_second": round(stats.cycles_per_second),
            "sim_cycles_per_cpu_second": round(stats.cycles_per_cpu_second),
            "sim_wall_seconds_incl_build": round(wall, 3),
            "synth": {},
        }
        print(f"P={lanes}: exact={exact} cycles/query={cycles} (model {model}) cycles/row={fig['cycles_per_row']} "
              f"latency={fig['latency_cycles']} sim {fig['sim_cycles_per_second']} cycles/s wall, "
              f"{fig['sim_cycles_per_cpu_second']} cycles/CPU-s", flush=True)
        if synth_on:
            for target in args.targets:
                with tempfile.TemporaryDirectory(prefix=f"rtl-{target}-") as work:
                    t1 = time.perf_counter()
                    unit = build_unit(lanes, args.bits, args.dims, args.metric, k=args.k, kernel=args.kernel)
                    rep = synthesize(unit, target, work).as_dict()
                    rep["seconds"] = round(time.perf_counter() - t1, 1)
                fig["synth"][target] = rep
                print(f"  {rep['device']}: LUT4 {rep['lut4']} (total {rep['lut4_total']}, "
                      f"{rep['lut4_per_lane']}/lane) carry {rep['carry']} FF {rep['ff']} BRAM {rep['bram']} "
                      f"fmax {rep['fmax_mhz']} MHz ({rep['seconds']} s)", flush=True)
        figures.append(fig)

    print()
    print("| P | cycles/query (N=%d) | cycles/row | latency | sim cycles/s (wall / CPU) |" % args.rows
          + "".join(f" {t} LUT4 (/lane) | {t} FF | {t} fmax MHz | {t} µs/query |" for t in args.targets if synth_on))
    print("|---|---|---|---|---|" + "---|---|---|---|" * (len(args.targets) if synth_on else 0))
    for f in figures:
        line = (f"| {f['lanes']} | {'/'.join(map(str, f['cycles_per_query']))} | "
                f"{'/'.join(f'{c:g}' for c in f['cycles_per_row'])} | {f['latency_cycles']} | "
                f"{f['sim_cycles_per_second']:,} / {f['sim_cycles_per_cpu_second']:,} |")
        for t in (args.targets if synth_on else []):
            r = f["synth"][t]
            us = f["cycles_per_query"][-1] / r["fmax_mhz"] if r["fmax_mhz"] else float("nan")
            line += f" {r['lut4_total']} ({r['lut4_per_lane']:g}) | {r['ff']} | {r['fmax_mhz']:.1f} | {us:.1f} |"
        print(line)
    print(f"\nload average while running: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0 if all(f["exact"] for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
