"""The torus distance unit: P lanes of wrap-around subtract → |signed| →
(square) → pipelined adder tree → per-row accumulator.

Pipeline (one register each, all advancing together): input → δ → |δ|
(n > 1) → δ² (l2) → adder tree (``adder_stages`` registers) → accumulator /
output.

Interfaces (all :mod:`amaranth.lib.stream`):

* ``query`` (in, payload ``P·n`` bits): the query, one beat of P codes per
  transfer, lane i in bits ``[i·n, (i+1)·n)``.  ⌈D/P⌉ transfers load a whole
  query into a ring of registers; load only between rows (after a row's last
  beat has been accepted), or the ring is left misaligned.  The unit is always
  ready for a query beat, which takes priority over a database beat.
* ``rows`` (in, payload ``codes | last << P·n | end << P·n+1``): database
  beats, ⌈D/P⌉ per row, ``last`` on the row's final beat (so on every beat
  when D ≤ P).  ``end`` is carried
  through to the distance (the search unit uses it to mark the database's
  last row).
* ``distances`` (out, payload ``distance | end << W``): one per row.

Pad lanes of a row's last beat (D not a multiple of P) must hold code 0 in
both the query and the row, so they contribute |0 − 0| = 0; the unit does not
mask them (the harness and any DMA front end pad with zeros, as the code
memory layout in docs/design.md already does).

Flow control is one global enable: every pipeline register advances when the
output register is empty or being read.  ``rows.ready`` therefore follows
``distances.ready`` combinationally (allowed: ready may depend on anything;
``distances.valid`` is a register and never depends on ready), and with
``distances.ready`` high the unit takes one beat per cycle with no bubbles.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from torus_hw.errors import TorusInputError
from torus_hw.reference import BITS, METRICS, check_u32_bound, max_distance


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def check_unit_params(lanes, bits, dims, metric) -> None:
    """Raise :class:`TorusInputError` (one line) for a spec the RTL cannot build."""
    if not _is_int(lanes) or lanes < 1:
        raise TorusInputError(f"lanes must be an integer >= 1, got {lanes!r}")
    if not _is_int(bits) or bits not in BITS:
        raise TorusInputError(f"bits must be one of {', '.join(map(str, BITS))}, got {bits!r}")
    if not _is_int(dims) or dims < 1:
        raise TorusInputError(f"dims must be an integer >= 1, got {dims!r}")
    if metric not in METRICS:
        raise TorusInputError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    # Distances leave the unit as uint32, as on every target (docs/design.md).
    check_u32_bound(dims, bits, metric)


def silence_unused(elaboratable) -> None:
    """A component refused in ``__init__`` is never elaborated; don't let Amaranth warn about it."""
    elaboratable._MustUse__used = True
    for sub in vars(elaboratable).values():
        if hasattr(sub, "_MustUse__used"):
            sub._MustUse__used = True


def tree_levels(lanes: int) -> int:
    """Adder levels needed to sum ``lanes`` values pairwise."""
    return (lanes - 1).bit_length()


def resolve_adder_stages(lanes: int, adder_stages: int | None) -> int:
    """The adder-tree register count: ``None`` means one after every level."""
    levels = tree_levels(lanes)
    if adder_stages is None:
        # A register after every adder level: FFs are nearly free next to the
        # adders' LUTs, and it keeps each stage one carry chain deep.
        return levels
    if not _is_int(adder_stages) or not 0 <= adder_stages <= levels:
        raise TorusInputError(f"adder_stages must be an integer in [0, {levels}] for {lanes} lanes, got {adder_stages!r}")
    return adder_stages


def distance_latency(lanes: int, bits: int, metric: str, adder_stages: int | None = None) -> int:
    """A row whose last beat is accepted in cycle c has its distance valid in cycle c + this.

    Input register, δ register, |δ| register (n > 1), square register (l2
    only), the adder-tree registers, and the accumulator/output register.
    """
    return 2 + (bits > 1) + (metric == "l2") + resolve_adder_stages(lanes, adder_stages) + 1


def row_layout(lanes: int, bits: int) -> data.StructLayout:
    return data.StructLayout({"codes": lanes * bits, "last": 1, "end": 1})


def distance_layout(width: int) -> data.StructLayout:
    return data.StructLayout({"distance": width, "end": 1})


class TorusDistanceUnit(wiring.Component):
    """Distance from a held query to a stream of database rows, P codes a beat.

    Latency from a row's last beat being accepted to its distance being valid
    is :attr:`latency` cycles; throughput is one beat (P codes) per cycle,
    i.e. exactly :attr:`beats` cycles per row.
    """

    def __init__(self, lanes: int, bits: int, dims: int, metric: str = "l1", adder_stages: int | None = None):
        try:
            check_unit_params(lanes, bits, dims, metric)
            adder_stages = resolve_adder_stages(lanes, adder_stages)
        except TorusInputError:
            silence_unused(self)
            raise
        levels = tree_levels(lanes)
        self.lanes, self.bits, self.dims, self.metric = lanes, bits, dims, metric
        self.adder_stages = adder_stages
        self.levels = levels
        self.beats = -(-dims // lanes)
        self.width = max(1, max_distance(dims, bits, metric).bit_length())
        self.latency = distance_latency(lanes, bits, metric, adder_stages)
        super().__init__({
            "query": In(stream.Signature(lanes * bits)),
            "rows": In(stream.Signature(row_layout(lanes, bits))),
            "distances": Out(stream.Signature(distance_layout(self.width))),
        })

    def _registered_levels(self) -> set[int]:
        """Tree levels (1-based: after the level-th addition) followed by a register."""
        s, L = self.adder_stages, self.levels
        return {((i + 1) * L + s - 1) // s for i in range(s)} if s else set()

    def elaborate(self, platform):
        m = Module()
        P, n, B = self.lanes, self.bits, self.beats
        out = self.distances

        en = Signal()  # the whole pipeline advances together
        m.d.comb += en.eq(~out.valid | out.ready)

        # Query ring: beat b of the query sits in ring[b] after loading; each
        # accepted database beat rotates it, so ring[0] always matches the beat
        # being accepted and no ⌈D/P⌉-way mux is needed.
        ring = [Signal(P * n, name=f"query_ring{b}") for b in range(B)]
        take = Signal()
        m.d.comb += [
            self.query.ready.eq(1),
            self.rows.ready.eq(en & ~self.query.valid),
            take.eq(self.rows.valid & self.rows.ready),
        ]
        with m.If(self.query.valid):
            m.d.sync += [ring[b].eq(ring[b + 1]) for b in range(B - 1)]
            m.d.sync += ring[B - 1].eq(self.query.payload)
        if B > 1:
            with m.Elif(take):
                m.d.sync += [ring[b].eq(ring[b + 1]) for b in range(B - 1)]
                m.d.sync += ring[B - 1].eq(ring[0])

        # Stage 0: input register (codes of the row and the matching query beat).
        flags0 = Signal(3)  # valid, last, end
        r0, q0 = Signal(P * n), Signal(P * n)
        with m.If(en):
            m.d.sync += [
                flags0.eq(Cat(take, self.rows.payload.last, self.rows.payload.end)),
                r0.eq(self.rows.payload.codes), q0.eq(ring[0]),
            ]

        valid, last, end = flags0[0], flags0[1], flags0[2]

        def stage(values, name):
            """Register a list of values and the valid/last/end flags under ``en``.

            All of a stage's values share one wide register: the simulator
            pays per changed signal, so one 16-lane register is far cheaper
            to simulate than 16 registers (synthesis sees the same bits).
            """
            nonlocal valid, last, end
            widths = [len(v) for v in values]
            reg = Signal(sum(widths), name=name)
            flags = Signal(3, name=f"{name}_flags")  # valid, last, end
            with m.If(en):
                m.d.sync += [reg.eq(Cat(*values)), flags.eq(Cat(valid, last, end))]
            valid, last, end = flags[0], flags[1], flags[2]
            out, lo = [], 0
            for w in widths:
                out.append(reg[lo:lo + w])
                lo += w
            return out

        # Stage 1: per lane δ = (q − r) mod 2^n.
        deltas = [(q0[i * n:(i + 1) * n] - r0[i * n:(i + 1) * n])[:n] for i in range(P)]
        values = stage(deltas, "delta")
        if n > 1:
            # Stage 1b: t = |δ| with δ read as signed n bits, as the conditional
            # negate (δ XOR s) + s, s the sign bit: one LUT per bit on its carry
            # chain (vs two subtractors and a mux); −2^(n−1) comes out as
            # 2^(n−1) because t is read back unsigned.  It gets its own stage
            # because two carry chains in series miss 48 MHz on the iCE40.
            values = stage([((d ^ d[n - 1].replicate(n)) + d[n - 1])[:n] for d in values], "absd")
        # (n = 1: |δ| = δ, Hamming.)

        # Stage 2 (l2 only): square.
        if self.metric == "l2":
            values = stage([v * v for v in values], "sq")

        # Adder tree; a register after the levels chosen by adder_stages.
        registered = self._registered_levels()
        for level in range(1, self.levels + 1):
            nxt = [values[j] + values[j + 1] for j in range(0, len(values) - 1, 2)]
            if len(values) % 2:
                nxt.append(values[-1])
            values = stage(nxt, f"sum{level}") if level in registered else nxt
        total = values[0]

        # Accumulator over the row's beats; the output register is the stream's.
        total_w = Signal(self.width)
        m.d.comb += total_w.eq(total)
        with m.If(en):
            m.d.sync += out.valid.eq(valid & last)
            if B == 1:
                # Every beat is a whole row: no accumulator to keep.
                with m.If(valid):
                    m.d.sync += [out.payload.distance.eq(total_w), out.payload.end.eq(end)]
            else:
                acc = Signal(self.width)
                with m.If(valid):
                    with m.If(last):
                        m.d.sync += [acc.eq(0), out.payload.distance.eq(acc + total_w), out.payload.end.eq(end)]
                    with m.Else():
                        m.d.sync += acc.eq(acc + total_w)
        return m
