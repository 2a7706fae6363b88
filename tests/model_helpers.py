"""One short seeded digits model shared by the model-side tests.

Training costs seconds, so it happens once per test process (``lru_cache``);
every test that uses it is in the ``torus_model`` xdist group, so under
``--dist loadgroup`` they all land on one worker and train it once.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

import torch

from torus_hw.train import Checkpoint, TrainSettings, train_model

# Short but enough for ≥ 0.9 query P@1 on digits; D = 16 keeps it cheap.
SHORT = TrainSettings(mode="torusN", dim=16, epochs=12, patience=12, seed=3)


@lru_cache(maxsize=None)
def trained(settings: TrainSettings = SHORT) -> tuple[Checkpoint, Path]:
    torch.set_num_threads(1)  # two xdist workers share two cores
    folder = Path(tempfile.mkdtemp(prefix="torus-hw-model-"))
    path = folder / f"{settings.mode}_{settings.dim}.pt"
    return train_model(settings, path), path
