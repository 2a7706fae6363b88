"""rtl/size.py: the size estimate follows the unit's real registers, and the limit is applied before elaboration."""

import re

import pytest

from rtl.search import TorusSearchUnit
from rtl.size import check_design_size, register_bits
from rtl.synth import unit_verilog
from torus_hw.errors import TorusInputError


def verilog_register_bits(unit) -> int:
    """Bits of the registers in the unit's Verilog: the `reg`s declared with a reset value.

    Amaranth's Verilog gives every flip-flop an initial value (``reg [7:0] r = 8'h00;``)
    and none to the combinational ``reg``s (the back end's own ``$auto`` flags excepted).
    """
    total = 0
    for m in re.finditer(r"^\s*reg\s+(?:\[(\d+):(\d+)\]\s+)?(\S+)\s*=", unit_verilog(unit), re.M):
        if not m.group(3).startswith("\\$auto"):
            total += int(m.group(1)) - int(m.group(2)) + 1 if m.group(1) else 1
    return total


@pytest.mark.parametrize("lanes, bits, dims, metric, k", [
    (1, 8, 8, "l1", 1), (4, 8, 8, "l1", 1), (8, 1, 64, "l1", 5), (16, 16, 3, "l2", 4), (32, 4, 100, "l1", 16),
    (7, 8, 50, "l2", 3),
])
def test_estimate_is_within_a_tenth_of_the_real_registers(lanes, bits, dims, metric, k):
    unit = TorusSearchUnit(lanes, bits, dims, metric, k=k)
    real = verilog_register_bits(unit)
    estimate = register_bits(lanes, bits, dims, metric, k)
    assert 0.9 * real <= estimate <= 1.1 * real, (estimate, real)


def test_limit_refuses_with_the_figure_and_is_raisable():
    with pytest.raises(TorusInputError, match=r"about 100,000,157 flip-flops .*raise it with --max-flipflops"):
        check_design_size(8, 1, 100_000_000)
    assert check_design_size(8, 1, 100_000_000, limit=10**9) == 100_000_157
