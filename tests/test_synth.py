"""Synthesis driver: report parsing (always), the missing-tools error (always)
and one small real YoWASP run per FPGA (``@pytest.mark.synth``)."""

from __future__ import annotations

import importlib.util

import pytest

from rtl import synth
from torus_hw.cli import main


def test_parse_yosys_stat_ice40():
    stat = {"design": {"num_cells_by_type": {"SB_LUT4": 100, "SB_CARRY": 40, "SB_DFF": 5, "SB_DFFESR": 20,
                                             "SB_RAM40_4K": 1, "SB_MAC16": 2}}}
    c = synth.parse_yosys_stat(stat, "ice40")
    assert (c["lut4"], c["carry"], c["ff"], c["bram"], c["dsp"]) == (100, 40, 25, 1, 2)


def test_parse_yosys_stat_ecp5_per_module():
    stat = {"modules": {"\\top": {"num_cells_by_type": {"LUT4": 7, "CCU2C": 3, "TRELLIS_FF": 9, "DP16KD": 2}}}}
    c = synth.parse_yosys_stat(stat, "ecp5")
    assert (c["lut4"], c["carry"], c["ff"], c["bram"]) == (7, 3, 9, 2)


def test_parse_nextpnr_report():
    report = {"fmax": {"clk$SB_IO_IN_$glb_clk": {"achieved": 61.5, "constraint": 48.0}},
              "utilization": {"ICESTORM_LC": {"used": 10, "available": 5280}, "SB_GB": {"used": 0, "available": 8}}}
    fmax, util = synth.parse_nextpnr_report(report)
    assert fmax == 61.5 and util == {"ICESTORM_LC": {"used": 10, "available": 5280}}


def test_cli_synth_without_tools(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(synth, "tools_available", lambda: False)
    argv = ["rtl", "--lanes", "2", "--bits", "4", "--dims", "4", "--out", str(tmp_path / "o"), "--synth", "ice40"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make synth-deps" in err and "[synth]" in err


def _have_tools() -> bool:
    return all(importlib.util.find_spec(p) is not None for p in synth.SYNTH_PACKAGES)


@pytest.mark.synth
@pytest.mark.skipif(not _have_tools(), reason="YoWASP synthesis tools missing (make synth-deps)")
@pytest.mark.parametrize("target", ["ice40", "ecp5"])
def test_small_design_synthesizes(tmp_path, target):
    unit = synth.build_unit(2, 4, 4, "l1", k=1, max_rows=16)
    report = synth.synthesize(unit, target, tmp_path / target)
    assert report.lut4 > 0 and report.ff > 0 and report.fmax_mhz > 0
    assert report.bram == 0 and report.lanes == 2


def test_verilog_for():
    text = synth.verilog_for(lanes=4, bits=8, dims=10, metric="l1", k=5)
    assert "module torus_search" in text and "results__payload" in text
