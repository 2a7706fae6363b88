"""The RTL distance unit against the NumPy reference: per-row distances,
stalls, exact throughput, bad parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtl.distance import TorusDistanceUnit, distance_latency
from sim.rtl_sim import simulate_distances
from torus_hw.errors import TorusInputError
from torus_hw.reference import scan

from rtl_cases import KINDS, codes, specs



@given(spec=specs(), n_rows=st.integers(1, 12), kind=KINDS, seed=st.integers(0, 2**32 - 1),
       stages=st.integers(0, 4))
def test_distances_match_reference(spec, n_rows, kind, seed, stages):
    lanes, bits, dims, metric = spec
    stages = min(stages, (lanes - 1).bit_length())
    db = codes(seed, kind, (n_rows, dims), bits)
    q = codes(seed + 1, "extremes" if kind == "equal" else kind, (dims,), bits)
    got, _, _ = simulate_distances(db, q, bits=bits, metric=metric, lanes=lanes, adder_stages=stages)
    assert got == scan(q, db, bits=bits, metric=metric).tolist()



@given(spec=specs(max_lanes=8, max_dims=12), seed=st.integers(0, 2**32 - 1),
       valid_prob=st.floats(0.2, 1.0), ready_prob=st.floats(0.2, 1.0))
def test_stalls_give_same_distances(spec, seed, valid_prob, ready_prob):
    lanes, bits, dims, metric = spec
    db = codes(seed, "random", (6, dims), bits)
    q = codes(seed + 1, "random", (dims,), bits)
    got, _, _ = simulate_distances(db, q, bits=bits, metric=metric, lanes=lanes,
                                   valid_prob=valid_prob, ready_prob=ready_prob, seed=seed)
    assert got == scan(q, db, bits=bits, metric=metric).tolist()


@pytest.mark.parametrize("lanes,bits,dims,metric", [(4, 8, 16, "l1"), (16, 8, 16, "l1"), (3, 4, 10, "l2"),
                                                    (5, 16, 3, "l2"), (8, 1, 64, "l1")])
def test_throughput_is_beats_per_row(lanes, bits, dims, metric):
    n_rows = 12
    rng = np.random.default_rng(0)
    db = rng.integers(0, 1 << bits, (n_rows, dims))
    q = rng.integers(0, 1 << bits, dims)
    got, accepted, taken = simulate_distances(db, q, bits=bits, metric=metric, lanes=lanes)
    beats = -(-dims // lanes)
    assert got == scan(q, db, bits=bits, metric=metric).tolist()
    # One beat per cycle, no bubbles; one distance every ⌈D/P⌉ cycles.
    assert accepted == list(range(n_rows * beats))
    assert np.all(np.diff(taken) == beats)
    latency = distance_latency(lanes, bits, metric)
    assert taken[0] == beats - 1 + latency


@pytest.mark.parametrize("kwargs,match", [
    (dict(lanes=0, bits=8, dims=4), "lanes"),
    (dict(lanes=2, bits=3, dims=4), "bits"),
    (dict(lanes=2, bits=8, dims=0), "dims"),
    (dict(lanes=2, bits=8, dims=4, metric="cos"), "metric"),
    (dict(lanes=2, bits=16, dims=4, metric="l2"), "uint32"),
    (dict(lanes=4, bits=8, dims=4, adder_stages=3), "adder_stages"),
    (dict(lanes=True, bits=8, dims=4), "lanes"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(TorusInputError, match=match) as info:
        TorusDistanceUnit(**kwargs)
    assert "\n" not in str(info.value)
