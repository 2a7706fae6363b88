"""Training objectives: supervised contrastive loss, KoLeo, gradient clipping.

* :func:`supcon_loss` — Khosla et al. 2020 over V augmented views, with the
  dot product divided by ``T · max_similarity(mode, D)`` so that the logits
  span ±1/T in every space (sphere ÷T, torusC ÷T·D, torusN ÷T·D/2), exactly
  the rescaling of the paper's code.
* :func:`koleo_loss` — Kozachenko–Leonenko spreading term (Sablayrolles et
  al. 2018): L2-normalise, nearest neighbour by largest dot product with the
  diagonal excluded, −mean log(distance + ε).  Summed over views, as in the
  paper's code (comparing one view with the other would find the twin).
* :func:`clip_gradients` — clip every gradient element to ±clip; the paper
  fixes 100 for all runs because torusC and KoLeo can produce huge steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .projections import max_similarity


def supcon_loss(features: torch.Tensor, labels: torch.Tensor, *, mode: str, dim: int,
                temperature: float = 0.1) -> torch.Tensor:
    """SupCon on projected ``features`` (B, V, E) with integer ``labels`` (B,)."""
    b, v, _ = features.shape
    anchors = features.transpose(0, 1).reshape(b * v, -1)  # view-major, as torch.cat(unbind(…, 1))
    logits = anchors @ anchors.T / (temperature * max_similarity(mode, dim))
    # Subtracting the row max changes nothing mathematically but keeps exp finite.
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    lab = labels.repeat(v)
    self_mask = torch.eye(b * v, dtype=torch.bool, device=features.device)
    positives = (lab[:, None] == lab[None, :]) & ~self_mask
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    log_prob = log_prob.masked_fill(self_mask, 0.0)
    # Every anchor has its own other view as a positive, so the count is ≥ 1.
    mean_pos = (log_prob * positives).sum(1) / positives.sum(1)
    return -mean_pos.mean()


def koleo_loss(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """KoLeo on one set of vectors (B, E): −mean log(nearest-neighbour distance + ε)."""
    x = F.normalize(x, dim=-1, eps=eps)
    with torch.no_grad():
        dots = x @ x.T
        dots.fill_diagonal_(-2.0)  # below any real dot product of unit vectors
        nearest = dots.argmax(dim=1)
    # Same ε inside the distance as nn.PairwiseDistance, so a duplicate point gives a finite gradient.
    distances = (x - x[nearest] + eps).norm(dim=-1)
    return -torch.log(distances + eps).mean()


def koleo_views(features: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """KoLeo summed over the views of (B, V, E) features."""
    return sum(koleo_loss(features[:, i], eps) for i in range(features.shape[1]))


def clip_gradients(parameters, clip: float | None) -> None:
    """Clip each gradient element to [−clip, clip] (no-op when clip is None or ≤ 0)."""
    if clip is not None and clip > 0:
        torch.nn.utils.clip_grad_value_(list(parameters), clip)
