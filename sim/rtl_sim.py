"""RTL simulation harness: runs every RTL unit of the registry
(:mod:`rtl.units`: the search unit, the range unit, …) under ``amaranth.sim``
(one async testbench) and measures cycles per query.

The testbench is the same for every unit: it loads a query (and the unit's
extra input streams, from its spec's :meth:`~rtl.units.UnitSpec.query_loads`),
streams the database and takes ``results`` beats until one has its ``last``
field set; the spec reads them back as the kernel's answer.  :func:`simulate` and
:func:`run_rtl` take the kernel by name, so a new unit needs nothing here.

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
from torus_hw.reference import as_codes, check_bits, check_metric

__all__ = ["RtlAnswer", "RtlQueryResult", "RtlRangeResult", "RtlRunStats", "check_rtl_size", "pack_beats",
           "rtl_cycles", "rtl_cycles_per_query", "rtl_kernels", "rtl_latency", "rtl_range_cycles_per_query", "run_rtl",
           "run_rtl_range", "run_rtl_search", "simulate", "simulate_distances", "simulate_range", "simulate_search"]


@dataclass
class RtlAnswer:
    """One query's answer from an RTL unit.

    ``values`` holds the kernel's answer fields as Python ints (search:
    ``indices``, ``distances``; range: ``count``, ``indices``, ``distances``,
    row order); ``cycles`` runs from its first query beat to its last result.
    """

    values: dict
    cycles: int


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


def _validate(database, queries, bits, metric, lanes):
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


def _drive_queries(dut, query_beats, flat, *, last_bit: int, stats: "RtlRunStats",
                   loads: dict[str, list[int]] | None = None, vcd: str | None = None, valid_prob: float = 1.0,
                   ready_prob: float = 1.0, seed: int = 0, progress=None) -> list[tuple[list[int], int]]:
    """Run every query through one simulated unit with ``query``/``rows``/``results`` streams.

    For each query: present its beats on ``query`` (and, for each stream in
    ``loads`` whose packed payload for this query differs from the previous
    query's, that payload on that stream in its first query cycle), stream
    every row beat, and take ``results`` beats until one
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
    loads = loads or {}
    load_payloads = {name: Value.cast(getattr(dut, name).payload) for name in loads}
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
            # Loads only when they change, as a host sets a register once for a
            # batch: the unit keeps them (the range unit re-arms its cap for every query).
            changed = [name for name, payloads in loads.items() if qi == 0 or payloads[qi] != payloads[qi - 1]]
            for name in changed:
                ctx.set(load_payloads[name], loads[name][qi])
                ctx.set(getattr(dut, name).valid, 1)
            for beat in qb:
                ctx.set(dut.query.payload, beat)
                await ctx.tick()
                cycle += 1
                for name in changed:
                    ctx.set(getattr(dut, name).valid, 0)
                changed = []
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


def simulate(kernel: str, database, queries, *, bits: int, metric: str, lanes: int, params: dict | None = None,
             vcd: str | None = None, adder_stages: int | None = None, valid_prob: float = 1.0,
             ready_prob: float = 1.0, seed: int = 0, progress=None):
    """Run every query through one simulated unit of ``kernel`` (:func:`rtl_kernels`).

    ``params`` are the kernel's (search: ``k``; range: ``radius`` and
    ``cap``, each one value or one per query); ``valid_prob`` /
    ``ready_prob`` below 1 insert random stalls (see :func:`_drive_queries`);
    ``progress()`` is called after each query.  Returns
    ``(list[RtlAnswer], RtlRunStats)``.
    """
    from rtl.units import split_params

    db, qs, bits = _validate(database, queries, bits, metric, lanes)
    spec, hardware, query = split_params(kernel, params or {})
    query = spec.check_query(qs.shape[0], **query)
    lanes = int(lanes)
    n_rows, dims = db.shape
    stats = RtlRunStats()
    dut = spec.build(lanes, bits, dims, metric, adder_stages=adder_stages, max_rows=max(n_rows, 1), **hardware)
    if n_rows == 0 or qs.shape[0] == 0:
        # Built only to check its parameters.  No row carries the end flag, so the unit would never close a query.
        from rtl.distance import silence_unused

        silence_unused(dut)
        return [RtlAnswer(spec.empty_answer(), 0) for _ in range(qs.shape[0])], stats
    answers = _drive_queries(dut, _query_beats(qs, bits, lanes), _row_stream(db, bits, lanes, dut.beats),
                             last_bit=dut.results.payload.shape()["last"].offset, stats=stats,
                             loads=spec.query_loads(dut, n_rows, **query), vcd=vcd, valid_prob=valid_prob,
                             ready_prob=ready_prob, seed=seed, progress=progress)
    return [RtlAnswer(spec.read_answer(dut, got), cycles) for got, cycles in answers], stats


def run_rtl(kernel: str, database: np.ndarray, queries: np.ndarray, *, bits: int, metric: str, lanes: int,
            params: dict | None = None, progress=None) -> list[RtlAnswer]:
    """``kernel`` on the simulated RTL unit for every query: each answer's ``values`` and ``cycles``."""
    return simulate(kernel, database, queries, bits=bits, metric=metric, lanes=lanes, params=params,
                    progress=progress)[0]


def rtl_kernels() -> tuple[str, ...]:
    """The kernels with an RTL unit, the default (search) first."""
    from rtl.units import kernels

    return kernels()


def rtl_cycles(kernel: str, n_rows: int, *, lanes: int, bits: int, dims: int, metric: str = "l1",
               adder_stages: int | None = None, params: dict | None = None) -> int:
    """Cycles per query of ``kernel``'s unit at full rate, predicted from the design's parameters.

    The simulation measures the same quantity; the tests check that the two agree.
    """
    from rtl.units import split_params

    latency = rtl_latency(lanes=lanes, bits=bits, dims=dims, metric=metric, adder_stages=adder_stages, kernel=kernel,
                          params=params)
    if n_rows < 1:
        return 0
    spec, hardware, _ = split_params(kernel, params or {}, run=False)
    return spec.cycles_per_query(n_rows, beats=-(-dims // lanes), latency=latency, **hardware)


def rtl_latency(*, lanes: int, bits: int, dims: int, metric: str = "l1", adder_stages: int | None = None,
                kernel: str = "search", params: dict | None = None) -> int:
    """Cycles from a query's last row beat being accepted to its first result after the rows being offered."""
    from rtl.distance import check_unit_params
    from rtl.units import split_params

    check_unit_params(lanes, bits, dims, metric)
    spec, hardware, _ = split_params(kernel, params or {}, run=False)
    return spec.latency(lanes, bits, metric, adder_stages, **hardware)


def check_rtl_size(kernel: str, *, lanes: int, bits: int, dims: int, metric: str, params: dict | None = None,
                   limit: int | None = None, adder_stages: int | None = None, max_rows: int = 1 << 16) -> int:
    """Refuse, before any elaboration, a unit beyond ``limit`` estimated register bits (default
    ``rtl.size.MAX_FLIPFLOPS``); return its size (:func:`rtl.size.check_unit_size`)."""
    from rtl.size import check_unit_size

    return check_unit_size(kernel, lanes=lanes, bits=bits, dims=dims, metric=metric, params=params, limit=limit,
                           adder_stages=adder_stages, max_rows=max_rows)


def simulate_search(database, queries, *, bits: int, metric: str, k: int, lanes: int, **options):
    """:func:`simulate` of the search kernel, as ``(list[RtlQueryResult], RtlRunStats)``."""
    answers, stats = simulate("search", database, queries, bits=bits, metric=metric, lanes=lanes, params={"k": k},
                              **options)
    return [RtlQueryResult(a.values["indices"], a.values["distances"], a.cycles) for a in answers], stats


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

    db, qs, bits = _validate(database, np.asarray(query)[None, :], bits, metric, lanes)
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


def rtl_cycles_per_query(n_rows: int, *, lanes: int, bits: int, dims: int, k: int, metric: str = "l1",
                         adder_stages: int | None = None) -> int:
    """The search unit's :func:`rtl_cycles`: ⌈D/P⌉·(N+1) + latency + min(k, N) − 1."""
    return rtl_cycles("search", n_rows, lanes=lanes, bits=bits, dims=dims, metric=metric, adder_stages=adder_stages,
                      params={"k": k})


def simulate_range(database, queries, *, bits: int, metric: str, radius: int, cap: int | None, lanes: int,
                   **options):
    """:func:`simulate` of the range kernel, as ``(list[RtlRangeResult], RtlRunStats)``.

    ``radius`` and ``cap`` are one value for all queries or a sequence with
    one per query (the unit takes new limits between queries, loaded with
    the query's first beat: they cost no cycle); ``cap=None`` returns every
    match.
    """
    answers, stats = simulate("range", database, queries, bits=bits, metric=metric, lanes=lanes,
                              params={"radius": radius, "cap": cap}, **options)
    results = [RtlRangeResult(a.values["count"], np.array(a.values["indices"], dtype=np.int64),
                              np.array(a.values["distances"], dtype=np.int64), a.cycles) for a in answers]
    return results, stats


def run_rtl_range(database: np.ndarray, queries: np.ndarray, *, bits: int, metric: str, radius: int,
                  cap: int | None, lanes: int, progress=None, vcd: str | None = None):
    """Range search of every query on the simulated RTL range unit.

    Each result holds ``count`` (all rows with distance ≤ radius), the first
    ``cap`` of their ``indices`` and ``distances`` in row order (``cap=None``:
    all) and the query's cycle count (query load to count beat), which at
    full rate is :func:`rtl_range_cycles_per_query`.  ``radius`` and ``cap``
    may also be sequences, one per query.  ``progress()`` is called after
    each query.  Returns ``(list[RtlRangeResult], RtlRunStats)``.
    """
    return simulate_range(database, queries, bits=bits, metric=metric, radius=radius, cap=cap, lanes=lanes,
                          vcd=vcd, progress=progress)


def rtl_range_cycles_per_query(n_rows: int, *, lanes: int, bits: int, dims: int, metric: str = "l1",
                               adder_stages: int | None = None) -> int:
    """The range unit's :func:`rtl_cycles`: ⌈D/P⌉·(N + 1) + :func:`rtl.range.range_latency`, the cycle
    its count beat is taken in, whatever the radius, the cap or the data (indices leave while the rows
    stream)."""
    return rtl_cycles("range", n_rows, lanes=lanes, bits=bits, dims=dims, metric=metric, adder_stages=adder_stages)
