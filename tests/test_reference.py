"""The NumPy reference against its own laws and a naive per-element loop."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from torus_hw import reference as ref
from torus_hw.errors import TorusInputError

from crosscheck import code_matrix

BITS = st.sampled_from(ref.BITS)
METRICS = st.sampled_from(ref.METRICS)


def naive_distance(a, b, bits, metric):
    total = 0
    for x, y in zip(a, b):
        d = (int(x) - int(y)) % (1 << bits)
        t = min(d, (1 << bits) - d)
        total += t if metric == "l1" else t * t
    return total


def naive_search(queries, db, bits, metric, k):
    out = []
    for q in queries:
        ranked = sorted((naive_distance(q, row, bits, metric), i) for i, row in enumerate(db))[:k]
        out.append(([i for _, i in ranked], [d for d, _ in ranked]))
    return out


@st.composite
def problem(draw):
    bits = draw(BITS)
    metric = draw(METRICS)
    dims = draw(st.integers(1, 3 if (bits, metric) == (16, "l2") else 24))
    rows = draw(st.integers(1, 40))
    db = draw(code_matrix(bits, rows, dims))
    queries = draw(code_matrix(bits, draw(st.integers(1, 4)), dims))
    return bits, metric, db, queries


@given(problem(), st.integers(1, 50))
def test_search_matches_naive_loop(p, k):
    bits, metric, db, queries = p
    idx, dist = ref.search(queries, db, bits=bits, metric=metric, k=k)
    assert idx.shape == dist.shape == (len(queries), min(k, len(db)))
    assert idx.dtype == dist.dtype == np.int64
    for (want_i, want_d), got_i, got_d in zip(naive_search(queries, db, bits, metric, k), idx, dist):
        assert got_i.tolist() == want_i and got_d.tolist() == want_d


@given(problem())
def test_scan_and_range_match_naive(p):
    bits, metric, db, queries = p
    q = queries[0]
    want = [naive_distance(q, row, bits, metric) for row in db]
    assert ref.scan(q, db, bits=bits, metric=metric).tolist() == want
    radius = sorted(want)[len(want) // 2]
    assert ref.range_search(q, db, bits=bits, metric=metric, radius=radius).tolist() == [
        i for i, d in enumerate(want) if d <= radius]


@given(BITS, st.integers(1, 16), st.data())
def test_metric_laws(bits, dims, data):
    a, b, c, shift = (data.draw(code_matrix(bits, 1, dims))[0] for _ in range(4))
    mod = 1 << bits
    for metric in ref.METRICS:
        if dims > ref.max_dims_u32(bits, metric):
            continue
        d = lambda x, y: int(ref.torus_distance(x, y, bits=bits, metric=metric))  # noqa: E731
        assert d(a, a) == 0
        assert d(a, b) == d(b, a)
        shifted = lambda v: ((v.astype(np.int64) + shift) % mod)  # noqa: E731
        assert d(shifted(a), shifted(b)) == d(a, b)  # invariant under translation mod 2^n
    l1 = lambda x, y: int(ref.torus_distance(x, y, bits=bits, metric="l1"))  # noqa: E731
    assert l1(a, c) <= l1(a, b) + l1(b, c)
    per_dim = ref.dim_distance(a, b, bits=bits)
    assert per_dim.min() >= 0 and per_dim.max() <= 1 << (bits - 1)


@given(st.lists(st.integers(0, 255), min_size=1, max_size=32), st.data())
def test_8bit_is_abs_of_int8_difference(a, data):
    b = data.draw(st.lists(st.integers(0, 255), min_size=len(a), max_size=len(a)))
    a8, b8 = np.array(a, dtype=np.uint8), np.array(b, dtype=np.uint8)
    want = np.abs((a8 - b8).view(np.int8).astype(np.int64))  # |(int8)(a-b)|, -128 -> 128
    assert ref.dim_distance(a8, b8, bits=8).tolist() == want.tolist()


def test_one_bit_is_hamming():
    a = np.array([0, 1, 1, 0, 1], dtype=np.uint8)
    b = np.array([1, 1, 0, 0, 0], dtype=np.uint8)
    assert ref.torus_distance(a, b, bits=1, metric="l1") == 3 == ref.torus_distance(a, b, bits=1, metric="l2")


def test_half_way_is_the_largest_per_dim_distance():
    for bits in ref.BITS:
        half = 1 << (bits - 1)
        assert ref.dim_distance([0], [half], bits=bits).tolist() == [half]
        assert ref.dim_distance([0], [(1 << bits) - 1], bits=bits).tolist() == [1]


def test_ties_go_to_the_lower_row():
    db = np.array([[5, 5], [1, 1], [1, 1], [9, 9], [1, 1]], dtype=np.uint8)
    idx, dist = ref.search(np.array([[1, 1]], dtype=np.uint8), db, k=4)
    assert idx.tolist() == [[1, 2, 4, 0]] and dist.tolist() == [[0, 0, 0, 8]]


def test_k_larger_than_n_returns_n_columns():
    db = np.zeros((3, 4), dtype=np.uint8)
    idx, dist = ref.search(db[:1], db, k=10)
    assert idx.tolist() == [[0, 1, 2]] and dist.tolist() == [[0, 0, 0]]


def test_blocked_search_crosses_block_boundaries(monkeypatch):
    monkeypatch.setattr(ref, "_BLOCK_ELEMENTS", 64 * 7)  # 7-row blocks, 1-query blocks
    rng = np.random.default_rng(3)
    db = rng.integers(0, 16, (50, 5)).astype(np.uint8)
    db[[10, 20, 30]] = db[0]
    queries = db[:3].copy()
    idx, dist = ref.search(queries, db, bits=4, metric="l2", k=6)
    for q, (wi, wd) in zip(range(3), naive_search(queries, db, 4, "l2", 6)):
        assert idx[q].tolist() == wi and dist[q].tolist() == wd


@pytest.mark.parametrize("call, message", [
    (lambda: ref.search([[0]], [[0]], bits=3), "bits must be one of"),
    (lambda: ref.search([[0]], [[0]], metric="cos"), "metric must be one of"),
    (lambda: ref.search([[0, 1]], [[0]]), "dims differ"),
    (lambda: ref.search([[256]], [[0]], bits=8), "outside [0, 2^8)"),
    (lambda: ref.search([[0.5]], [[0]]), "must be integers"),
    (lambda: ref.search([[0]], [[0]], k=0), "k must be a positive integer"),
    (lambda: ref.search([[0]], [0]), "rank 2"),
    (lambda: ref.torus_distance(np.zeros(5), np.zeros(5), bits=16, metric="l2"), "must be integers"),
    (lambda: ref.scan(np.zeros(5, np.uint16), np.zeros((1, 5), np.uint16), bits=16, metric="l2"), "beyond uint32"),
])
def test_bad_input_is_one_clear_line(call, message):
    with pytest.raises(TorusInputError, match=None) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_u32_bound():
    assert ref.max_dims_u32(16, "l2") == 3
    assert ref.max_dims_u32(8, "l1") == (2**32 - 1) // 128
