"""How big a search unit is before it is built: its register bits, from its parameters alone.

Elaborating a unit costs Python memory and time in proportion to its
registers (the query ring alone is ⌈D/P⌉·P·n bits: ``--dims 100000000`` at one
bit is 10^8 flip-flops, many GB and many minutes of Amaranth before any
output), so ``torus-hw rtl`` and ``torus-hw run --target rtl`` call
:func:`check_design_size` first and refuse beyond a limit with the figure.

The count follows the pipeline of :class:`rtl.distance.TorusDistanceUnit`
and :class:`rtl.search.TorusSearchUnit` stage by stage (query ring, input,
δ, |δ|, square, registered adder levels, accumulator and output, top-k
list); it leaves out the handful of flag bits per stage.
"""

from __future__ import annotations

from torus_hw.errors import TorusInputError

from .distance import check_unit_params, resolve_adder_stages, tree_levels

# 4× the flip-flops of the largest FPGA rtl/synth.py targets (ECP5-25k: 24,288) and still a few seconds of
# elaboration per 10,000 bits; a user who needs more raises it with --max-flipflops.
MAX_FLIPFLOPS = 1 << 17


def register_bits(lanes: int, bits: int, dims: int, metric: str = "l1", k: int = 1,
                  adder_stages: int | None = None, max_rows: int = 1 << 16) -> int:
    """Register (flip-flop) bits of the search unit with these parameters."""
    check_unit_params(lanes, bits, dims, metric)
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
    index = max(1, (min(max(int(max_rows), 1), 1 << 32) - 1).bit_length())
    kept = min(max(int(k), 1), 16)  # an out-of-range k is refused by the unit itself, with its own message
    total += kept * (width + index + 1) + index + 1  # top-k list and the row counter
    return total


def check_design_size(lanes, bits, dims, metric="l1", k=1, adder_stages=None, max_rows=1 << 16,
                      limit: int = MAX_FLIPFLOPS) -> int:
    """Refuse (one line, with the figure) a unit beyond ``limit`` register bits; return its size."""
    size = register_bits(lanes, bits, dims, metric, k, adder_stages, max_rows)
    if size > limit:
        ring = -(-dims // lanes) * lanes * bits
        raise TorusInputError(
            f"the RTL unit for {lanes} lanes × {bits}-bit {metric}, D={dims} would have about {size:,} flip-flops "
            f"({ring:,} of them the query ring), beyond the limit of {limit:,}; fewer lanes or dims, "
            f"or raise it with --max-flipflops")
    return size
