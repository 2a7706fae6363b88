"""RTL simulation harness: runs :class:`rtl.search.TorusSearchUnit` and
:class:`rtl.range.TorusRangeUnit` under ``amaranth.sim`` (async testbenches)
and measures cycles per query.

One design and one simulator serve a whole batch: every query is loaded,
the database streamed and the results read out in a single simulation, so a
batch costs one elaboration.  Payloads are driven and read as packed
integers (one ``ctx.set`` per beat), which is far cheaper than setting
struct fields one by one.

A query's cycle count runs from the cycle its first query beat is presented
to the cycle its last result is accepted, both included.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import numpy as np

from torus_hw.errors import TorusInputError
from torus_hw.reference import as_codes, check_bits, check_metric, max_distance

__all__ = ["RtlQueryResult", "RtlRangeResult", "RtlRunStats", "pack_beats", "rtl_latency", "rtl_cycles_per_query",
           "rtl_range_cycles_per_query", "run_rtl_range", "run_rtl_search", "simulate_distances",
           "simulate_range", "simulate_search"]


@dataclass
class RtlQueryResult:
    """One query's answer from the RTL: ``min(k, N)`` (index, distance) pairs."""

    indices: list[int]
    distances: list[int]
    cycles: int


@dataclass
class RtlRangeResult:
    """One query's answer from the RTL range unit.

    ``count`` is the number of ALL rows with distance ≤ radius; ``indices``
    and ``distances`` (int64 arrays, row order) are the first ``cap`` of them.
    """

    count: int
    indices: np.ndarray
    distances: np.ndarray
    cycles: int


@dataclass
class RtlRunStats:
    """Measurements of one simulation batch."""

    total_cycles: int = 0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU time: steadier than wall time on a shared machine
    # Per query: cycle (from the query's start) at which its first and last
    # database beats were accepted and its first result was accepted.
    first_beat: list[int] = field(default_factory=list)
    last_beat: list[int] = field(default_factory=list)
    first_result: list[int] = field(default_factory=list)

    @property
    def cycles_per_second(self) -> float:
        """Simulated cycles per wall-clock second (sim.run only, not the build)."""
        return self.total_cycles / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def cycles_per_cpu_second(self) -> float:
        return self.total_cycles / self.cpu_seconds if self.cpu_seconds else 0.0


def pack_beats(codes: np.ndarray, bits: int, lanes: int) -> np.ndarray:
    """Pack (M, D) codes into an (M, ⌈D/P⌉) object array of Python ints.

    Lane i of a beat sits at bits [i·n, (i+1)·n); pad lanes hold 0.
    """
    codes = np.asarray(codes, dtype=np.uint64)
    m, d = codes.shape
    beats = -(-d // lanes)
    padded = np.zeros((m, beats * lanes), dtype=np.uint64)
    padded[:, :d] = codes
    lanes_view = padded.reshape(m * beats, lanes)
    per_word = 64 // bits  # lanes that fit in one uint64
    out = np.zeros(m * beats, dtype=object)
    for w0 in range(0, lanes, per_word):
        word = np.zeros(m * beats, dtype=np.uint64)
        for j in range(w0, min(lanes, w0 + per_word)):
            word |= lanes_view[:, j] << np.uint64((j - w0) * bits)
        out = out + (word.astype(object) << (w0 * bits))
    return out.reshape(m, beats)


def _validate(database, queries, bits, metric, k, lanes):
    bits = check_bits(bits)
    check_metric(metric)
    db = as_codes(database, bits, "database")
    qs = as_codes(queries, bits, "queries")
    if db.ndim != 2:
        raise TorusInputError(f"database must have rank 2 (N×D), got shape {db.shape}")
    if qs.ndim != 2:
        raise TorusInputError(f"queries must have rank 2 (Q×D), got shape {qs.shape}")
    if qs.shape[1] != db.shape[1]:
        raise TorusInputError(f"dims differ: queries have D={qs.shape[1]}, database has D={db.shape[1]}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise TorusInputError(f"k must be a positive integer, got {k!r}")
    if isinstance(lanes, bool) or not isinstance(lanes, (int, np.integer)) or lanes < 1:
        raise TorusInputError(f"lanes must be an integer >= 1, got {lanes!r}")
    return db, qs, bits


def _row_stream(db: np.ndarray, bits: int, lanes: int, beats: int) -> list[int]:
    """The database as one flat list of row-beat payloads ``codes | last | end``, shared by all queries."""
    n_rows = db.shape[0]
    flag_last, flag_end = 1 << (lanes * bits), 1 << (lanes * bits + 1)
    row_beats = pack_beats(db, bits, lanes)
    flat = []
    for r in range(n_rows):
        for b in range(beats):
            v = int(row_beats[r, b])
            if b == beats - 1:
                v |= flag_last | (flag_end if r == n_rows - 1 else 0)
            flat.append(v)
    return flat


def _drive_queries(dut, query_beats, flat, *, last_bit: int, stats: "RtlRunStats", limits: list[int] | None = None,
                   vcd: str | None = None, valid_prob: float = 1.0, ready_prob: float = 1.0, seed: int = 0,
                   progress=None) -> list[tuple[list[int], int]]:
    """Run every query through one simulated unit with ``query``/``rows``/``results`` streams.

    For each query: present its beats on ``query`` (and, when ``limits`` is
    given and the query's packed payload there differs from the previous
    query's, that payload on the unit's ``limits`` stream in its first query
    cycle), stream every row beat, and take ``results`` beats until one
    has bit ``last_bit`` set.  ``valid_prob`` / ``ready_prob`` below 1 insert
    random gaps in the row stream's valid and the result stream's ready (a
    stall test); once valid is raised it is held, with the payload, until the
    beat is taken.  Returns, per query, the raw result payloads and the
    cycles from its first query beat to its last result, both included; fills
    ``stats``.
    """
    from amaranth.hdl import Value
    from amaranth.sim import Simulator

    B = dut.beats
    rows_payload = Value.cast(dut.rows.payload)
    res_payload = Value.cast(dut.results.payload)
    limits_payload = None if limits is None else Value.cast(dut.limits.payload)
    answers: list[tuple[list[int], int]] = []
    rng = random.Random(seed)
    stalls = valid_prob < 1.0 or ready_prob < 1.0
    nb = len(flat)
    # A hung design must fail, not spin: far more cycles than any stall pattern needs.
    # (A query's results are at most one per row plus one, or k <= 16.)
    watchdog = int(8 * (nb + 4 * B + dut.latency + 80) / max(min(valid_prob, ready_prob), 0.01))

    async def testbench(ctx):
        cycle = 0
        for qi, qb in enumerate(query_beats):
            start = cycle
            # Query load: the unit is always ready for query (and limits) beats.
            ctx.set(dut.query.valid, 1)
            # Limits only when they change, as a host sets a register once for a
            # batch: the unit keeps them and re-arms the cap for every query.
            new_limits = limits is not None and (qi == 0 or limits[qi] != limits[qi - 1])
            if new_limits:
                ctx.set(limits_payload, limits[qi])
                ctx.set(dut.limits.valid, 1)
            for beat in qb:
                ctx.set(dut.query.payload, beat)
                await ctx.tick()
                cycle += 1
                if new_limits:
                    ctx.set(dut.limits.valid, 0)
            ctx.set(dut.query.valid, 0)

            got = []
            i = 0
            valid = 0
            ready = 1
            first = last_in = first_out = None
            held = None
            ctx.set(dut.results.ready, 1)
            if not stalls or rng.random() < valid_prob:
                ctx.set(rows_payload, flat[0])
                ctx.set(dut.rows.valid, 1)
                valid = 1
            if stalls:
                ready = 1 if rng.random() < ready_prob else 0
                ctx.set(dut.results.ready, ready)
            # A multi-shot tick wait: much cheaper per cycle than a fresh
            # ``await ctx.tick()``.  The body sees what was sampled at the
            # edge that just happened and sets the inputs for the next cycle.
            async for _, _, in_ready, r_valid, r_payload in ctx.tick().sample(
                    dut.rows.ready, dut.results.valid, res_payload):
                cycle += 1
                if cycle - start > watchdog:
                    raise RuntimeError(f"RTL unit gave no last result within {watchdog} cycles")
                if held is not None and held != (r_valid, r_payload):
                    # Stream rule 2: an offered result stays, unchanged, until taken.
                    raise AssertionError(f"results stream dropped or changed an untaken payload at cycle {cycle}")
                held = (r_valid, r_payload) if r_valid and not ready else None
                if r_valid and ready:
                    if first_out is None:
                        first_out = cycle - 1 - start
                    got.append(r_payload)
                    if (r_payload >> last_bit) & 1:
                        break
                if valid and in_ready:
                    if first is None:
                        first = cycle - 1 - start
                    i += 1
                    if i == nb:
                        last_in = cycle - 1 - start
                        valid = 0
                        ctx.set(dut.rows.valid, 0)
                    elif not stalls:
                        ctx.set(rows_payload, flat[i])  # full rate: valid stays high
                    else:
                        valid = 0
                        ctx.set(dut.rows.valid, 0)
                if stalls:
                    # Valid, once raised, is held with its payload until the beat is taken.
                    if not valid and i < nb and rng.random() < valid_prob:
                        ctx.set(rows_payload, flat[i])
                        ctx.set(dut.rows.valid, 1)
                        valid = 1
                    ready = 1 if rng.random() < ready_prob else 0
                    ctx.set(dut.results.ready, ready)
            ctx.set(dut.results.ready, 0)
            answers.append((got, cycle - start))
            stats.first_beat.append(first)
            stats.last_beat.append(last_in)
            stats.first_result.append(first_out)
            if progress:
                progress()
        stats.total_cycles = cycle

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    t0, c0 = time.perf_counter(), time.process_time()
    if vcd:
        with sim.write_vcd(vcd):
            sim.run()
    else:
        sim.run()
    stats.wall_seconds = time.perf_counter() - t0
    stats.cpu_seconds = time.process_time() - c0
    return answers


def _query_beats(qs: np.ndarray, bits: int, lanes: int) -> list[list[int]]:
    return [[int(x) for x in row] for row in pack_beats(qs, bits, lanes)]


def simulate_search(database, queries, *, bits: int, metric: str, k: int, lanes: int,
                    vcd: str | None = None, adder_stages: int | None = None,
                    valid_prob: float = 1.0, ready_prob: float = 1.0, seed: int = 0, progress=None):
    """Run every query through one simulated search unit.

    ``valid_prob`` / ``ready_prob`` below 1 insert random stalls (see
    :func:`_drive_queries`); ``progress()`` is called after each query.
    Returns ``(list[RtlQueryResult], RtlRunStats)``.
    """
    from rtl.search import TorusSearchUnit

    db, qs, bits = _validate(database, queries, bits, metric, k, lanes)
    lanes, k = int(lanes), int(k)
    n_rows, dims = db.shape
    stats = RtlRunStats()
    if n_rows == 0 or qs.shape[0] == 0:
        return [RtlQueryResult([], [], 0) for _ in range(qs.shape[0])], stats

    dut = TorusSearchUnit(lanes, bits, dims, metric, k=k, adder_stages=adder_stages, max_rows=n_rows)
    I, W = dut.index_width, dut.width
    imask, dmask = (1 << I) - 1, (1 << W) - 1
    answers = _drive_queries(dut, _query_beats(qs, bits, lanes), _row_stream(db, bits, lanes, dut.beats),
                             last_bit=I + W, stats=stats, vcd=vcd, valid_prob=valid_prob, ready_prob=ready_prob,
                             seed=seed, progress=progress)
    results = [RtlQueryResult([p & imask for p in got], [(p >> I) & dmask for p in got], cycles)
               for got, cycles in answers]
    return results, stats


def simulate_distances(database, query, *, bits: int, metric: str, lanes: int,
                       adder_stages: int | None = None, valid_prob: float = 1.0, ready_prob: float = 1.0,
                       seed: int = 0):
    """Stream a database through a bare :class:`rtl.distance.TorusDistanceUnit`.

    Returns ``(distances, accept_cycles, out_cycles)``: one distance per row,
    the cycle each row beat was accepted, and the cycle each distance was
    taken, counted from the first row cycle (after the query load).
    """
    from amaranth.hdl import Value
    from amaranth.sim import Simulator

    from rtl.distance import TorusDistanceUnit

    db, qs, bits = _validate(database, np.asarray(query)[None, :], bits, metric, 1, lanes)
    lanes = int(lanes)
    n_rows, dims = db.shape
    dut = TorusDistanceUnit(lanes, bits, dims, metric, adder_stages)
    B = dut.beats
    flag_last = 1 << (lanes * bits)
    beats = pack_beats(db, bits, lanes)
    flat = [int(beats[r, b]) | (flag_last if b == B - 1 else 0) for r in range(n_rows) for b in range(B)]
    qbeats = [int(x) for x in pack_beats(qs, bits, lanes)[0]]
    rows_payload = Value.cast(dut.rows.payload)
    dmask = (1 << dut.width) - 1
    rng = random.Random(seed)
    dists, accepted, taken = [], [], []

    async def testbench(ctx):
        ctx.set(dut.query.valid, 1)
        for beat in qbeats:
            ctx.set(dut.query.payload, beat)
            await ctx.tick()
        ctx.set(dut.query.valid, 0)
        i, valid, cycle = 0, 0, 0
        held = None
        while len(dists) < n_rows:
            if not valid and i < len(flat) and rng.random() < valid_prob:
                ctx.set(rows_payload, flat[i])
                ctx.set(dut.rows.valid, 1)
                valid = 1
            ready = 1 if rng.random() < ready_prob else 0
            ctx.set(dut.distances.ready, ready)
            _, _, in_ready, o_valid, o_payload = await ctx.tick().sample(
                dut.rows.ready, dut.distances.valid, Value.cast(dut.distances.payload))
            if valid and in_ready:
                accepted.append(cycle)
                i += 1
                valid = 0
                ctx.set(dut.rows.valid, 0)
            if held is not None and held != (o_valid, o_payload):
                # Stream rule 2: an offered payload stays, unchanged, until taken.
                raise AssertionError(f"distances stream dropped or changed an untaken payload at cycle {cycle}")
            held = (o_valid, o_payload) if o_valid and not ready else None
            if o_valid and ready:
                dists.append(o_payload & dmask)
                taken.append(cycle)
            cycle += 1
            if cycle > 64 * (len(flat) + 64) / max(min(valid_prob, ready_prob), 0.05):
                raise RuntimeError("distance unit stopped producing rows")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return dists, accepted, taken


def run_rtl_search(database: np.ndarray, queries: np.ndarray, *, bits: int, metric: str, k: int,
                   lanes: int, vcd: str | None = None) -> list[RtlQueryResult]:
    """Top-k search of every query on the simulated RTL search unit.

    Each result holds ``min(k, N)`` indices and distances, in the reference's
    order, and the query's cycle count (query load to last result).
    """
    results, _ = simulate_search(database, queries, bits=bits, metric=metric, k=k, lanes=lanes, vcd=vcd)
    return results


def rtl_latency(*, lanes: int, bits: int, dims: int, metric: str = "l1", adder_stages: int | None = None) -> int:
    """Cycles from a query's last row beat being accepted to its first result being offered."""
    from rtl.distance import check_unit_params
    from rtl.search import search_latency

    check_unit_params(lanes, bits, dims, metric)
    return search_latency(lanes, bits, metric, adder_stages)


def rtl_cycles_per_query(n_rows: int, *, lanes: int, bits: int, dims: int, k: int, metric: str = "l1",
                         adder_stages: int | None = None) -> int:
    """Cycles per query at full rate, predicted from the design's parameters.

    ⌈D/P⌉ query-load cycles, then ⌈D/P⌉ per row (the last row's final beat is
    accepted in cycle ⌈D/P⌉·(N+1) − 1), the latency to the first result, then
    one cycle per result.  The simulation measures the same quantity; the
    tests check that the two agree.
    """
    if n_rows < 1:
        return 0
    beats = -(-dims // lanes)
    return beats * (n_rows + 1) + rtl_latency(lanes=lanes, bits=bits, dims=dims, metric=metric,
                                              adder_stages=adder_stages) + min(k, n_rows) - 1


def _per_query(value, n_queries: int, name: str) -> list:
    """A scalar (or None) for every query, or a sequence with one per query."""
    if value is None or np.ndim(value) == 0:
        return [value] * n_queries
    if np.ndim(value) != 1 or len(value) != n_queries:
        raise TorusInputError(f"{name} must be one value or one per query ({n_queries}), got shape {np.shape(value)}")
    return list(value)


def _check_range_args(radius, cap, n_queries: int) -> tuple[list, list]:
    radii, caps = _per_query(radius, n_queries, "radius"), _per_query(cap, n_queries, "cap")
    for r in radii:
        if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer)):
            raise TorusInputError(f"radius must be an integer, got {r!r}")
    for c in caps:
        if c is not None and (isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) or c < 0):
            raise TorusInputError(f"cap must be an integer >= 0 or None, got {c!r}")
    return radii, caps


def simulate_range(database, queries, *, bits: int, metric: str, radius: int, cap: int | None, lanes: int,
                   vcd: str | None = None, adder_stages: int | None = None, valid_prob: float = 1.0,
                   ready_prob: float = 1.0, seed: int = 0, progress=None):
    """Run every query through one simulated range unit.

    ``radius`` and ``cap`` are one value for all queries or a sequence with
    one per query (the unit takes new limits between queries); ``cap=None``
    returns every match.  The radius and cap are loaded with
    each query's first beat (they cost no cycle), written exactly as the unit
    documents: a radius below 0 as −1, one above the largest distance as that
    distance, a cap above the row count as the row count.  Stalls and
    ``progress`` as :func:`simulate_search`.
    Returns ``(list[RtlRangeResult], RtlRunStats)``.
    """
    from rtl.range import TorusRangeUnit

    db, qs, bits = _validate(database, queries, bits, metric, 1, lanes)
    radii, caps = _check_range_args(radius, cap, qs.shape[0])
    lanes = int(lanes)
    n_rows, dims = db.shape
    stats = RtlRunStats()
    if n_rows == 0 or qs.shape[0] == 0:
        # No row carries the end flag, so the unit never closes a query: nothing to run, nothing matches.
        empty = np.zeros(0, dtype=np.int64)
        return [RtlRangeResult(0, empty.copy(), empty.copy(), 0) for _ in range(qs.shape[0])], stats

    dut = TorusRangeUnit(lanes, bits, dims, metric, adder_stages=adder_stages, max_rows=n_rows)
    I, W, C = dut.index_width, dut.width, dut.count_width
    top = max_distance(dims, bits, metric)
    limits = []
    for r, c in zip(radii, caps):
        reg_radius = max(-1, min(int(r), top))
        reg_cap = n_rows if c is None else min(int(c), n_rows)
        limits.append((reg_radius & ((1 << (W + 1)) - 1)) | (reg_cap << (W + 1)))
    value_bits = max(I + W, C)
    answers = _drive_queries(dut, _query_beats(qs, bits, lanes), _row_stream(db, bits, lanes, dut.beats),
                             last_bit=value_bits, stats=stats, limits=limits, vcd=vcd, valid_prob=valid_prob,
                             ready_prob=ready_prob, seed=seed, progress=progress)
    imask, dmask, cmask = (1 << I) - 1, (1 << W) - 1, (1 << C) - 1
    results = []
    for got, cycles in answers:
        *matches, closing = got
        results.append(RtlRangeResult(
            closing & cmask,
            np.array([p & imask for p in matches], dtype=np.int64),
            np.array([(p >> I) & dmask for p in matches], dtype=np.int64),
            cycles))
    return results, stats


def run_rtl_range(database: np.ndarray, queries: np.ndarray, *, bits: int, metric: str, radius: int,
                  cap: int | None, lanes: int, progress=None, vcd: str | None = None):
    """Range search of every query on the simulated RTL range unit.

    Each result holds ``count`` (all rows with distance ≤ radius), the first
    ``cap`` of their ``indices`` and ``distances`` in row order (``cap=None``:
    all) and the query's cycle count (query load to count beat), which at
    full rate is :func:`rtl_range_cycles_per_query`.  ``progress()`` is called
    after each query.  Returns ``(list[RtlRangeResult], RtlRunStats)``.
    """
    return simulate_range(database, queries, bits=bits, metric=metric, radius=radius, cap=cap, lanes=lanes,
                          vcd=vcd, progress=progress)


def rtl_range_cycles_per_query(n_rows: int, *, lanes: int, bits: int, dims: int, metric: str = "l1",
                               adder_stages: int | None = None) -> int:
    """Cycles per range query at full rate, predicted from the design's parameters.

    ⌈D/P⌉ query-load cycles (the limits load beside the first), ⌈D/P⌉ per
    row, then :func:`rtl.range.range_latency` to the count beat, which is
    taken in the cycle it is offered: ⌈D/P⌉·(N + 1) + distance latency + 2.
    Independent of the radius, the cap and the data (indices leave while the
    rows stream).  The tests check it against the simulation.
    """
    from rtl.distance import check_unit_params
    from rtl.range import range_latency

    check_unit_params(lanes, bits, dims, metric)
    if n_rows < 1:
        return 0
    beats = -(-dims // lanes)
    return beats * (n_rows + 1) + range_latency(lanes, bits, metric, adder_stages)
