"""torus_hw.losses: SupCon scaling, KoLeo behaviour, gradient clipping."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from torus_hw.losses import clip_gradients, koleo_loss, koleo_views, supcon_loss
from torus_hw.projections import Clifford, Sphere, TorusN


def _unit_circle(theta):
    return torch.stack([torch.cos(theta), torch.sin(theta)], dim=-1)


@given(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=20, unique=True), st.floats(0.2, 0.9))
def test_koleo_decreases_when_points_spread(angles, shrink):
    # Scaling every angle (all within half a circle) scales every pairwise gap,
    # keeps each point's nearest neighbour, and chord length grows with the gap.
    theta = torch.tensor(sorted(angles), dtype=torch.float64) * 3.0
    if float(np.min(np.diff(theta.numpy()))) < 1e-3:
        return
    spread = koleo_loss(_unit_circle(theta))
    tight = koleo_loss(_unit_circle(theta * shrink))
    assert spread < tight


def test_koleo_excludes_self_and_is_finite_on_duplicates():
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    loss = koleo_loss(x)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
    # Two orthogonal points: nearest distance √2 for both.
    assert math.isclose(float(koleo_loss(torch.eye(2))), -math.log(math.sqrt(2)), rel_tol=1e-5)


def test_koleo_views_sums_views():
    f = torch.randn(6, 2, 4, generator=torch.Generator().manual_seed(0))
    assert torch.isclose(koleo_views(f), koleo_loss(f[:, 0]) + koleo_loss(f[:, 1]))


@given(st.integers(0, 2**16), st.sampled_from([4, 8, 16]))
def test_supcon_rescaling_makes_spaces_comparable(seed, d):
    g = torch.Generator().manual_seed(seed)
    raw = torch.randn(8, 2, d, generator=g)
    labels = torch.randint(0, 3, (8,), generator=g)
    # torusN output has norm √(D/2); ÷T·D/2 must equal the sphere loss on the same directions.
    t = TorusN()(raw)
    a = supcon_loss(t, labels, mode="torusN", dim=d)
    b = supcon_loss(t / math.sqrt(d / 2), labels, mode="sphere", dim=d)
    assert torch.isclose(a, b, atol=1e-5)
    c = Clifford()(raw)
    a = supcon_loss(c, labels, mode="torusC", dim=d)
    b = supcon_loss(c / math.sqrt(d), labels, mode="sphere", dim=d)
    assert torch.isclose(a, b, atol=1e-5)


def test_supcon_prefers_aligned_classes():
    labels = torch.tensor([0, 0, 1, 1])
    good = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]])
    good = torch.stack([good, good], 1)
    bad = torch.stack([good[:, 0].roll(1, 0), good[:, 0].roll(1, 0)], 1)
    assert supcon_loss(good, labels, mode="sphere", dim=2) < supcon_loss(bad, labels, mode="sphere", dim=2)


def test_supcon_gradient_is_finite_for_sphere_output():
    x = torch.randn(5, 2, 6, requires_grad=True)
    supcon_loss(Sphere()(x), torch.arange(5), mode="sphere", dim=6).backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("clip", [0.5, 100.0])
def test_clip_gradients_applies_to_every_parameter(clip):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    for p in model.parameters():
        p.grad = torch.full_like(p, 1e4)
        p.grad[..., 0] = -1e4
    clip_gradients(model.parameters(), clip)
    for p in model.parameters():
        assert p.grad.abs().max() <= clip
        assert p.grad.min() == -clip and p.grad.max() == clip


def test_clip_zero_means_off():
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.tensor([1e6, -1e6])
    clip_gradients([p], 0)
    assert p.grad.abs().max() == 1e6
