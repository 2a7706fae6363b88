"""``torus-hw demo``: a trained torusN model on every target and the RTL unit, in one report."""

from __future__ import annotations

from ..console import console as stdout_console


def register(sub) -> None:
    p = sub.add_parser("demo", help="the end-to-end demo (run by `make demo`)",
                       description="Train the default torusN model on digits (or reuse the cached one in --out), "
                                   "export 8-bit codes, run top-1/top-5 search on every ISA target and the RTL "
                                   "unit, compare every answer with the NumPy reference, and write report.md, "
                                   "plots, kernels/ and torus_db.h to --out.")
    p.add_argument("--out", default="demo-out", metavar="DIR", help="output folder (default demo-out)")
    p.add_argument("--quick", action="store_true", help="shorter training and sampled queries (< 1 minute)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from sim.demo import DemoSettings, run_demo, table, write_report

    from ..output import check_output_folder, output_folder

    console = stdout_console()
    out = check_output_folder(args.out)
    with output_folder(out) as stage:  # the whole report appears at the end, or nothing changes
        cached = out / "model.pt"
        if cached.is_file():  # the demo reuses a matching checkpoint from an earlier run
            _link_or_copy(cached, stage / "model.pt")
        rows, meta = run_demo(DemoSettings(out=stage, quick=args.quick, shown_out=out), stdout_console(stderr=True))
        write_report(stage, rows, meta)
    console.print(table(rows, meta))
    console.print(f"report: {out / 'report.md'}; kernels: {out / 'kernels'}; firmware header: {out / 'torus_db.h'} "
                  f"({meta['seconds']:.0f} s)")
    bad = [r for r in rows if r.mismatches or r.p_at_1 != r.reference_p_at_1]
    if bad:
        print(f"torus-hw: mismatch: {bad[0].target} disagreed with the reference", file=sys.stderr)
        return 1
    return 0


def _link_or_copy(src, dst) -> None:
    import os
    import shutil

    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
