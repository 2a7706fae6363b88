"""torus_hw.export: what each space exports, and the codes file round trip."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from model_helpers import trained
from torus_hw.codes import TorusCodes
from torus_hw.errors import TorusInputError
from torus_hw.export import export_codes, quantise, resolve_grid
from torus_hw.projections import Clifford, Sphere, TorusN
from torus_hw.quantize import angles_to_codes, torus_codes
from torus_hw.reference import dim_distance


@pytest.mark.xdist_group("torus_model")
@pytest.mark.parametrize("bits", [1, 4, 8, 16])
def test_export_load_round_trip(tmp_path, bits):
    torch.set_num_threads(1)
    ckpt, _ = trained()
    codes = export_codes(ckpt, bits)
    codes.save(tmp_path / "c.npz")
    back = TorusCodes.load(tmp_path / "c.npz")
    assert back.bits == bits and back.dims == ckpt.settings.dim // 2
    assert np.array_equal(back.database, codes.database) and np.array_equal(back.queries, codes.queries)
    assert np.array_equal(back.database_labels, codes.database_labels)
    assert back.source["mode"] == "torusN" and back.source["dim"] == ckpt.settings.dim
    assert back.source["seed"] == ckpt.settings.seed and back.source["p_at_1_float"] == ckpt.p_at_1
    assert back.source["grid"] == "fixed" and len(back.database) == 1442 and len(back.queries) == 355


def _proj(mode, d=6, n=30, seed=0):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed)).double()
    return {"torusN": TorusN, "torusC": Clifford, "sphere": Sphere}[mode]()(x).numpy()


def test_torusN_fixed_grid_is_quantize_torus_codes():
    p = _proj("torusN")
    cdb, cq, grid, _ = quantise("torusN", p, p[:5], 8)
    assert grid == "fixed" and cdb.shape == (30, 3)
    assert np.array_equal(cdb, torus_codes(p, 8)) and np.array_equal(cq, cdb[:5])


def test_torusC_fixed_grid_is_turns_mod_1():
    x = torch.tensor([[0.0, 0.25, 0.5, -0.25, 1.75]], dtype=torch.float64)
    cdb, _, grid, _ = quantise("torusC", Clifford()(x).numpy(), Clifford()(x).numpy(), 8)
    assert grid == "fixed" and cdb.tolist() == [[0, 64, 128, 192, 192]]


def test_sphere_exports_minmax_and_sign():
    p = _proj("sphere")
    c8, _, grid, params = quantise("sphere", p, p, 8)
    assert grid == "minmax" and c8.shape == (30, 6) and c8.min() == 0 and c8.max() == 255
    assert len(params["lo"]) == 6
    c1, _, grid, _ = quantise("sphere", p, p, 1)
    assert grid == "fixed" and np.array_equal(c1, (p > 0).astype(np.uint8))
    with pytest.raises(TorusInputError, match="no fixed flat-torus grid"):
        resolve_grid("sphere", 8, "fixed")


def test_minmax_for_the_tori_uses_the_database_range():
    p = _proj("torusN", n=40)
    cdb, cq, grid, params = quantise("torusN", p[:30], p[30:], 4, "minmax")
    assert grid == "minmax" and cdb.min() == 0 and cdb.max() == 15 and cq.shape == (10, 3)


def test_bad_grid_and_bits():
    with pytest.raises(TorusInputError, match="grid must be one of"):
        resolve_grid("torusN", 8, "lattice")
    p = _proj("torusN")
    with pytest.raises(TorusInputError, match="bits must be one of"):
        quantise("torusN", p, p, 3)


@given(st.sampled_from([1, 4, 8, 16]), st.floats(-np.pi, np.pi), st.floats(-np.pi, np.pi))
def test_fixed_grid_code_distance_follows_the_circular_gap(n, a, b):
    # The property export relies on: torus distance of codes ≈ angular gap, across the wrap too.
    gap = abs(np.mod(a - b + np.pi, 2 * np.pi) - np.pi)
    ca, cb = angles_to_codes(np.array([a]), n), angles_to_codes(np.array([b]), n)
    assert abs(int(dim_distance(ca, cb, bits=n)[0]) - gap / (2 * np.pi / (1 << n))) <= 1 + 1e-9
