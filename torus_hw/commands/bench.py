"""``torus-hw bench``: cost per query on every core, against each target's baseline."""

from __future__ import annotations

from ..console import console as stdout_console

import json


def register(sub) -> None:
    p = sub.add_parser("bench", help="instructions and cycles per query on every core vs its baseline",
                       description="For each target and core: code bytes, instructions and cycles per query, "
                                   "cycles per row·dim and the ratio to the baseline (clang -O2/-O3, or the 8086 "
                                   "byte loop), for an 8-bit l1 top-1 search over N rows.")
    p.add_argument("--targets", nargs="+", default=None, metavar="T", help="targets (default: all)")
    p.add_argument("--dims", nargs="+", type=int, default=[8, 16, 32, 64], metavar="D")
    p.add_argument("--rows", type=int, default=1000, help="database rows N (default 1000)")
    p.add_argument("--queries", type=int, default=3, help="queries averaged per cell (default 3)")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="write the cycles-per-query plot here")
    p.add_argument("--json", action="store_true")
    from sim.cycles.presets import add_wait_states_option
    add_wait_states_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from sim.bench import bench, plot
    from sim.cycles.presets import parse_wait_states

    from ..output import atomic_write, check_output_file

    wait_states = parse_wait_states(args.wait_states)
    from ..option_limits import check_bench_options

    check_bench_options(args.rows, args.queries, args.dims)  # before building a database of that size
    if args.plot:
        check_output_file(args.plot)  # a bad --plot is refused before the bench, not after it
    console = Console(stderr=True)
    from isa.targets import TARGETS

    total = len(args.targets or TARGETS) * len(args.dims)
    with Progress(console=console, transient=True, disable=args.json or not console.is_terminal) as bar:
        task = bar.add_task("bench", total=total)
        rows = bench(args.targets, args.dims, rows=args.rows, queries=args.queries,
                     progress=lambda: bar.advance(task), wait_states=wait_states)
    if args.plot:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            plot(rows, Path(tmp) / "plot.png")
            data = (Path(tmp) / "plot.png").read_bytes()
        atomic_write(args.plot, lambda fh: fh.write(data))
    if args.json:
        print(json.dumps([r.to_json() for r in rows]))
        return 1 if any(r.mismatches for r in rows) else 0
    table = Table(title=f"8-bit l1 top-1 search over {args.rows} rows (cycles from each core's model)")
    for col in ("target", "core", "D", "variant", "code B", "instr/query", "cycles/query", "cyc/row·dim",
                "baseline", "base cycles", "ratio", "goal"):
        table.add_column(col, justify="left" if col in ("target", "core", "variant", "baseline") else "right")
    for r in rows:
        met = "" if r.goal is None else (f"≥{r.goal:g}× ✓" if r.ratio >= r.goal else f"≥{r.goal:g}× ✗")
        table.add_row(r.target, r.core, str(r.dims), r.variant, str(r.code_bytes), f"{r.instructions:,.0f}",
                      f"{r.cycles:,.0f}", f"{r.cycles_per_row_dim:.2f}", r.baseline, f"{r.baseline_cycles:,.0f}",
                      f"{r.ratio:.2f}×", met)
    stdout_console().print(table)
    bad = [r for r in rows if r.mismatches]
    if bad:
        print(f"torus-hw: mismatch: {bad[0].target} D={bad[0].dims} disagreed with the reference")
        return 1
    return 0
