"""The RTL range unit against reference.range_search: the count of ALL
matches, the first ``cap`` indices (and their distances) in row order, bit
for bit; the radius at every boundary, ties, stalls, and the cycle model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crosscheck import CI_EXAMPLES, examples
from rtl.distance import silence_unused
from rtl.range import TorusRangeUnit, range_latency
from sim.rtl_sim import RtlRangeResult, RtlRunStats, rtl_range_cycles_per_query, run_rtl_range, simulate_range
from torus_hw.errors import TorusInputError
from torus_hw.reference import max_distance, range_search, scan

from rtl_cases import BITS, KINDS, codes, specs

# The long campaign (make test-long) also streams longer databases.
MAX_ROWS = 160 if examples(CI_EXAMPLES) > CI_EXAMPLES else 24


def check(results, queries, db, *, bits, metric, radius, cap):
    """Every query's count, indices and distances equal the reference's."""
    assert len(results) == len(queries)
    for q, r in zip(queries, results):
        want = range_search(q, db, bits=bits, metric=metric, radius=radius)
        kept = want if cap is None else want[:cap]
        assert r.count == len(want)
        assert r.indices.dtype == np.int64 and r.indices.tolist() == kept.tolist()
        assert r.distances.tolist() == scan(q, db, bits=bits, metric=metric)[kept].tolist()


RADIUS_KINDS = ("a distance", "a distance - 1", "a distance + 1", "0", "-1", "max", "max + 1", "huge", "any")


def pick_radius(kind: str, distances: np.ndarray, top: int, choice: int) -> int:
    """A radius at one of the boundaries that matter: on, just below or just above a row's distance, …"""
    d = int(distances[choice % len(distances)])
    return {"a distance": d, "a distance - 1": d - 1, "a distance + 1": d + 1, "0": 0, "-1": -1,
            "max": top, "max + 1": top + 1, "huge": 1 << 40, "any": choice % (top + 1)}[kind]


@given(spec=specs(), n_rows=st.integers(1, MAX_ROWS), kind=KINDS, seed=st.integers(0, 2**32 - 1),
       radius_kind=st.sampled_from(RADIUS_KINDS), choice=st.integers(0, 2**32 - 1),
       cap=st.one_of(st.none(), st.integers(0, MAX_ROWS + 2)))
def test_range_matches_reference(spec, n_rows, kind, seed, radius_kind, choice, cap):
    lanes, bits, dims, metric = spec
    db = codes(seed, kind, (n_rows, dims), bits)
    queries = codes(seed + 1, "extremes" if kind == "equal" else kind, (3, dims), bits)
    radius = pick_radius(radius_kind, scan(queries[0], db, bits=bits, metric=metric),
                         max_distance(dims, bits, metric), choice)
    results, _ = simulate_range(db, queries, bits=bits, metric=metric, radius=radius, cap=cap, lanes=lanes)
    check(results, queries, db, bits=bits, metric=metric, radius=radius, cap=cap)
    # Full rate: every query costs exactly the model's cycles, whatever it matched.
    expect = rtl_range_cycles_per_query(n_rows, lanes=lanes, bits=bits, dims=dims, metric=metric)
    assert [r.cycles for r in results] == [expect] * len(queries)


@given(spec=specs(max_lanes=8, max_dims=12), n_rows=st.integers(1, 16), kind=KINDS,
       seed=st.integers(0, 2**32 - 1), radius_kind=st.sampled_from(RADIUS_KINDS), choice=st.integers(0, 2**32 - 1),
       cap=st.one_of(st.none(), st.integers(0, 18)),
       valid_prob=st.floats(0.2, 0.95), ready_prob=st.floats(0.2, 0.95))
def test_stalls_give_same_answers(spec, n_rows, kind, seed, radius_kind, choice, cap, valid_prob, ready_prob):
    lanes, bits, dims, metric = spec
    db = codes(seed, kind, (n_rows, dims), bits)
    queries = codes(seed + 1, "random", (2, dims), bits)
    radius = pick_radius(radius_kind, scan(queries[0], db, bits=bits, metric=metric),
                         max_distance(dims, bits, metric), choice)
    results, _ = simulate_range(db, queries, bits=bits, metric=metric, radius=radius, cap=cap, lanes=lanes,
                                valid_prob=valid_prob, ready_prob=ready_prob, seed=seed)
    check(results, queries, db, bits=bits, metric=metric, radius=radius, cap=cap)


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_every_bits_and_metric_at_the_boundaries(bits, metric):
    """Radius −1, 0, on / below / above each row's distance, max and above, with caps around the count.

    One simulation: each query loads its own limits, so this also checks that
    new limits between queries take effect and the cap re-arms.
    """
    dims = 3 if (bits, metric) == (16, "l2") else 7
    rng = np.random.default_rng(bits * 7 + len(metric))
    db = rng.integers(0, 1 << bits, (12, dims))
    db[3] = db[9] = 0                      # two rows tie at distance 0
    db[5] = (1 << (bits - 1))              # the farthest row from the zero query
    q = np.zeros(dims, dtype=np.int64)
    dist = scan(q, db, bits=bits, metric=metric)
    top = max_distance(dims, bits, metric)
    assert dist[5] == top
    cases = [(radius, cap) for radius in sorted({-1, 0, top - 1, top, top + 1, 2**33, *dist.tolist(),
                                                 *(dist - 1).tolist()})
             for cap in (None, 0, 1, 3)]
    queries = np.broadcast_to(q, (len(cases), dims))
    radii, caps = zip(*cases)
    results, _ = simulate_range(db, queries, bits=bits, metric=metric, radius=radii, cap=caps, lanes=3)
    for (radius, cap), r in zip(cases, results):
        check([r], [q], db, bits=bits, metric=metric, radius=radius, cap=cap)


def test_ties_radius_zero_and_cap():
    db = np.array([[5, 5], [1, 2], [5, 5], [5, 5], [9, 9], [5, 5]])
    q = np.array([[5, 5], [0, 0]])
    (a, b), _ = simulate_range(db, q, bits=4, metric="l1", radius=0, cap=None, lanes=2)
    assert a.count == 4 and a.indices.tolist() == [0, 2, 3, 5] and a.distances.tolist() == [0, 0, 0, 0]
    assert b.count == 0 and b.indices.size == 0
    (a, b), _ = simulate_range(db, q, bits=4, metric="l1", radius=0, cap=2, lanes=2)
    assert a.count == 4 and a.indices.tolist() == [0, 2]  # cap < count: the first two, count still all
    (a, b), _ = simulate_range(db, q, bits=4, metric="l1", radius=0, cap=0, lanes=2)
    assert a.count == 4 and a.indices.size == 0 and a.distances.size == 0


def test_all_rows_tie_at_the_radius():
    db = np.full((20, 5), 7)
    q = np.zeros((2, 5), dtype=np.int64)
    for radius, count in ((35, 20), (34, 0)):
        results, _ = simulate_range(db, q, bits=4, metric="l1", radius=radius, cap=16, lanes=2)
        for r in results:  # the cap re-arms for every query
            assert r.count == count and r.indices.tolist() == list(range(min(count, 16)))


@pytest.mark.parametrize("lanes", range(1, 17))
def test_every_lane_count(lanes):
    rng = np.random.default_rng(lanes)
    db = rng.integers(0, 256, (9, 11))
    qs = rng.integers(0, 256, (2, 11))
    radius = int(np.median(scan(qs[0], db, bits=8, metric="l2")))
    results, stats = simulate_range(db, qs, bits=8, metric="l2", radius=radius, cap=4, lanes=lanes)
    check(results, qs, db, bits=8, metric="l2", radius=radius, cap=4)
    beats = -(-11 // lanes)
    expect = rtl_range_cycles_per_query(9, lanes=lanes, bits=8, dims=11, metric="l2")
    assert [r.cycles for r in results] == [expect] * 2 == [stats.total_cycles // 2] * 2
    assert expect == beats * 10 + range_latency(lanes, 8, "l2")
    for first, last in zip(stats.first_beat, stats.last_beat):
        assert first == beats                   # right after the query load (limits beside it)
        assert last - first + 1 == 9 * beats    # ⌈D/P⌉ cycles per row, no bubbles


def test_cycles_do_not_depend_on_matches():
    rng = np.random.default_rng(3)
    db = rng.integers(0, 16, (30, 6))
    q = rng.integers(0, 16, (1, 6))
    cycles = {simulate_range(db, q, bits=4, metric="l1", radius=r, cap=c, lanes=4)[0][0].cycles
              for r in (-1, 10, 1000) for c in (None, 0, 5)}
    assert cycles == {rtl_range_cycles_per_query(30, lanes=4, bits=4, dims=6)}


def test_run_rtl_range_api():
    rng = np.random.default_rng(11)
    db = rng.integers(0, 2, (25, 9))
    qs = rng.integers(0, 2, (4, 9))
    seen = []
    results, stats = run_rtl_range(db, qs, bits=1, metric="l1", radius=3, cap=5, lanes=4,
                                   progress=lambda: seen.append(1))
    assert all(isinstance(r, RtlRangeResult) and type(r.count) is int for r in results)
    assert isinstance(stats, RtlRunStats) and stats.total_cycles == sum(r.cycles for r in results)
    assert len(seen) == 4
    check(results, qs, db, bits=1, metric="l1", radius=3, cap=5)


def test_empty_database_and_no_queries():
    q = np.zeros((2, 3), dtype=np.int64)
    results, _ = run_rtl_range(np.zeros((0, 3), dtype=np.int64), q, bits=8, metric="l1", radius=5, cap=2, lanes=2)
    assert [(r.count, r.indices.tolist(), r.cycles) for r in results] == [(0, [], 0)] * 2
    assert run_rtl_range(np.zeros((4, 3), dtype=np.int64), q[:0], bits=8, metric="l1", radius=5, cap=2,
                         lanes=2)[0] == []


def test_numpy_integer_radius_and_cap():
    db = np.arange(12).reshape(6, 2) % 16
    q = np.zeros((1, 2), dtype=np.int64)
    results, _ = run_rtl_range(db, q, bits=4, metric="l1", radius=np.int64(6), cap=np.uint8(2), lanes=1)
    check(results, q, db, bits=4, metric="l1", radius=6, cap=2)


@pytest.mark.parametrize("kwargs,match", [
    (dict(radius=1.5), "radius must be an integer"),
    (dict(radius=True), "radius must be an integer"),
    (dict(radius="3"), "radius must be an integer"),
    (dict(cap=-1), "cap must be an integer >= 0"),
    (dict(cap=2.0), "cap must be an integer >= 0"),
    (dict(cap=False), "cap must be an integer >= 0"),
    (dict(lanes=0), "lanes"),
    (dict(lanes=True), "lanes"),
    (dict(bits=3), "bits"),
    (dict(metric="cos"), "metric"),
    (dict(queries=np.zeros((1, 5), dtype=int)), "dims differ"),
    (dict(database=np.zeros((3, 4))), "integers"),
    (dict(database=np.full((3, 4), 256)), "outside"),
    (dict(database=np.zeros((3, 9), dtype=int), queries=np.zeros((1, 9), dtype=int), bits=16, metric="l2"),
     "uint32"),
])
def test_bad_input_is_one_line(kwargs, match):
    args = dict(database=np.zeros((3, 4), dtype=int), queries=np.zeros((1, 4), dtype=int), bits=8, metric="l1",
                radius=3, cap=2, lanes=2)
    args.update(kwargs)
    with pytest.raises(TorusInputError, match=match) as info:
        run_rtl_range(**args)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs,match", [
    (dict(lanes=0, bits=8, dims=4), "lanes"),
    (dict(lanes=2, bits=2, dims=4), "bits"),
    (dict(lanes=2, bits=8, dims=0), "dims"),
    (dict(lanes=2, bits=8, dims=4, metric="hamming"), "metric"),
    (dict(lanes=2, bits=16, dims=8, metric="l2"), "uint32"),
    (dict(lanes=2, bits=8, dims=4, max_rows=0), "max_rows"),
    (dict(lanes=2, bits=8, dims=4, adder_stages=2), "adder_stages"),
])
def test_bad_unit_parameters(kwargs, match):
    with pytest.raises(TorusInputError, match=match) as info:
        TorusRangeUnit(**kwargs)
    assert "\n" not in str(info.value)


def test_widths():
    unit = TorusRangeUnit(4, 8, 16, "l1", max_rows=1 << 16)
    assert (unit.width, unit.index_width, unit.count_width) == (12, 16, 17)  # 16·128 = 2048 needs 12 bits
    assert unit.limits.payload.shape().size == 13 + 17
    # input, δ, |δ|, two tree registers, accumulator; comparator, count beat
    assert unit.latency == range_latency(4, 8, "l1") == 8
    one = TorusRangeUnit(1, 1, 1, "l1", max_rows=1)
    assert (one.width, one.index_width, one.count_width) == (1, 1, 1)
    silence_unused(unit)
    silence_unused(one)


def test_per_query_limits_must_match_the_queries():
    db, qs = np.zeros((3, 4), dtype=int), np.zeros((2, 4), dtype=int)
    with pytest.raises(TorusInputError, match=r"radius must be one value or one per query \(2\)"):
        run_rtl_range(db, qs, bits=8, metric="l1", radius=[1, 2, 3], cap=None, lanes=2)
    with pytest.raises(TorusInputError, match="cap must be an integer >= 0 or None"):
        run_rtl_range(db, qs, bits=8, metric="l1", radius=1, cap=[1, -2], lanes=2)
    results, _ = run_rtl_range(db, qs, bits=8, metric="l1", radius=[-1, 0], cap=[None, 1], lanes=2)
    assert [(r.count, r.indices.tolist()) for r in results] == [(0, []), (3, [0])]


def _overlapped_run(db, queries, *, bits, metric, lanes, radius, cap, ready_prob, seed):
    """Queries back to back: the next query's beats follow the previous one's last row
    at once, without waiting for its results, while the consumer stalls at random.

    Returns per query ``(count, indices)``.  (The harness waits for each count
    before the next query; this is the overlapped use the unit also allows.)
    """
    import random

    from amaranth.hdl import Value
    from amaranth.sim import Simulator

    from sim.rtl_sim import _query_beats, _row_stream

    dut = TorusRangeUnit(lanes, bits, db.shape[1], metric, max_rows=len(db))
    flat = _row_stream(db, bits, lanes, dut.beats)
    qbeats = _query_beats(queries, bits, lanes)
    I, W, C = dut.index_width, dut.width, dut.count_width
    last_bit = max(I + W, C)
    rng = random.Random(seed)
    answers = []

    async def producer(ctx):
        ctx.set(Value.cast(dut.limits.payload), (radius & ((1 << (W + 1)) - 1)) | (cap << (W + 1)))
        ctx.set(dut.limits.valid, 1)
        for qb in qbeats:
            ctx.set(dut.query.valid, 1)
            for beat in qb:
                ctx.set(dut.query.payload, beat)
                await ctx.tick()
                ctx.set(dut.limits.valid, 0)
            ctx.set(dut.query.valid, 0)
            ctx.set(dut.rows.valid, 1)
            for v in flat:
                ctx.set(Value.cast(dut.rows.payload), v)
                await ctx.tick().until(dut.rows.ready)
            ctx.set(dut.rows.valid, 0)

    async def consumer(ctx):
        cycles = 0
        for _ in qbeats:
            got = []
            while not got or not (got[-1] >> last_bit) & 1:
                cycles += 1
                assert cycles < 40 * (len(flat) + 10 * dut.latency) * len(qbeats), "the unit hung"
                ctx.set(dut.results.ready, rng.random() < ready_prob)
                _, _, valid, ready, payload = await ctx.tick().sample(
                    dut.results.valid, dut.results.ready, Value.cast(dut.results.payload))
                if valid and ready:
                    got.append(payload)
            answers.append((got[-1] & ((1 << C) - 1), [p & ((1 << I) - 1) for p in got[:-1]]))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer, background=True)
    sim.add_testbench(consumer)
    sim.run()
    return answers


@given(spec=specs(max_lanes=4, max_dims=6), n_rows=st.integers(1, 10), seed=st.integers(0, 2**32 - 1),
       cap=st.integers(0, 11), ready_prob=st.floats(0.2, 0.8))
def test_back_to_back_queries_do_not_overtake_the_count(spec, n_rows, seed, cap, ready_prob):
    lanes, bits, dims, metric = spec
    db = codes(seed, "random", (n_rows, dims), bits)
    queries = codes(seed + 1, "random", (6, dims), bits)
    radius = int(np.median(scan(queries[0], db, bits=bits, metric=metric)))
    answers = _overlapped_run(db, queries, bits=bits, metric=metric, lanes=lanes, radius=radius,
                              cap=min(cap, n_rows), ready_prob=ready_prob, seed=seed)
    assert len(answers) == len(queries)
    for q, (count, indices) in zip(queries, answers):
        want = range_search(q, db, bits=bits, metric=metric, radius=radius)
        assert (count, indices) == (len(want), want[:cap].tolist())
