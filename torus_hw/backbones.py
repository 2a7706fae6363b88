"""Networks: encoders (MLP, small CNN), the paper's projection head, the full model.

``EmbeddingModel`` = standardise → encoder → head (Linear → ReLU → Linear to D,
as in the paper's SupCon code) → projection (torusN / torusC / sphere).  The
per-feature mean and standard deviation of the database are buffers of the
model, so a checkpoint embeds new inputs exactly as it saw the training set.
"""

from __future__ import annotations

import torch
from torch import nn

from .projections import check_dim, make_projection


class MLP(nn.Module):
    """For digits and plain vectors."""

    def __init__(self, in_features: int, width: int = 256, depth: int = 2):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(in_features if i == 0 else width, width), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.features = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class SmallCNN(nn.Module):
    """Three conv blocks for 32×32-style images (any size works: global pooling at the end)."""

    def __init__(self, channels: int = 3, width: int = 64):
        super().__init__()

        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.net = nn.Sequential(
            *block(channels, width), *block(width, width), nn.MaxPool2d(2),
            *block(width, 2 * width), *block(2 * width, 2 * width), nn.MaxPool2d(2),
            *block(2 * width, 4 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.features = 4 * width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class EmbeddingModel(nn.Module):
    def __init__(self, *, kind: str, input_shape: tuple[int, ...], mode: str, dim: int, width: int = 256):
        super().__init__()
        check_dim(mode, dim)
        self.mode, self.dim = mode, dim
        self.register_buffer("mean", torch.zeros(input_shape))
        self.register_buffer("std", torch.ones(input_shape))
        if kind == "image":
            self.encoder: nn.Module = SmallCNN(channels=input_shape[0], width=max(8, width // 4))
        else:
            n = 1
            for s in input_shape:
                n *= s
            self.encoder = MLP(n, width=width)
        f = self.encoder.features
        self.head = nn.Sequential(nn.Linear(f, f), nn.ReLU(), nn.Linear(f, dim))
        self.projection = make_projection(mode)

    def set_standardisation(self, x_db: torch.Tensor, kind: str) -> None:
        """Vectors: per-feature statistics; images: per channel; digits: one global scale.

        Digits must not be scaled per pixel: border pixels are almost always
        0, and dividing by their tiny spread would blow the augmentation
        noise up into the dominant signal.
        """
        if kind == "vector":
            mean, std = x_db.mean(0), x_db.std(0).clamp_min(1e-6)
        elif kind == "image":
            mean = x_db.mean((0, 2, 3))[:, None, None].expand_as(self.mean)
            std = x_db.std((0, 2, 3))[:, None, None].expand_as(self.std)
        else:
            mean, std = x_db.mean(0), x_db.std().expand_as(self.std)
        self.mean.copy_(mean)
        self.std.copy_(std.clamp_min(1e-6))

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """Head output before projection (torusC's angles in turns)."""
        return self.head(self.encoder((x - self.mean) / self.std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.raw(x))
