"""The C baselines of baselines/c/: the SWAR step proved over every byte pair, every source cross-checked
bit-exactly with the reference (hypothesis, adversarial values and ties), by clang and by GCC."""

from __future__ import annotations

import shutil
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baselines.build import GCC, OPT_LEVELS, SOURCES, build_c_baseline
from crosscheck import check_scan, check_search, code_matrix, examples
from isa.spec import KernelSpec
from torus_hw.errors import TorusInputError

# (target, source) for every intrinsics/SWAR source (the plain C is cross-checked in test_machine.py).
FAST = [(t, s.name) for s in SOURCES.values() if s.fast_spec_only for t in s.targets]


@lru_cache(maxsize=64)
def baseline(target: str, spec: KernelSpec, source: str, compiler: str = "clang", opt: str = "-O2"):
    return build_c_baseline(target, spec, opt, source=source, compiler=compiler)


def torus_t(a, b):
    d = (a.astype(np.int64) - b.astype(np.int64)) % 256
    return np.minimum(d, 256 - d)


def swar_step(q, r, dtype):
    """torus_swar.c's nine-operation step and t = x + m, in numpy words of ``dtype`` (wrapping arithmetic)."""
    ones = np.array(np.iinfo(dtype).max // 0xFF, dtype)
    H, L = ones * dtype(0x80), ones * dtype(0x7F)
    qh, qx = q | H, q ^ H
    z = qh - (r & L)
    s = (z ^ r ^ qx) & H
    m = s >> dtype(7)
    x = (z ^ (s - m)) & L
    return x + m


@pytest.mark.parametrize("dtype", [np.uint32, np.uint64], ids=["32-bit", "64-bit"])
def test_swar_step_is_the_torus_distance_for_every_byte_pair_in_every_lane(dtype):
    """All 65,536 (q, r) byte pairs in every lane, the other lanes adversarial or random: t per byte is exact."""
    lanes = np.dtype(dtype).itemsize
    a, b = (g.ravel().astype(np.uint8) for g in np.meshgrid(np.arange(256), np.arange(256)))
    rng = np.random.default_rng(12)
    for lane in range(lanes):
        for fill in ("0x00", "0x7f", "0x80", "0xff", "random"):
            shape = (a.size, lanes)
            if fill == "random":
                qb, rb = rng.integers(0, 256, shape, dtype=np.uint8), rng.integers(0, 256, shape, dtype=np.uint8)
            else:
                qb = np.full(shape, int(fill, 16), np.uint8)
                rb = np.roll(qb, 1, axis=1) ^ np.uint8(0x80) if fill != "0x00" else qb.copy()
            qb[:, lane], rb[:, lane] = a, b
            t = swar_step(qb.view(dtype).ravel(), rb.view(dtype).ravel(), dtype)
            got = t.view(np.uint8).reshape(shape)
            np.testing.assert_array_equal(got, torus_t(qb, rb), err_msg=f"lane {lane}, other lanes {fill}")


@pytest.mark.parametrize("target,source", [("rv32im", "swar32"), ("rv64im", "swar64")])
def test_compiled_swar_over_every_byte_pair(target, source):
    """The C itself over every byte pair: for each query byte a, rows that differ from the query in one
    lane (every lane, every b) and rows of b in every lane."""
    dims = 8
    spec = KernelSpec("scan", "l1", 8, dims)
    kernel = baseline(target, spec, source)
    rng = np.random.default_rng(0)
    for a in range(256):
        q = rng.integers(0, 256, dims).astype(np.uint8)
        q[:] = a
        one_lane = np.repeat(q[None], 256 * dims, axis=0)
        one_lane[np.arange(256 * dims), np.arange(256 * dims) % dims] = np.repeat(np.arange(256), dims)
        every_lane = np.repeat(np.arange(256, dtype=np.uint8)[:, None], dims, axis=1)
        check_scan(target, spec, np.concatenate([one_lane, every_lane]), q, kernel=kernel)


def _search_case(draw, target: str, source: str, compiler: str):
    dims = draw(st.sampled_from([1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 130]))
    rows = draw(st.integers(1, 40))
    k = draw(st.integers(1, 16))
    opt = draw(st.sampled_from(OPT_LEVELS))
    db = draw(code_matrix(8, rows, dims))
    queries = draw(code_matrix(8, 2, dims))
    if draw(st.booleans()):
        queries[0] = db[draw(st.integers(0, rows - 1))]  # an exact hit, and ties with any equal rows
    spec = KernelSpec("search", "l1", 8, dims, k)
    check_search(target, spec, db, queries, k, kernel=baseline(target, spec, source, compiler, opt))


@pytest.mark.parametrize("target,source", FAST)
@settings(max_examples=examples(4))
@given(data=st.data())
def test_fast_baselines_search_bit_exact(target, source, data):
    _search_case(data.draw, target, source, "clang")


def _gcc_missing(target: str) -> str | None:
    driver, package, _ = GCC[target]
    return None if shutil.which(driver) else f"{driver} not installed: apt-get install -y {package}"


@pytest.mark.gcc
@pytest.mark.parametrize("target,source", FAST + [(t, "plain") for t in GCC])
@settings(max_examples=examples(2))
@given(data=st.data())
def test_gcc_baselines_search_bit_exact(target, source, data):
    why = _gcc_missing(target)
    if why:
        pytest.skip(why)
    _search_case(data.draw, target, source, "gcc")


def test_gcc_for_a_target_without_a_cross_gcc_is_refused_by_name(monkeypatch):
    """A target added without an entry in GCC: a one-line refusal before any build, not a KeyError."""
    from baselines import build

    monkeypatch.delitem(build.GCC, "rv32im")
    with pytest.raises(TorusInputError, match="no cross GCC is set up for rv32im; use --compilers clang"):
        build.check_compilers(["clang", "gcc"], ["rv32im"])
    assert build.check_compilers(["clang"], ["rv32im"]) == ["clang"]
