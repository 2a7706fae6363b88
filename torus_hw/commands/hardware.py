"""``torus-hw rtl``: Verilog of an RTL unit (the search unit, the range unit or any
other of the registry, :mod:`rtl.units`) and, optionally, its synthesis figures
(LUT4, carry, FF, BRAM, fmax) on iCE40 UP5K and ECP5-25k.

amaranth and the YoWASP tools are imported only when the command runs (or its
help is shown: ``--kernel`` lists the registry's units).
"""

from __future__ import annotations

import argparse

from ..console import console as stdout_console
from ..option_limits import positive_int

import json

SYNTH_TARGETS = ("ice40", "ecp5")


def _kernel_help() -> str:
    """--kernel's help, from the unit registry (imported here: torus_hw ← rtl, and it imports amaranth)."""
    from rtl.units import kernels, split_params, unit_spec

    described = [f"{kernel} ({unit_spec(kernel).summary})" for kernel in kernels()]
    listed = described[0] if len(described) == 1 else f"{', '.join(described[:-1])} or {described[-1]}"
    return f"{listed}: DIR/torus_K.v"


class _HelpFormatter(argparse.HelpFormatter):
    """Fills in --kernel's help only when help is shown, so that start-up does not import amaranth."""

    def _get_help_string(self, action):
        return _kernel_help() if action.dest == "kernel" else action.help


def register(sub) -> None:
    p = sub.add_parser("rtl", help="write the RTL search unit's Verilog; optionally synthesize it",
                       formatter_class=_HelpFormatter,
                       description="Write the Amaranth torus search unit as Verilog (DIR/torus_search.v) and, "
                                   "with --synth, run YoWASP Yosys and nextpnr and report LUT4, carry, FF, BRAM "
                                   "and fmax (needs `make synth-deps`).")
    p.add_argument("--lanes", type=int, required=True, metavar="P", help="codes compared per cycle")
    p.add_argument("--bits", type=int, required=True, metavar="N", help="code width: 1, 4, 8 or 16")
    p.add_argument("--dims", type=int, required=True, metavar="D", help="dims per code vector")
    p.add_argument("--metric", choices=("l1", "l2"), default="l1")
    p.add_argument("--kernel", default="search", metavar="K", help="filled in by _HelpFormatter")
    p.add_argument("--k", type=int, default=1, help="neighbours kept by the top-k tracker, 1..16 (default 1)")
    p.add_argument("--adder-stages", type=int, default=None, metavar="S",
                   help="registers in the adder tree, 0..⌈log2 P⌉ (default: one per level)")
    p.add_argument("--max-rows", type=int, default=1 << 16, metavar="N",
                   help="largest database, sets the row index width (default 65536)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--max-flipflops", type=positive_int, default=None, metavar="N",
                   help="refuse a unit estimated above N register bits (default 131072; docs/errors.md)")
    p.add_argument("--synth", action="append", choices=SYNTH_TARGETS, default=None,
                   help="synthesize, place and route for this FPGA (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import TorusInputError
    from ..output import check_output_folder, output_folder

    # Import the RTL lazily: torus_hw must not import rtl at module level.
    from rtl.distance import silence_unused
    from rtl.size import check_unit_size
    from rtl.synth import build_unit, require_tools, synthesize, unit_verilog
    from rtl.units import kernels, split_params, unit_spec

    # A unit's hardware parameters; k (--k) is the search unit's, and a kernel that takes none accepts its default.
    params = {"k": args.k}

    def build():
        return build_unit(args.lanes, args.bits, args.dims, args.metric, kernel=args.kernel,
                          adder_stages=args.adder_stages, max_rows=args.max_rows, **params)

    # The size first: elaborating a huge unit takes GBs and minutes before any error could show.
    check_unit_size(args.kernel, lanes=args.lanes, bits=args.bits, dims=args.dims, metric=args.metric, params=params,
                    limit=args.max_flipflops, adder_stages=args.adder_stages, max_rows=args.max_rows)
    unit = build()  # bad parameters raise TorusInputError here, before anything is written
    spec, hardware, _ = split_params(args.kernel, params, run=False)  # the values it was built with
    targets = list(dict.fromkeys(args.synth or []))
    try:
        if targets:
            require_tools()
        out = check_output_folder(args.out)
    except TorusInputError:
        silence_unused(unit)  # refused before conversion: no "never used" warning
        raise
    text = unit_verilog(unit, name=f"torus_{args.kernel}")
    vpath = out / f"torus_{args.kernel}.v"
    reports = []
    with output_folder(out) as stage:  # Verilog and synthesis results appear together, or no --out at all
        (stage / vpath.name).write_text(text)
        for target in targets:
            try:
                # A fresh unit per run: an Amaranth elaboratable is elaborated once per conversion.
                reports.append(synthesize(build(), target, stage / f"synth-{target}"))
            except RuntimeError as exc:
                raise TorusInputError(str(exc).splitlines()[0]) from None

    latency = spec.latency(args.lanes, args.bits, args.metric, args.adder_stages, **hardware)
    # Every unit's hardware parameters appear, None where this unit has none of that name.
    every_param = dict.fromkeys(name for kernel in kernels() for name in unit_spec(kernel).hardware_params())
    summary = {
        "kernel": args.kernel, "lanes": unit.lanes, "bits": unit.bits, "dims": unit.dims, "metric": unit.metric,
        **{name: hardware.get(name) for name in every_param},
        "beats_per_row": unit.beats, "latency_cycles": latency, "distance_width": unit.width,
        "index_width": unit.index_width, "verilog": str(vpath),
        "synth": [r.as_dict() for r in reports],
    }
    if args.json:
        print(json.dumps(summary))
        return 0
    from rich.table import Table

    console = stdout_console()
    console.print(f"wrote {vpath}: {unit.lanes} lanes × {unit.bits}-bit {unit.metric}, D={unit.dims}, "
                  f"{', '.join(f'{name}={value}' for name, value in hardware.items()) or args.kernel}; "
                  f"{unit.beats} cycle(s) per row, latency {latency} cycles")
    if reports:
        table = Table(title="synthesis (whole wrapped design, see rtl/synth.py)")
        for col in ("target", "LUT4", "LUT4 total", "LUT4/lane", "carry", "FF", "BRAM", "DSP", "fmax MHz"):
            table.add_column(col, justify="right" if col != "target" else "left")
        for r in reports:
            table.add_row(r.target, str(r.lut4), str(r.lut4_total), f"{r.lut4_per_lane:g}", str(r.carry), str(r.ff),
                          str(r.bram), str(r.dsp), f"{r.fmax_mhz:.1f}")
        console.print(table)
        console.print("; ".join(f"{r.target}: {r.device}" for r in reports))
        console.print("LUT4 total counts the LUT4s inside ECP5 CCU2C carry cells (2 each); "
                      "iCE40 SB_CARRY uses none.")
    return 0
