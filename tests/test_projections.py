"""torus_hw.projections: shapes, norms, pairing, bad dims."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from torus_hw.errors import TorusInputError
from torus_hw.projections import (Clifford, Sphere, TorusN, check_dim, flat_angles, make_projection,
                                  max_similarity, output_dim)

batch = st.integers(1, 9)
half_dim = st.integers(1, 24)


def _x(b, d, seed):
    return torch.randn(b, d, generator=torch.Generator().manual_seed(seed)) * 3


@given(batch, half_dim, st.integers(0, 2**16))
def test_torusN_each_pair_unit_norm(b, m, seed):
    y = TorusN()(_x(b, 2 * m, seed))
    assert y.shape == (b, 2 * m)
    pair_norms = y.view(b, m, 2).norm(dim=-1)
    assert torch.allclose(pair_norms, torch.ones_like(pair_norms), atol=1e-5)
    assert torch.allclose(y.norm(dim=-1), torch.full((b,), math.sqrt(m)), atol=1e-4)


@given(batch, st.integers(1, 40), st.integers(0, 2**16))
def test_torusC_doubles_dim_and_has_norm_sqrt_D(b, d, seed):
    y = Clifford()(_x(b, d, seed))
    assert y.shape == (b, 2 * d)
    assert torch.allclose(y.norm(dim=-1), torch.full((b,), math.sqrt(d)), atol=1e-4)
    # dim i pairs with i + D: each such pair is a unit circle point
    assert torch.allclose(y[:, :d] ** 2 + y[:, d:] ** 2, torch.ones(b, d), atol=1e-5)


@given(batch, st.integers(2, 40), st.integers(0, 2**16))
def test_sphere_unit_norm(b, d, seed):
    y = Sphere()(_x(b, d, seed))
    assert y.shape == (b, d)
    assert torch.allclose(y.norm(dim=-1), torch.ones(b), atol=1e-5)


def test_projections_match_output_dim_and_max_similarity():
    for mode, d in (("torusN", 12), ("torusC", 12), ("sphere", 12)):
        y = make_projection(mode)(_x(5, d, 0))
        assert y.shape[-1] == output_dim(mode, d)
        assert torch.allclose((y * y).sum(-1), torch.full((5,), max_similarity(mode, d)), atol=1e-4)


def test_torusN_is_a_pairwise_view_of_adjacent_dims():
    x = torch.tensor([[3.0, 4.0, 0.0, -2.0]])
    assert torch.allclose(TorusN()(x), torch.tensor([[0.6, 0.8, 0.0, -1.0]]))


def test_torusN_gradient_flows():
    x = _x(3, 8, 1).requires_grad_()
    TorusN()(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@given(st.integers(0, 2**16))
def test_flat_angles_recover_clifford_turns(seed):
    x = _x(4, 6, seed).double()
    theta = flat_angles("torusC", Clifford()(x).numpy())
    wrapped = np.angle(np.exp(1j * 2 * np.pi * x.numpy()))
    assert np.allclose(np.exp(1j * theta), np.exp(1j * wrapped), atol=1e-9)


@pytest.mark.parametrize("dim", [3, 31, 1])
def test_odd_dim_for_torusN_is_a_clear_error(dim):
    with pytest.raises(TorusInputError, match="torusN needs an even dim|at least 2"):
        check_dim("torusN", dim)
    with pytest.raises(TorusInputError, match="even"):
        TorusN()(torch.zeros(2, 3))


def test_unknown_mode():
    with pytest.raises(TorusInputError, match="mode must be one of"):
        make_projection("hyperbolic")
    with pytest.raises(TorusInputError, match="no flat-torus"):
        flat_angles("sphere", np.zeros((1, 4)))
