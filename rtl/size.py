"""How big an RTL unit is before it is built: its register bits, from its parameters alone.

Elaborating a unit costs Python memory and time in proportion to its
registers (the query ring alone is ⌈D/P⌉·P·n bits: ``--dims 100000000`` at one
bit is 10^8 flip-flops, many GB and many minutes of Amaranth before any
output), so ``torus-hw rtl`` and ``torus-hw run --target rtl`` call
:func:`check_unit_size` first and refuse beyond a limit with the figure.

The count follows the front end every unit shares,
:class:`rtl.distance.TorusDistanceUnit`, stage by stage (query ring, input,
δ, |δ|, square, registered adder levels, accumulator and output); each unit's
spec adds its own tail (:meth:`rtl.units.UnitSpec.tail_register_bits`: the
top-k list, the range unit's limits and counters).  It leaves out the
handful of flag bits per stage.
"""

from __future__ import annotations

from torus_hw.errors import TorusInputError

from .distance import check_unit_params, resolve_adder_stages, tree_levels
from .units import DEFAULT_KERNEL, split_params

# 4× the flip-flops of the largest FPGA rtl/synth.py targets (ECP5-25k: 24,288) and still a few seconds of
# elaboration per 10,000 bits; a user who needs more raises it with --max-flipflops.
MAX_FLIPFLOPS = 1 << 17


def register_bits(lanes: int, bits: int, dims: int, metric: str = "l1", *, kernel: str = DEFAULT_KERNEL,
                  adder_stages: int | None = None, max_rows: int = 1 << 16, **params) -> int:
    """Register (flip-flop) bits of ``kernel``'s unit with these parameters (run-time ones are ignored)."""
    check_unit_params(lanes, bits, dims, metric)
    spec, hardware, _ = split_params(kernel, params, run=False)
    P, n = lanes, bits
    beats = -(-dims // P)
    per_lane = n if metric == "l1" else 2 * n  # width of one lane's contribution
    width = max(1, (dims * (1 << (n - 1)) ** (1 if metric == "l1" else 2)).bit_length())
    total = beats * P * n  # query ring
    total += 2 * P * n  # input register: row codes and the matching query beat
    total += P * n  # δ
    total += P * n if n > 1 else 0  # |δ|
    total += P * 2 * n if metric == "l2" else 0  # δ²
    levels = tree_levels(P)
    stages = resolve_adder_stages(P, adder_stages)
    registered = {((i + 1) * levels + stages - 1) // stages for i in range(stages)} if stages else set()
    values = P
    for level in range(1, levels + 1):
        values = -(-values // 2)
        if level in registered:
            total += values * (per_lane + level)
    total += width * (2 if beats > 1 else 1)  # accumulator, output distance
    rows = min(max(int(max_rows), 1), 1 << 32)  # an out-of-range bound is refused by the unit itself
    index = max(1, (rows - 1).bit_length())
    return total + spec.tail_register_bits(width=width, index_width=index, max_rows=rows, **hardware)


def check_unit_size(kernel: str, *, lanes: int, bits: int, dims: int, metric: str = "l1", params: dict | None = None,
                    limit: int | None = None, adder_stages: int | None = None, max_rows: int = 1 << 16) -> int:
    """Refuse (one line, with the figure) a unit beyond ``limit`` (default :data:`MAX_FLIPFLOPS`) register
    bits; return its size.  ``params`` are the kernel's (hardware ones count, run-time ones are ignored)."""
    limit = MAX_FLIPFLOPS if limit is None else limit
    size = register_bits(lanes, bits, dims, metric, kernel=kernel, adder_stages=adder_stages, max_rows=max_rows,
                         **(params or {}))
    if size > limit:
        ring = -(-dims // lanes) * lanes * bits
        raise TorusInputError(
            f"the RTL unit for {lanes} lanes × {bits}-bit {metric}, D={dims} would have about {size:,} flip-flops "
            f"({ring:,} of them the query ring), beyond the limit of {limit:,}; fewer lanes or dims, "
            f"or raise it with --max-flipflops")
    return size


def check_design_size(lanes, bits, dims, metric="l1", k=1, adder_stages=None, max_rows=1 << 16,
                      limit: int = MAX_FLIPFLOPS) -> int:
    """The search unit's :func:`check_unit_size`, with the positional arguments it had before the
    registry (``torus-hw run``'s call until it uses ``sim.rtl_sim.check_rtl_size``)."""
    return check_unit_size("search", lanes=lanes, bits=bits, dims=dims, metric=metric, params={"k": k}, limit=limit,
                           adder_stages=adder_stages, max_rows=max_rows)
