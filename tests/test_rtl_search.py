"""The RTL search unit (distance unit + top-k) against reference.search:
every index and distance bit-exact, ties to the lower row, stalls, cycles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtl.search import TorusSearchUnit
from sim.rtl_sim import rtl_cycles_per_query, simulate_search
from torus_hw.errors import TorusInputError
from torus_hw.reference import search

from rtl_cases import KINDS, codes, specs


def _check(results, queries, db, bits, metric, k):
    idx, dist = search(queries, db, bits=bits, metric=metric, k=k)
    assert [r.indices for r in results] == idx.tolist()
    assert [r.distances for r in results] == dist.tolist()



@given(spec=specs(), k=st.integers(1, 16), n_rows=st.integers(1, 40), kind=KINDS,
       seed=st.integers(0, 2**32 - 1))
def test_search_matches_reference(spec, k, n_rows, kind, seed):
    lanes, bits, dims, metric = spec
    db = codes(seed, kind, (n_rows, dims), bits)
    queries = codes(seed + 1, "extremes" if kind == "equal" else kind, (3, dims), bits)
    results, _ = simulate_search(db, queries, bits=bits, metric=metric, k=k, lanes=lanes)
    _check(results, queries, db, bits, metric, k)
    # Full rate: the measured cycles are exactly the model's.
    expect = rtl_cycles_per_query(n_rows, lanes=lanes, bits=bits, dims=dims, k=k, metric=metric)
    assert [r.cycles for r in results] == [expect] * len(queries)



@given(spec=specs(max_lanes=8, max_dims=12), k=st.integers(1, 16), n_rows=st.integers(1, 16), kind=KINDS,
       seed=st.integers(0, 2**32 - 1), valid_prob=st.floats(0.2, 0.95), ready_prob=st.floats(0.2, 0.95))
def test_stalls_give_same_answers(spec, k, n_rows, kind, seed, valid_prob, ready_prob):
    lanes, bits, dims, metric = spec
    db = codes(seed, kind, (n_rows, dims), bits)
    queries = codes(seed + 1, "random", (2, dims), bits)
    results, _ = simulate_search(db, queries, bits=bits, metric=metric, k=k, lanes=lanes,
                                 valid_prob=valid_prob, ready_prob=ready_prob, seed=seed)
    _check(results, queries, db, bits, metric, k)


def test_all_rows_tie():
    db = np.full((20, 5), 7)
    q = np.zeros((1, 5), dtype=np.int64)
    results, _ = simulate_search(db, q, bits=4, metric="l1", k=16, lanes=2)
    assert results[0].indices == list(range(16))
    assert results[0].distances == [35] * 16


@pytest.mark.parametrize("lanes,dims", [(4, 16), (16, 16), (3, 7), (1, 3)])
def test_steady_state_throughput(lanes, dims):
    n_rows, k, bits = 40, 4, 8
    rng = np.random.default_rng(lanes)
    db = rng.integers(0, 256, (n_rows, dims))
    q = rng.integers(0, 256, (2, dims))
    results, stats = simulate_search(db, q, bits=bits, metric="l1", k=k, lanes=lanes)
    _check(results, q, db, bits, "l1", k)
    beats = -(-dims // lanes)
    for first, last in zip(stats.first_beat, stats.last_beat):
        assert first == beats  # right after the query load
        assert last - first + 1 == n_rows * beats  # ⌈D/P⌉ cycles per row, no bubbles


@pytest.mark.parametrize("kwargs,match", [
    (dict(lanes=0, bits=8, dims=4), "lanes"),
    (dict(lanes=2, bits=2, dims=4), "bits"),
    (dict(lanes=2, bits=8, dims=-1), "dims"),
    (dict(lanes=2, bits=8, dims=4, metric="hamming"), "metric"),
    (dict(lanes=2, bits=8, dims=4, k=0), "k must"),
    (dict(lanes=2, bits=8, dims=4, k=17), "k must"),
    (dict(lanes=2, bits=16, dims=8, metric="l2"), "uint32"),
    (dict(lanes=2, bits=8, dims=4, max_rows=0), "max_rows"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(TorusInputError, match=match) as info:
        TorusSearchUnit(**kwargs)
    assert "\n" not in str(info.value)


def test_bad_adder_stages():
    with pytest.raises(TorusInputError, match="adder_stages"):
        TorusSearchUnit(4, 8, 16, adder_stages=5)
