"""The torus search unit: the distance unit, a row counter and a top-k tracker
that reads its k best (row index, distance) pairs out when the database ends.

Interfaces (all :mod:`amaranth.lib.stream`):

* ``query`` (in): as :class:`rtl.distance.TorusDistanceUnit`; load ⌈D/P⌉
  beats before a query's rows.
* ``rows`` (in, payload ``codes | last << P·n | end << P·n+1``): the
  database, row after row; ``end`` (with ``last``) marks the final row.
* ``results`` (out, payload ``index | distance << I | last << I+W``): after
  the final row, min(k, N) pairs in the reference's order — ascending
  (distance, row index) — with ``last`` on the final pair.  The tracker then
  clears and the row counter restarts at 0 for the next query.

The tracker is a sorted insertion register: a new row goes in front of the
first entry it is strictly closer than.  Rows arrive in index order, so
strict comparison alone puts ties behind the lower rows, exactly the
reference's tie-break.  It takes one distance per cycle, so it never stalls
the distance unit, except while reading results out.

:data:`RTL_UNIT` registers it for the ``search`` kernel (:mod:`rtl.units`).
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream
from amaranth.lib.wiring import Out

from torus_hw.errors import TorusInputError

from .distance import DatabaseScanUnit, _is_int, distance_latency
from .units import UnitParam, UnitSpec

MAX_K = 16


def search_latency(lanes: int, bits: int, metric: str, adder_stages: int | None = None) -> int:
    """A query whose last row beat is accepted in cycle c offers its first result in cycle c + this.

    The distance unit's latency plus one cycle to insert into the tracker.
    """
    return distance_latency(lanes, bits, metric, adder_stages) + 1


def result_layout(index_width: int, width: int) -> data.StructLayout:
    return data.StructLayout({"index": index_width, "distance": width, "last": 1})


class TorusSearchUnit(DatabaseScanUnit):
    """Top-k torus search over a streamed database.

    ``max_rows`` bounds the database length (it sets the row counter's and
    the result index's width); rows beyond it wrap the counter.
    """

    def __init__(self, lanes: int, bits: int, dims: int, metric: str = "l1", k: int = 1,
                 adder_stages: int | None = None, max_rows: int = 1 << 16):
        def check_k():
            if not _is_int(k) or not 1 <= k <= MAX_K:
                raise TorusInputError(f"k must be an integer in [1, {MAX_K}], got {k!r}")

        super().__init__(lanes, bits, dims, metric, adder_stages, max_rows, checks=(check_k,), ports=lambda u: {
            "results": Out(stream.Signature(result_layout(u.index_width, u.width))),
        })
        self.k = k
        self.latency = search_latency(lanes, bits, metric, adder_stages)

    def elaborate(self, platform):
        m = Module()
        d_in = self.scan_distances(m)

        k, W, I = self.k, self.width, self.index_width
        dist = [Signal(W, name=f"top_dist{i}") for i in range(k)]
        idx = [Signal(I, name=f"top_index{i}") for i in range(k)]
        full = [Signal(name=f"top_valid{i}") for i in range(k)]
        row = Signal(I)
        readout = Signal()

        m.d.comb += d_in.ready.eq(~readout)
        # closer[i]: the new row belongs at or before entry i.  Monotone in i
        # because the entries are sorted and valid entries form a prefix.
        closer = [Signal(name=f"closer{i}") for i in range(k)]
        m.d.comb += [c.eq(~f | (d_in.payload.distance < d)) for c, f, d in zip(closer, full, dist)]
        with m.If(d_in.valid & d_in.ready):
            m.d.sync += row.eq(row + 1)
            with m.If(d_in.payload.end):
                m.d.sync += readout.eq(1)
            for i in range(k):
                with m.If(closer[i]):
                    if i == 0:
                        m.d.sync += [dist[0].eq(d_in.payload.distance), idx[0].eq(row), full[0].eq(1)]
                    else:
                        with m.If(closer[i - 1]):
                            m.d.sync += [dist[i].eq(dist[i - 1]), idx[i].eq(idx[i - 1]), full[i].eq(full[i - 1])]
                        with m.Else():
                            m.d.sync += [dist[i].eq(d_in.payload.distance), idx[i].eq(row), full[i].eq(1)]

        res = self.results
        final = ~full[1] if k > 1 else 1
        m.d.comb += [
            res.valid.eq(readout & full[0]),
            res.payload.index.eq(idx[0]),
            res.payload.distance.eq(dist[0]),
            res.payload.last.eq(final),
        ]
        with m.If(res.valid & res.ready):
            # Shift the list down by one; the emptied tail becomes invalid.
            for i in range(k - 1):
                m.d.sync += [dist[i].eq(dist[i + 1]), idx[i].eq(idx[i + 1]), full[i].eq(full[i + 1])]
            m.d.sync += full[k - 1].eq(0)
            with m.If(final):
                m.d.sync += [readout.eq(0), row.eq(0)]
        return m


class SearchUnitSpec(UnitSpec):
    """The search unit as the registry sees it: k is hardware (the tracker's length)."""

    kernel = "search"
    summary = "top-k, default"
    params = (UnitParam("k", 1, hardware=True),)

    def build(self, lanes, bits, dims, metric, *, adder_stages, max_rows, k):
        return TorusSearchUnit(lanes, bits, dims, metric, k=k, adder_stages=adder_stages, max_rows=max_rows)

    def latency(self, lanes, bits, metric, adder_stages=None, k=1):
        return search_latency(lanes, bits, metric, adder_stages)

    def cycles_per_query(self, n_rows, *, beats, latency, k):
        """Then one cycle for each of the other min(k, N) − 1 results."""
        return super().cycles_per_query(n_rows, beats=beats, latency=latency) + min(k, n_rows) - 1

    def tail_register_bits(self, *, width, index_width, max_rows, k):
        kept = min(max(int(k), 1), MAX_K)  # an out-of-range k is refused by the unit itself, with its own message
        return kept * (width + index_width + 1) + index_width + 1  # top-k list and the row counter

    def read_answer(self, unit, payloads):
        I, W = unit.index_width, unit.width
        return {"indices": [p & ((1 << I) - 1) for p in payloads],
                "distances": [(p >> I) & ((1 << W) - 1) for p in payloads]}

    def empty_answer(self):
        return {"indices": [], "distances": []}


RTL_UNIT = SearchUnitSpec()
