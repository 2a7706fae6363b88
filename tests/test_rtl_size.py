"""rtl/size.py: the size estimate follows the unit's real registers, and the limit is applied before elaboration."""

import re

import pytest

from rtl.distance import distance_latency
from rtl.size import check_design_size, check_unit_size, register_bits
from rtl.synth import unit_verilog
from rtl.units import build_unit, kernels, unit_spec
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


@pytest.mark.parametrize("lanes, bits, dims, metric, params, max_rows", [
    (1, 8, 8, "l1", {"k": 1}, 1 << 16), (4, 8, 8, "l1", {"k": 1}, 1 << 16), (8, 1, 64, "l1", {"k": 5}, 1 << 16),
    (16, 16, 3, "l2", {"k": 4}, 1 << 16), (32, 4, 100, "l1", {"k": 16}, 1 << 16), (7, 8, 50, "l2", {"k": 3}, 1 << 16),
    (1, 8, 8, "l1", {}, 1 << 16), (4, 4, 16, "l1", {}, 1000), (8, 16, 3, "l2", {}, 7),
])
@pytest.mark.parametrize("kernel", kernels())
def test_estimate_is_within_a_tenth_of_the_real_registers(kernel, lanes, bits, dims, metric, params, max_rows):
    """For every registered unit: the front end's count plus the unit's own tail.

    Within a tenth, or, for a small unit, within the flag bits the estimate
    leaves out (valid, last and end: three per pipeline stage).
    """
    takes = unit_spec(kernel).hardware_params()
    params = {name: value for name, value in params.items() if name in takes}
    unit = build_unit(lanes, bits, dims, metric, kernel=kernel, max_rows=max_rows, **params)
    real = verilog_register_bits(unit)
    estimate = register_bits(lanes, bits, dims, metric, kernel=kernel, max_rows=max_rows, **params)
    flags = 3 * (distance_latency(lanes, bits, metric) + 1)
    assert abs(estimate - real) <= max(0.1 * real, flags), (estimate, real)


def test_limit_refuses_with_the_figure_and_is_raisable():
    with pytest.raises(TorusInputError, match=r"about 100,000,157 flip-flops .*raise it with --max-flipflops"):
        check_design_size(8, 1, 100_000_000)
    assert check_design_size(8, 1, 100_000_000, limit=10**9) == 100_000_157


def test_every_kernel_is_checked_and_its_run_time_parameters_ignored():
    assert check_unit_size("range", lanes=4, bits=8, dims=8, params={"radius": 3, "cap": None}) == \
        register_bits(4, 8, 8, kernel="range")
    with pytest.raises(TorusInputError, match="k applies to the search kernel only, got k=3 for range"):
        check_unit_size("range", lanes=4, bits=8, dims=8, params={"k": 3})
    with pytest.raises(TorusInputError, match="the RTL has no 'topk' kernel"):
        check_unit_size("topk", lanes=4, bits=8, dims=8)
    with pytest.raises(TorusInputError, match=r"about 100,000,2\d\d flip-flops"):
        check_unit_size("range", lanes=8, bits=1, dims=100_000_000)
