"""``torus-hw bench``: cost per query on every core, against the best baselines and each core's bound."""

from __future__ import annotations

import json

from ..console import console as stdout_console


def register(sub) -> None:
    p = sub.add_parser("bench", help="cycles per query on every core vs the best C baselines and the core's bound",
                       description="For each target, core, D and k: the generated kernel's cycles per query and "
                                   "per row·dim, the best baseline (plain/SWAR/intrinsics C by each compiler at "
                                   "-O2/-O3/-Os, or the 8086 byte loop and simple variant) and the ratio to it, "
                                   "the ratio to the naive C (plain C, clang -O2), and the core's lower bound "
                                   "with achieved ÷ bound, for an 8-bit l1 top-k search over N random rows.  "
                                   "Exit 1 when any kernel or baseline disagrees with the reference.")
    p.add_argument("--targets", nargs="+", default=None, metavar="T", help="targets (default: all six)")
    p.add_argument("--dims", nargs="+", type=int, default=[8, 16, 32, 64], metavar="D")
    p.add_argument("--k", nargs="+", type=int, default=[1, 5, 16], metavar="K", dest="ks",
                   help="top-k sizes (default: 1 5 16)")
    p.add_argument("--rows", type=int, default=1000, help="database rows N (default 1000)")
    p.add_argument("--queries", type=int, default=3, help="queries averaged per cell (default 3)")
    p.add_argument("--compilers", default="clang", metavar="LIST",
                   help="comma-separated compilers for the C baselines: clang (ziglang, always present), "
                        "gcc (Debian cross GCC; default: clang)")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="write the per-core plot here")
    p.add_argument("--json", action="store_true", help="every field of every row, every baseline measured")
    from sim.cycles.presets import add_wait_states_option
    add_wait_states_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from baselines.build import check_compilers
    from isa.targets import TARGETS, get_target
    from sim.bench import bench, failures, plot
    from sim.cycles.presets import parse_wait_states

    from ..option_limits import check_bench_options
    from ..output import atomic_write, check_output_file

    check_bench_options(args.rows, args.queries, args.dims)  # before building a database of that size
    wait_states = parse_wait_states(args.wait_states)
    compilers = [c.strip() for c in args.compilers.split(",") if c.strip()]
    targets = args.targets or list(TARGETS)
    for t in targets:
        get_target(t)
    check_compilers(compilers, targets)   # an unknown or missing compiler is refused before any build
    if args.plot:
        check_output_file(args.plot)  # a bad --plot is refused before the bench, not after it
    console = Console(stderr=True)
    total = len(targets) * len(args.dims) * len(args.ks)
    with Progress(console=console, transient=True, disable=args.json or not console.is_terminal) as bar:
        task = bar.add_task("bench", total=total)
        rows = bench(targets, args.dims, args.ks, rows=args.rows, queries=args.queries, compilers=compilers,
                     progress=lambda: bar.advance(task), wait_states=wait_states)
    if args.plot:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            plot(rows, Path(tmp) / "plot.png")
            data = (Path(tmp) / "plot.png").read_bytes()
        atomic_write(args.plot, lambda fh: fh.write(data))
    bad = failures(rows)
    if args.json:
        print(json.dumps([r.to_json() for r in rows]))
    else:
        table = Table(title=f"8-bit l1 top-k search over {args.rows} rows (cycles from each core's model; "
                            f"compilers: {', '.join(compilers)})")
        for col in ("core", "D", "k", "cycles/query", "cyc/row·dim", "best baseline", "base cycles", "× best",
                    "× naive", "bound cyc/row·dim", "÷ bound", "goals"):
            table.add_column(col, justify="left" if col in ("core", "best baseline", "goals") else "right")
        for r in rows:
            b = r.best_baseline
            goals = " ".join(f"{name}{'✓' if ok else '✗'}" for name, ok in r.goals().items())
            table.add_row(r.core, str(r.dims), str(r.k), f"{r.cycles:,.0f}", f"{r.cycles_per_row_dim:.3f}",
                          b["source"] if b["compiler"] == "generator" else
                          " ".join(x for x in (b["source"], b["compiler"], b["flags"]) if x), f"{b['cycles']:,.0f}",
                          f"{r.ratio_best:.2f}×", f"{r.ratio_naive:.2f}×", f"{r.bound_cycles_per_row_dim:.3f}",
                          f"{r.achieved_over_bound:.2f}", goals)
        stdout_console().print(table)
    if bad:
        import sys

        print(f"torus-hw: mismatch: {bad[0]}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""),
              file=sys.stderr)
        return 1
    return 0
