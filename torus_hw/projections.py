"""The three embedding spaces of the paper, as torch projection modules.

=========  ===========================================  ========  =========  ================
mode       projection of the head output x ∈ R^D          out dim   norm       intrinsic dim
=========  ===========================================  ========  =========  ================
torusN     pairwise L2 ("L2p"): pairs (0,1),(2,3)… → unit  D         √(D/2)     D/2
torusC     Clifford: [cos 2πx_1…cos 2πx_D, sin 2πx_1…]      2D        √D         D
sphere     L2 normalisation                               D         1          D − 1
=========  ===========================================  ========  =========  ================

Every output lives on a sphere (constant norm), so cosine similarity is the
natural float-space measure in all three.  The two torus outputs map
distortion-free onto a flat torus (one angle per pair); this module also owns
that map (:func:`flat_angles`) so that export and evaluation agree on which
coordinates pair up.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .errors import TorusInputError

MODES = ("torusN", "torusC", "sphere")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise TorusInputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def check_dim(mode: str, dim) -> int:
    """D is the head's output width, before projection (the paper's convention)."""
    check_mode(mode)
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
        raise TorusInputError(f"dim must be an integer of at least 2, got {dim!r}")
    if mode == "torusN" and dim % 2:
        raise TorusInputError(f"torusN needs an even dim (it normalises pairs of dims), got {dim}")
    return dim


class TorusN(nn.Module):
    """Pairwise L2 normalisation: each adjacent pair (2i, 2i+1) becomes a unit 2-vector."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x.shape[-1]
        if d % 2:
            raise TorusInputError(f"torusN needs an even last dim, got {d}")
        # A view, not a copy: the pairs are adjacent in memory, as in the paper's code.
        pairs = x.view(*x.shape[:-1], d // 2, 2)
        return F.normalize(pairs, dim=-1).view(x.shape)


class Clifford(nn.Module):
    """torusC: x (in turns) → [cos 2πx, sin 2πx]; dim i pairs with dim i + D."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phase = (2.0 * math.pi) * x
        return torch.cat([torch.cos(phase), torch.sin(phase)], dim=-1)


class Sphere(nn.Module):
    """Plain L2 normalisation onto the unit hypersphere."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=-1)


def make_projection(mode: str) -> nn.Module:
    return {"torusN": TorusN, "torusC": Clifford, "sphere": Sphere}[check_mode(mode)]()


def output_dim(mode: str, dim: int) -> int:
    return 2 * dim if check_mode(mode) == "torusC" else dim


def max_similarity(mode: str, dim: int) -> float:
    """Largest dot product between two projected vectors (the squared norm).

    SupCon divides by it so that similarities span ±1 in every space, as the
    paper's code does: sphere 1, torusC D, torusN D/2.
    """
    return {"sphere": 1.0, "torusC": float(dim), "torusN": dim / 2.0}[check_mode(mode)]


def flat_angles(mode: str, projected):
    """Projected torus output (N, out_dim) → flat-torus angles (N, m) in (−π, π].

    torusN pairs adjacent dims (m = D/2); torusC pairs dim i with i + D
    (m = D), which recovers 2π·x wrapped.  The sphere has no flat map.
    """
    import numpy as np

    from .quantize import pair_angles

    check_mode(mode)
    p = np.asarray(projected, dtype=np.float64)
    if mode == "torusN":
        return pair_angles(p)
    if mode == "torusC":
        half = p.shape[-1] // 2
        return np.arctan2(p[..., half:], p[..., :half])
    raise TorusInputError("the sphere has no flat-torus angles (it cannot be flattened without distortion)")
