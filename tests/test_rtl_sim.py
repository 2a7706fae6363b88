"""The RTL simulation harness's public API and the ``torus-hw rtl`` CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.rtl_sim import RtlQueryResult, pack_beats, rtl_cycles_per_query, rtl_latency, run_rtl_search
from torus_hw.cli import main
from torus_hw.errors import TorusInputError
from torus_hw.reference import search


@given(bits=st.sampled_from((1, 4, 8, 16)), lanes=st.integers(1, 20), dims=st.integers(1, 40),
       seed=st.integers(0, 2**32 - 1))
def test_pack_beats_round_trip(bits, lanes, dims, seed):
    codes = np.random.default_rng(seed).integers(0, 1 << bits, (3, dims))
    beats = pack_beats(codes, bits, lanes)
    assert beats.shape == (3, -(-dims // lanes))
    for r in range(3):
        lanes_out = [(int(b) >> (i * bits)) & ((1 << bits) - 1) for b in beats[r] for i in range(lanes)]
        assert lanes_out[:dims] == codes[r].tolist()
        assert not any(lanes_out[dims:])  # pad lanes are zero


def test_run_rtl_search_api():
    rng = np.random.default_rng(5)
    db = rng.integers(0, 256, (30, 10), dtype=np.uint8)
    q = rng.integers(0, 256, (3, 10), dtype=np.uint8)
    results = run_rtl_search(db, q, bits=8, metric="l2", k=5, lanes=4)
    idx, dist = search(q, db, bits=8, metric="l2", k=5)
    assert all(isinstance(r, RtlQueryResult) for r in results)
    assert [r.indices for r in results] == idx.tolist()
    assert [r.distances for r in results] == dist.tolist()
    assert all(type(i) is int for r in results for i in r.indices + r.distances)
    assert [r.cycles for r in results] == [rtl_cycles_per_query(30, lanes=4, bits=8, dims=10, k=5, metric="l2")] * 3


def test_k_larger_than_rows_and_empty_database():
    db = np.array([[3, 1], [0, 0]])
    q = np.array([[0, 0]])
    (r,) = run_rtl_search(db, q, bits=4, metric="l1", k=16, lanes=2)
    assert r.indices == [1, 0] and r.distances == [0, 4]
    (e,) = run_rtl_search(np.zeros((0, 2), dtype=np.int64), q, bits=4, metric="l1", k=3, lanes=2)
    assert e.indices == [] and e.distances == [] and e.cycles == 0


def test_vcd_trace(tmp_path):
    path = tmp_path / "trace.vcd"
    run_rtl_search(np.array([[1, 2, 3]]), np.array([[0, 0, 0]]), bits=8, metric="l1", k=1, lanes=2, vcd=str(path))
    text = path.read_text()
    assert "$enddefinitions" in text and "top_dist0" in text


def test_latency_helper():
    # 4 lanes: input, δ, |δ|, two tree registers, accumulator, then the tracker.
    assert rtl_latency(lanes=4, bits=8, dims=16) == 7
    assert rtl_latency(lanes=4, bits=8, dims=16, metric="l2") == 8
    assert rtl_latency(lanes=4, bits=1, dims=16) == 6  # Hamming needs no |δ| stage
    assert rtl_latency(lanes=1, bits=8, dims=16) == 5


@pytest.mark.parametrize("kwargs,match", [
    (dict(database=np.zeros((3, 4)), queries=np.zeros((1, 4), dtype=int)), "integers"),
    (dict(database=np.zeros((3, 4), dtype=int), queries=np.zeros((1, 5), dtype=int)), "dims differ"),
    (dict(database=np.full((3, 4), 256), queries=np.zeros((1, 4), dtype=int)), "outside"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(TorusInputError, match=match):
        run_rtl_search(**kwargs, bits=8, metric="l1", k=1, lanes=2)


def test_bad_k_and_lanes():
    db, q = np.zeros((3, 4), dtype=int), np.zeros((1, 4), dtype=int)
    with pytest.raises(TorusInputError, match="k must"):
        run_rtl_search(db, q, bits=8, metric="l1", k=17, lanes=2)
    with pytest.raises(TorusInputError, match="lanes"):
        run_rtl_search(db, q, bits=8, metric="l1", k=1, lanes=0)


def test_cli_writes_verilog(tmp_path, capsys):
    out = tmp_path / "rtl"
    assert main(["rtl", "--lanes", "4", "--bits", "8", "--dims", "10", "--k", "3", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["beats_per_row"] == 3 and summary["latency_cycles"] == 7 and summary["synth"] == []
    text = (out / "torus_search.v").read_text()
    assert "module torus_search" in text


@pytest.mark.parametrize("argv,match", [
    (["--lanes", "0", "--bits", "8", "--dims", "4"], "lanes"),
    (["--lanes", "2", "--bits", "3", "--dims", "4"], "bits"),
    (["--lanes", "2", "--bits", "8", "--dims", "0"], "dims"),
    (["--lanes", "2", "--bits", "8", "--dims", "4", "--k", "17"], "k must"),
    (["--lanes", "2", "--bits", "8", "--dims", "4", "--metric", "cos"], "metric"),
    (["--lanes", "2", "--bits", "16", "--dims", "9", "--metric", "l2"], "uint32"),
    (["--lanes", "2", "--bits", "8", "--dims", "4", "--synth", "xc7"], "synth"),
    (["--lanes", "two", "--bits", "8", "--dims", "4"], "lanes"),
])
def test_cli_bad_input_exits_2(tmp_path, capsys, argv, match):
    assert main(["rtl", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torus-hw: error:") and err.count("\n") == 1 and match in err
    assert not (tmp_path / "o").exists()


def test_cli_out_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["rtl", "--lanes", "2", "--bits", "8", "--dims", "4", "--out", str(f)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_run_rtl_answers_every_registered_kernel():
    """The generic entry point: each kernel's fields, as Python ints, and the predicted cycles."""
    from sim.rtl_sim import check_rtl_size, rtl_cycles, rtl_kernels, run_rtl
    from torus_hw.reference import range_search, scan

    assert rtl_kernels()[:2] == ("search", "range")
    rng = np.random.default_rng(9)
    db = rng.integers(0, 16, (14, 5))
    qs = rng.integers(0, 16, (2, 5))
    params = {"search": {"k": 3}, "range": {"radius": 12, "cap": 2}}
    idx, dist = search(qs, db, bits=4, metric="l1", k=3)
    for kernel in ("search", "range"):
        answers = run_rtl(kernel, db, qs, bits=4, metric="l1", lanes=2, params=params[kernel])
        cycles = rtl_cycles(kernel, 14, lanes=2, bits=4, dims=5, params=params[kernel])
        assert [a.cycles for a in answers] == [cycles] * 2
        assert check_rtl_size(kernel, lanes=2, bits=4, dims=5, metric="l1", params=params[kernel]) > 0
        for a, q, i, d in zip(answers, qs, idx, dist):
            assert all(type(x) is int for x in a.values["indices"] + a.values["distances"])
            if kernel == "search":
                assert a.values == {"indices": i.tolist(), "distances": d.tolist()}
            else:
                want = range_search(q, db, bits=4, metric="l1", radius=12)
                assert a.values == {"count": len(want), "indices": want[:2].tolist(),
                                    "distances": scan(q, db, bits=4, metric="l1")[want[:2]].tolist()}


@pytest.mark.parametrize("kernel,params,match", [
    ("topk", {}, "the RTL has no 'topk' kernel; choose one of search, range"),
    ("range", {}, "the RTL range unit needs radius"),
    ("range", {"radius": 3, "k": 2}, "k applies to the search kernel only, got k=2 for range"),
    ("search", {"radius": 3}, "radius applies to the range kernel only"),
    ("search", {"window": 3}, "no RTL unit takes a parameter 'window'"),
])
def test_run_rtl_refuses_bad_kernels_and_parameters(kernel, params, match):
    from sim.rtl_sim import run_rtl

    with pytest.raises(TorusInputError, match=match):
        run_rtl(kernel, np.zeros((3, 4), dtype=int), np.zeros((1, 4), dtype=int), bits=8, metric="l1", lanes=2,
                params=params)


def test_another_units_default_is_accepted():
    """k=1 (every CLI run's --k) is not refused for the range unit."""
    from sim.rtl_sim import run_rtl

    (a,) = run_rtl("range", np.zeros((3, 4), dtype=int), np.zeros((1, 4), dtype=int), bits=8, metric="l1", lanes=2,
                   params={"radius": 0, "k": 1})
    assert a.values["count"] == 3
