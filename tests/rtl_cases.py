"""Hypothesis strategies shared by the RTL tests: specs and adversarial codes."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

BITS = (1, 4, 8, 16)


@st.composite
def specs(draw, max_lanes: int = 16, max_dims: int = 20):
    bits = draw(st.sampled_from(BITS))
    metric = draw(st.sampled_from(("l1", "l2")))
    # 16-bit l2 reaches 2^30 per dim: uint32 allows D <= 3.
    dims = draw(st.integers(1, 3 if (bits == 16 and metric == "l2") else max_dims))
    lanes = draw(st.integers(1, max_lanes))
    return lanes, bits, dims, metric


def codes(seed: int, kind: str, shape, bits: int) -> np.ndarray:
    """Codes of one kind: uniform, only the extremes 0 / 2^(n−1) / 2^n − 1, or all rows equal."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.integers(0, 1 << bits, size=shape)
    extremes = np.array([0, 1 << (bits - 1), (1 << bits) - 1])
    if kind == "extremes":
        return extremes[rng.integers(0, 3, size=shape)]
    # "equal": every row the same, so every distance ties and only row order decides.
    row = rng.integers(0, 1 << bits, size=shape[-1])
    return np.broadcast_to(row, shape).copy()


KINDS = st.sampled_from(("random", "extremes", "equal"))
