"""The torus range-search unit: the distance unit, a row counter and a
radius comparator that streams out every row within a runtime radius, in row
order, and then the count of all of them — ``torus_hw.reference.range_search``
with the ``torus_range(q, db, n, radius, out_idx, cap)`` contract.

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
It costs one C-bit down-counter and a zero test.  Matches beyond the cap are
counted but never offered, so a slow consumer is never made to take (and the
rows never wait for) indices it will throw away; at full rate the cycles of
a query are the same whatever the radius, the cap or the data
(:func:`range_latency`).

Every host value is representable exactly: a radius below 0 matches nothing,
which the host writes as −1; a radius at or above the largest possible
distance matches everything, which it writes as that distance; a cap at or
above the row count means "all", which it writes as the row count.  The
comparison is distance ≤ radius with the distance read unsigned and the
radius signed.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from torus_hw.errors import TorusInputError

from .distance import (TorusDistanceUnit, _is_int, check_unit_params, distance_latency, row_layout,
                       silence_unused)


def range_latency(lanes: int, bits: int, metric: str, adder_stages: int | None = None) -> int:
    """A query whose last row beat is accepted in cycle c offers its count in cycle c + this.

    The distance unit's latency, one cycle in the comparator (the last row's
    own match, if any, is offered then) and one for the count beat.  Fixed:
    at full rate no data, radius or cap changes it.
    """
    return distance_latency(lanes, bits, metric, adder_stages) + 2


def limits_layout(width: int, count_width: int) -> data.StructLayout:
    return data.StructLayout({"radius": signed(width + 1), "cap": count_width})


def range_result_layout(index_width: int, width: int, count_width: int) -> data.StructLayout:
    match = data.StructLayout({"index": index_width, "distance": width})
    return data.StructLayout({"value": data.UnionLayout({"match": match, "count": count_width}), "last": 1})


class TorusRangeUnit(wiring.Component):
    """Range search (every row with distance ≤ radius) over a streamed database.

    ``max_rows`` bounds the database length: it sets the row index width I
    and the count and cap width C (a count can reach ``max_rows`` itself);
    rows beyond it wrap the counters.
    """

    def __init__(self, lanes: int, bits: int, dims: int, metric: str = "l1",
                 adder_stages: int | None = None, max_rows: int = 1 << 16):
        try:
            check_unit_params(lanes, bits, dims, metric)
            if not _is_int(max_rows) or not 1 <= max_rows <= 1 << 32:
                raise TorusInputError(f"max_rows must be an integer in [1, 2^32], got {max_rows!r}")
            self.distance_unit = TorusDistanceUnit(lanes, bits, dims, metric, adder_stages)
        except TorusInputError:
            silence_unused(self)
            raise
        self.lanes, self.bits, self.dims, self.metric = lanes, bits, dims, metric
        self.max_rows = max_rows
        self.beats = self.distance_unit.beats
        self.width = self.distance_unit.width
        self.index_width = max(1, (max_rows - 1).bit_length())
        self.count_width = max_rows.bit_length()
        self.latency = range_latency(lanes, bits, metric, adder_stages)
        super().__init__({
            "query": In(stream.Signature(lanes * bits)),
            "limits": In(stream.Signature(limits_layout(self.width, self.count_width))),
            "rows": In(stream.Signature(row_layout(lanes, bits))),
            "results": Out(stream.Signature(range_result_layout(self.index_width, self.width,
                                                                 self.count_width))),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.distance = du = self.distance_unit
        wiring.connect(m, wiring.flipped(self.query), du.query)
        wiring.connect(m, wiring.flipped(self.rows), du.rows)

        # Until limits are loaded the unit matches nothing and sends no index.
        radius = Signal(signed(self.width + 1), init=-1)
        cap = Signal(self.count_width)
        left = Signal(self.count_width)   # indices the cap still allows for this query
        row = Signal(self.index_width)
        count = Signal(self.count_width)
        closing = Signal()                # the final row is in: the count beat is due

        lim, res, d_in = self.limits, self.results, du.distances
        free = Signal()  # the output register can take a beat this cycle
        match = Signal()
        m.d.comb += [
            lim.ready.eq(1),
            free.eq(~res.valid | res.ready),
            # While the count beat waits for the output register no distance
            # is taken, so the next query's rows cannot overtake it.
            d_in.ready.eq(free & ~closing),
            match.eq(d_in.payload.distance <= radius),
        ]
        with m.If(res.valid & res.ready):
            m.d.sync += res.valid.eq(0)

        with m.If(d_in.valid & d_in.ready):
            m.d.sync += row.eq(row + 1)
            with m.If(match):
                m.d.sync += count.eq(count + 1)
                with m.If(left != 0):
                    m.d.sync += [
                        left.eq(left - 1),
                        res.valid.eq(1),
                        res.payload.value.match.index.eq(row),
                        res.payload.value.match.distance.eq(d_in.payload.distance),
                        res.payload.last.eq(0),
                    ]
            with m.If(d_in.payload.end):
                m.d.sync += closing.eq(1)
        with m.Elif(closing & free):
            m.d.sync += [
                res.valid.eq(1),
                res.payload.value.eq(count),  # zero-extended over the whole union
                res.payload.last.eq(1),
                closing.eq(0), row.eq(0), count.eq(0), left.eq(cap),
            ]

        # Last, so that limits loaded in the cycle a count beat leaves win.
        with m.If(lim.valid):
            m.d.sync += [radius.eq(lim.payload.radius), cap.eq(lim.payload.cap), left.eq(lim.payload.cap)]
        return m
