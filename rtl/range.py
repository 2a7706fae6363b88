"""The torus range-search unit: the distance unit, a registered radius
compare, a row counter, a count and a cap; it streams out every row within a
runtime radius, in row order, and then the count of all of them —
``torus_hw.reference.range_search`` with the
``torus_range(q, db, n, radius, out_idx, cap)`` contract.

Interfaces (all :mod:`amaranth.lib.stream`):

* ``query`` (in): as :class:`rtl.distance.TorusDistanceUnit`; load ⌈D/P⌉
  beats before a query's rows.
* ``limits`` (in, payload ``radius | cap << W+1``): the radius, a signed
  W+1-bit integer (W the distance width), and the cap, an unsigned C-bit
  integer.  Always ready; the unit keeps the last pair loaded, so a batch
  sets them once.  Load only between queries (before a query's first row
  beat, or after the previous query's count has been offered), together
  with a query beat if you like: both are taken in the same cycle.
* ``rows`` (in, payload ``codes | last << P·n | end << P·n+1``): the
  database, row after row; ``end`` (with ``last``) marks the final row.
* ``results`` (out, payload ``value | last << V``): one beat per matching
  row while fewer than ``cap`` have been sent, ``value.match`` = (row index,
  distance), ``last`` = 0, in row order; then, after the final row, one beat
  with ``value.count`` = the number of ALL rows with distance ≤ radius and
  ``last`` = 1.  The row counter and the count then restart for the next
  query, and the cap is re-armed from the one loaded.

Why the cap lives in the hardware rather than in the host harness: the
contract bounds what is written (``out_idx`` holds ``cap`` entries), and the
consumer of ``results`` is in practice a DMA writer or a FIFO of that size —
the unit is where the matches are known, so it is where they are stopped.
It costs one (C+1)-bit down-counter and its sign bit.  Matches beyond the
cap are counted but never offered, so a slow consumer is never made to take (and the
rows never wait for) indices it will throw away; at full rate the cycles of
a query are the same whatever the radius, the cap or the data
(:func:`range_latency`).

Every host value is representable exactly: a radius below 0 matches nothing,
which the host writes as −1; a radius at or above the largest possible
distance matches everything, which it writes as that distance; a cap at or
above the row count means "all", which it writes as the row count.  The
comparison is distance ≤ radius with the distance read unsigned and the
radius signed.

:data:`RTL_UNIT` registers it for the ``range`` kernel (:mod:`rtl.units`),
with the host's side of that contract: how the radius and cap are written.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, stream
from amaranth.lib.wiring import In, Out

from torus_hw.errors import TorusInputError
from torus_hw.reference import max_distance

from .distance import DatabaseScanUnit, distance_latency
from .units import UnitParam, UnitSpec, per_query


def range_latency(lanes: int, bits: int, metric: str, adder_stages: int | None = None) -> int:
    """A query whose last row beat is accepted in cycle c offers its count in cycle c + this.

    The distance unit's latency, one cycle for the radius compare, one to
    count and offer the row's index (the last row's own match, if any, is
    offered then), one for the count beat.  Fixed: at full rate no data,
    radius or cap changes it.
    """
    return distance_latency(lanes, bits, metric, adder_stages) + 3


def limits_layout(width: int, count_width: int) -> data.StructLayout:
    return data.StructLayout({"radius": signed(width + 1), "cap": count_width})


def range_result_layout(index_width: int, width: int, count_width: int) -> data.StructLayout:
    match = data.StructLayout({"index": index_width, "distance": width})
    return data.StructLayout({"value": data.UnionLayout({"match": match, "count": count_width}), "last": 1})


class TorusRangeUnit(DatabaseScanUnit):
    """Range search (every row with distance ≤ radius) over a streamed database.

    ``max_rows`` bounds the database length: it sets the row index width I
    and the count and cap width C (a count can reach ``max_rows`` itself);
    rows beyond it wrap the counters.
    """

    def __init__(self, lanes: int, bits: int, dims: int, metric: str = "l1",
                 adder_stages: int | None = None, max_rows: int = 1 << 16):
        def ports(u):
            return {
                "limits": In(stream.Signature(limits_layout(u.width, u.count_width))),
                "results": Out(stream.Signature(range_result_layout(u.index_width, u.width, u.count_width))),
            }

        super().__init__(lanes, bits, dims, metric, adder_stages, max_rows, ports=ports)
        self.latency = range_latency(lanes, bits, metric, adder_stages)

    @property
    def count_width(self) -> int:
        """C: a count (and so the cap) can reach ``max_rows`` itself."""
        return self.max_rows.bit_length()

    def elaborate(self, platform):
        m = Module()
        d_in = self.scan_distances(m)

        # Until limits are loaded the unit matches nothing and sends no index.
        radius = Signal(signed(self.width + 1), init=-1)
        C = self.count_width
        # The cap is kept as cap − 1 and counted down to −1: "room for another
        # index" is then the sign bit alone, not a C-bit zero test on the
        # output register's enable (iCE40 timing).
        cap_less1 = Signal(signed(C + 1), init=-1)
        left = Signal(signed(C + 1), init=-1)  # indices the cap still allows for this query, minus 1
        row = Signal(self.index_width)
        count = Signal(C)
        closing = Signal()                # the final row is in: the count beat is due

        lim, res = self.limits, self.results
        # Stage A registers the radius compare; stage B counts, applies the cap
        # and writes the output register.  Two stages because the compare's
        # carry chain in series with the count's incrementer misses 48 MHz on
        # the iCE40 (the distance unit splits |δ| from δ for the same reason).
        a_valid, a_match, a_end = Signal(), Signal(), Signal()
        a_distance = Signal(self.width)
        free = Signal()    # the output register can take a beat this cycle
        b_take = Signal()  # stage B takes stage A's row this cycle
        m.d.comb += [
            lim.ready.eq(1),
            free.eq(~res.valid | res.ready),
            # While the count beat waits for the output register no row moves
            # on, so the next query's rows cannot overtake it.
            b_take.eq(a_valid & free & ~closing),
            d_in.ready.eq(~a_valid | b_take),
        ]
        with m.If(d_in.valid & d_in.ready):
            m.d.sync += [
                a_valid.eq(1),
                a_match.eq(d_in.payload.distance <= radius),
                a_distance.eq(d_in.payload.distance),
                a_end.eq(d_in.payload.end),
            ]
        with m.Elif(b_take):
            m.d.sync += a_valid.eq(0)

        with m.If(res.valid & res.ready):
            m.d.sync += res.valid.eq(0)
        with m.If(b_take):
            # The payload is written on every row (the register is free), so only
            # valid, the count and the cap depend on the match.
            m.d.sync += [
                row.eq(row + 1),
                res.payload.value.match.index.eq(row),
                res.payload.value.match.distance.eq(a_distance),
                res.payload.last.eq(0),
            ]
            with m.If(a_match):
                m.d.sync += count.eq(count + 1)
                with m.If(~left[-1]):
                    m.d.sync += [left.eq(left - 1), res.valid.eq(1)]
            with m.If(a_end):
                m.d.sync += closing.eq(1)
        with m.Elif(closing & free):
            m.d.sync += [
                res.valid.eq(1),
                res.payload.value.eq(count),  # zero-extended over the whole union
                res.payload.last.eq(1),
                closing.eq(0), row.eq(0), count.eq(0), left.eq(cap_less1),
            ]

        # Last, so that limits loaded in the cycle a count beat leaves win.
        with m.If(lim.valid):
            m.d.sync += [
                radius.eq(lim.payload.radius),
                cap_less1.eq(lim.payload.cap - 1),
                left.eq(lim.payload.cap - 1),
            ]
        return m


class RangeUnitSpec(UnitSpec):
    """The range unit as the registry sees it: radius and cap are loaded per query, nothing is hardware."""

    kernel = "range"
    summary = "every row within a radius set at run time"
    params = (UnitParam("radius"), UnitParam("cap", None))

    def build(self, lanes, bits, dims, metric, *, adder_stages, max_rows):
        return TorusRangeUnit(lanes, bits, dims, metric, adder_stages=adder_stages, max_rows=max_rows)

    def latency(self, lanes, bits, metric, adder_stages=None):
        return range_latency(lanes, bits, metric, adder_stages)

    def tail_register_bits(self, *, width, index_width, max_rows):
        count = max_rows.bit_length()
        limits = (width + 1) + 2 * (count + 1)  # radius, cap − 1 and the indices left
        counters = index_width + count + 1  # row, count, closing
        compare = width + 3  # stage A: distance, valid, match, end
        output = max(index_width + width, count) + 2  # the results register: value, last, valid
        return limits + counters + compare + output

    def check_query(self, n_queries, *, radius, cap):
        """One radius and one cap (None: every match) for all queries, or one of each per query."""
        radii, caps = per_query(radius, n_queries, "radius"), per_query(cap, n_queries, "cap")
        for r in radii:
            if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer)):
                raise TorusInputError(f"radius must be an integer, got {r!r}")
        for c in caps:
            if c is not None and (isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) or c < 0):
                raise TorusInputError(f"cap must be an integer >= 0 or None, got {c!r}")
        return {"radius": radii, "cap": caps}

    def query_loads(self, unit, n_rows, *, radius, cap):
        """The limits beat of each query, written as the unit documents: a radius below 0 as −1,
        one above the largest distance as that distance, a cap above the row count (or None) as the
        row count."""
        top = max_distance(unit.dims, unit.bits, unit.metric)
        W = unit.width
        limits = []
        for r, c in zip(radius, cap):
            reg_radius = max(-1, min(int(r), top))
            reg_cap = n_rows if c is None else min(int(c), n_rows)
            limits.append((reg_radius & ((1 << (W + 1)) - 1)) | (reg_cap << (W + 1)))
        return {"limits": limits}

    def read_answer(self, unit, payloads):
        I, W, C = unit.index_width, unit.width, unit.count_width
        *matches, closing = payloads
        return {"count": closing & ((1 << C) - 1),
                "indices": [p & ((1 << I) - 1) for p in matches],
                "distances": [(p >> I) & ((1 << W) - 1) for p in matches]}

    def empty_answer(self):
        return {"count": 0, "indices": [], "distances": []}


RTL_UNIT = RangeUnitSpec()
