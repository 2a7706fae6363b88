"""Bounds on the model side, checked before any model is built or any data is loaded.

Each maximum follows from what it costs (docs/errors.md, "Limits"):

* ``seed`` ∈ [0, 2^64 − 1]: what ``torch.manual_seed`` accepts.
* ``batch`` ≤ 8,192: SupCon compares every pair of the 2·batch views, a
  (2·batch)² float32 matrix — 1 GiB at 8,192, and its gradient as much again.
* ``epochs`` ≤ 100,000 and ``patience`` ≤ ``epochs``-scale: the history a
  checkpoint keeps is one entry per epoch.
* parameters ≤ :data:`MAX_MODEL_PARAMS` (2^27, 512 MiB of float32 weights;
  training holds about four times that with Adam's two moments and the
  gradients).  ``train --max-params`` raises it.  The count comes from the
  model built on PyTorch's ``meta`` device, which allocates nothing.
* ``--device``: ``cpu``, ``cuda`` or ``cuda:N`` (when CUDA is present), ``mps``
  (when present); ``meta`` and other internal device types are refused.

A checkpoint's weights must have exactly the shapes its settings imply
(checked on the meta model, so a 10 KB file cannot make a 40 GB layer) and
be finite (a NaN weight would make every embedding NaN and every code 0).
"""

from __future__ import annotations

import re

import torch

from .errors import TorusInputError

MAX_SEED = 2**64 - 1
MAX_BATCH = 8192
MAX_EPOCHS = 100_000
MAX_MODEL_PARAMS = 1 << 27
_DEVICE = re.compile(r"(cpu|cuda|cuda:\d{1,3}|mps)")
KINDS = ("digits", "image", "vector")


def check_device(name: str) -> torch.device:
    """The torch device a ``--device`` names, or one line saying why not."""
    if not _DEVICE.fullmatch(str(name)):
        raise TorusInputError(f"--device {name!r} is not a device torus-hw trains on (choose cpu, cuda, cuda:N or mps)")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise TorusInputError(f"--device {name!r}: CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise TorusInputError(f"--device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise TorusInputError(f"--device {name!r}: MPS is not available on this machine")
    return device


def check_input_shape(kind, shape) -> tuple[int, ...]:
    if kind not in KINDS:
        raise TorusInputError(f"dataset kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if (not isinstance(shape, (list, tuple)) or not 1 <= len(shape) <= 3
            or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 1 << 24 for s in shape)):
        raise TorusInputError(f"dataset input_shape must be 1 to 3 sizes in [1, 2^24], got {shape!r}")
    if kind == "image" and len(shape) != 3:
        raise TorusInputError(f"an image dataset's input_shape is (C, H, W), got {list(shape)}")
    return tuple(shape)


def meta_model(settings, kind: str, input_shape):
    """The model these settings build, on the meta device: shapes only, no memory."""
    from .backbones import EmbeddingModel

    shape = check_input_shape(kind, list(input_shape))
    with torch.device("meta"):
        return EmbeddingModel(kind=kind, input_shape=shape, mode=settings.mode, dim=settings.dim,
                              width=settings.width)


def parameter_count(settings, kind: str, input_shape) -> int:
    model = meta_model(settings, kind, input_shape)
    return sum(t.numel() for t in model.state_dict().values())


def check_model_size(settings, kind: str, input_shape, limit: int | None = None) -> int:
    """Refuse settings whose model exceeds ``limit`` parameters (default :data:`MAX_MODEL_PARAMS`)."""
    limit = MAX_MODEL_PARAMS if limit is None else limit
    n = parameter_count(settings, kind, input_shape)
    if n > limit:
        raise TorusInputError(
            f"{settings.mode} D={settings.dim} width={settings.width} on inputs {list(input_shape)} makes a model of "
            f"{n:,} parameters ({n * 4 / 2**30:,.1f} GiB of float32), beyond the limit of {limit:,}; "
            f"lower --dim / --width or raise it with --max-params")
    return n


def check_state_dict(settings, kind: str, input_shape, state_dict: dict) -> None:
    """The weights must be exactly the tensors the settings' model has, and finite."""
    want = meta_model(settings, kind, input_shape).state_dict()
    missing = sorted(set(want) - set(state_dict))
    unknown = sorted(str(k) for k in set(state_dict) - set(want))
    if missing or unknown:
        raise TorusInputError(f"checkpoint weights do not fit its settings (missing {missing[:3]}, "
                              f"unexpected {unknown[:3]})")
    bad_values, where = 0, []
    for name, meta in want.items():
        got = state_dict[name]
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(meta.shape):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise TorusInputError(f"checkpoint weights do not fit its settings ({name} is {shape}, "
                                  f"the settings make {tuple(meta.shape)})")
        if got.dtype != meta.dtype and not (got.is_floating_point() and meta.is_floating_point()):
            raise TorusInputError(f"checkpoint weight {name} has dtype {got.dtype}, want {meta.dtype}")
        if got.is_floating_point():
            n = int((~torch.isfinite(got)).sum())
            if n:
                bad_values += n
                where.append(name)
    if bad_values:
        raise TorusInputError(f"checkpoint weights hold {bad_values:,} NaN or infinite values "
                              f"(in {', '.join(where[:3])}{', …' if len(where) > 3 else ''})")
