"""Datasets, their fixed database/query splits, and their augmentations.

``--data`` takes one of

* ``digits`` (default, embedded): scikit-learn's bundled 8×8 digits, 1,797
  images in 10 classes, nothing downloaded.  Pixels are scaled to [0, 1].
  **Split**: within each class, in the bundled order, every 5th image
  (positions 4, 9, 14, … within the class) is a *query*; the rest are the
  *database*.  That gives 1,442 database rows and 355 queries, identical on
  every machine and independent of any seed.
* ``cifar10`` / ``cifar100``: the "python version" archives unpacked into
  ``<data-root>/cifar-10-batches-py`` or ``<data-root>/cifar-100-python``
  (data-root defaults to ``$TORUS_HW_DATA`` or ``./data``); read by
  :mod:`torus_hw.plain_pickle`, which builds plain data and never runs code
  from the file; nothing downloaded.  Database = the training set, queries = the
  test set; labels are the fine labels for CIFAR-100.
* ``FILE.npz`` with ``x`` (N, …) and integer ``y`` (N,): rank-2 ``x`` is a
  set of vectors, rank 3 (N, H, W) or rank 4 (N, C, H, W) / (N, H, W, C) with
  C in {1, 3} are images.  If the file also has ``x_query`` / ``y_query`` those
  are the queries; otherwise the digits rule (every 5th per class) splits it.

Augmentation makes SupCon's two views, and is deliberately light: digits get
a random shift of at most one pixel plus a little pixel noise; 32×32-style
images get the usual pad-4 random crop and horizontal flip; plain vectors get
Gaussian noise of 0.1 standard deviation of each feature.  Every random draw comes from the
``torch.Generator`` passed in, so a seed fixes the whole run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .errors import TorusInputError

BUILTIN = ("digits", "cifar10", "cifar100")
CIFAR_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
QUERY_EVERY = 5  # every 5th item of each class is a query
# A --data FILE.npz is loaded whole and converted to float32 (up to 4× its size for uint8 inputs).
MAX_DATA_BYTES = 2 << 30


@dataclass
class Dataset:
    """Float inputs for database and queries, their labels, and how to augment them."""

    name: str
    kind: str  # "digits", "image" or "vector"
    x_db: np.ndarray  # float32, (N, F) for vectors and digits, (N, C, H, W) for images
    y_db: np.ndarray  # int64
    x_query: np.ndarray
    y_query: np.ndarray

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_db.shape[1:])

    @property
    def num_classes(self) -> int:
        return int(max(self.y_db.max(), self.y_query.max())) + 1

    def summary(self) -> dict:
        return {"name": self.name, "kind": self.kind, "database": len(self.y_db), "queries": len(self.y_query),
                "input_shape": list(self.input_shape), "classes": self.num_classes}


def default_root() -> Path:
    return Path(os.environ.get("TORUS_HW_DATA", "data"))


def check_data_name(name: str) -> str:
    if name in BUILTIN or str(name).endswith(".npz"):
        return str(name)
    raise TorusInputError(f"data must be one of {', '.join(BUILTIN)} or a FILE.npz, got {name!r}")


def per_class_split(y: np.ndarray) -> np.ndarray:
    """Boolean query mask: every QUERY_EVERY-th item of each class, in file order."""
    y = np.asarray(y)
    query = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        where = np.flatnonzero(y == label)
        query[where[QUERY_EVERY - 1 :: QUERY_EVERY]] = True
    return query


def load_dataset(name: str = "digits", root: str | os.PathLike | None = None) -> Dataset:
    name = check_data_name(name)
    if name == "digits":
        return _digits()
    if name in CIFAR_FOLDERS:
        return _cifar(name, Path(root) if root is not None else default_root())
    return _npz(Path(name))


def _digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    q = per_class_split(y)
    return Dataset("digits", "digits", x[~q], y[~q], x[q], y[q])


# The largest CIFAR batch (cifar-100-python/train) is 161 MB; a file far beyond that is not one.
MAX_CIFAR_FILE_BYTES = 256 << 20


def _read_batch(path: Path) -> dict:
    """One CIFAR batch, parsed by :mod:`torus_hw.plain_pickle` (no code from the file ever runs)."""
    from .messages import input_file, shown
    from .plain_pickle import loads_plain

    if not path.exists() and not path.is_symlink():
        raise TorusInputError(f"CIFAR file {shown(path)} is missing")
    input_file(path, "CIFAR file")
    size = path.stat().st_size
    if size > MAX_CIFAR_FILE_BYTES:
        raise TorusInputError(f"CIFAR file {shown(path)} is {size} bytes, more than any CIFAR batch "
                              f"({MAX_CIFAR_FILE_BYTES} bytes at most)")
    batch = loads_plain(path.read_bytes(), f"CIFAR file {shown(path)}")
    if not isinstance(batch, dict):
        raise TorusInputError(f"CIFAR file {shown(path)} holds a {type(batch).__name__}, not a batch dict")
    return {(k.encode("latin-1") if isinstance(k, str) else k): v for k, v in batch.items()}


def _batch_arrays(batch: dict, key: bytes, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The (N, 3072) uint8 images and N labels of one batch, checked before use."""
    from .messages import shown

    name = shown(path)
    for field in (b"data", key):
        if field not in batch:
            raise TorusInputError(f"CIFAR file {name} has no {field.decode()!r} field")
    x, labels = batch[b"data"], batch[key]
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3 * 32 * 32:
        got = f"{x.dtype} {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
        raise TorusInputError(f"CIFAR file {name}: 'data' must be N×3072 uint8 rows, got {got}")
    if isinstance(labels, np.ndarray) and labels.dtype.kind in "ui" and labels.ndim == 1:
        y = labels.astype(np.int64)
    elif isinstance(labels, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        y = np.array(labels, dtype=np.int64) if labels else np.zeros(0, dtype=np.int64)
    else:
        raise TorusInputError(f"CIFAR file {name}: {key.decode()!r} must be a list of integer labels")
    if len(y) != len(x):
        raise TorusInputError(f"CIFAR file {name}: {len(x)} images but {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() >= 100):
        raise TorusInputError(f"CIFAR file {name}: labels must be in [0, 100), got {int(y.min())}..{int(y.max())}")
    return x, y


def _cifar(name: str, root: Path) -> Dataset:
    folder = root / CIFAR_FOLDERS[name]
    if not folder.is_dir():
        raise TorusInputError(
            f"{name} needs the unpacked python-version archive in {folder} (nothing is downloaded; "
            f"set --data-root or TORUS_HW_DATA to the folder that holds {CIFAR_FOLDERS[name]})"
        )
    if name == "cifar10":
        train = [folder / f"data_batch_{i}" for i in range(1, 6)]
        test = [folder / "test_batch"]
        key = b"labels"
    else:
        train = [folder / "train"]
        test = [folder / "test"]
        key = b"fine_labels"

    def stack(paths):
        parts = [_batch_arrays(_read_batch(p), key, p) for p in paths]
        x = np.concatenate([x for x, _ in parts])
        y = np.concatenate([y for _, y in parts])
        return (x.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0), y

    x_db, y_db = stack(train)
    x_q, y_q = stack(test)
    return Dataset(name, "image", x_db, y_db, x_q, y_q)


def _as_inputs(x: np.ndarray, path: Path, field: str) -> tuple[np.ndarray, str]:
    if x.dtype.kind not in "uif" or x.ndim < 2:
        raise TorusInputError(f"{path}: '{field}' must be a numeric array of rank 2 to 4, got {x.dtype} {x.shape}")
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    x = x.astype(np.float32) / scale
    if not np.isfinite(x).all():
        raise TorusInputError(f"{path}: '{field}' holds NaN or infinite values")
    if x.ndim == 2:
        return x, "vector"
    if x.ndim == 3:
        return x[:, None], "image"
    if x.ndim == 4:
        if x.shape[1] in (1, 3):
            return x, "image"
        if x.shape[3] in (1, 3):
            return np.ascontiguousarray(x.transpose(0, 3, 1, 2)), "image"
    raise TorusInputError(f"{path}: '{field}' of shape {x.shape} is neither vectors nor 1- or 3-channel images")


def _labels(y: np.ndarray, n: int, path: Path, field: str) -> np.ndarray:
    if y.dtype.kind not in "ui" or y.shape != (n,):
        raise TorusInputError(f"{path}: '{field}' must be {n} integer labels, got {y.dtype} {y.shape}")
    if n and y.min() < 0:
        raise TorusInputError(f"{path}: '{field}' holds negative labels")
    return y.astype(np.int64)


def _npz(path: Path) -> Dataset:
    from .npzfile import read_npz

    files = read_npz(path, "data file", wanted=("x", "y", "x_query", "y_query"), limit=MAX_DATA_BYTES)
    for need in ("x", "y"):
        if need not in files:
            raise TorusInputError(f"data file {path} has no '{need}' array (it needs 'x' and 'y')")
    x, kind = _as_inputs(files["x"], path, "x")
    y = _labels(files["y"], len(x), path, "y")
    if "x_query" in files or "y_query" in files:
        if not ("x_query" in files and "y_query" in files):
            raise TorusInputError(f"data file {path} must have both 'x_query' and 'y_query', or neither")
        xq, kind_q = _as_inputs(files["x_query"], path, "x_query")
        yq = _labels(files["y_query"], len(xq), path, "y_query")
        if xq.shape[1:] != x.shape[1:]:
            raise TorusInputError(f"data file {path}: 'x_query' rows are {xq.shape[1:]}, 'x' rows are {x.shape[1:]}")
        x_db, y_db = x, y
    else:
        q = per_class_split(y)
        x_db, y_db, xq, yq = x[~q], y[~q], x[q], y[q]
    if len(y_db) < 2 or len(yq) < 1:
        raise TorusInputError(f"data file {path} leaves {len(y_db)} database rows and {len(yq)} queries; need ≥ 2 and ≥ 1")
    return Dataset(str(path), kind, x_db, y_db, xq, yq)


# --- augmentation -------------------------------------------------------------

def augment(x: torch.Tensor, kind: str, gen: torch.Generator, feature_std: torch.Tensor | None = None) -> torch.Tensor:
    """One random view of a batch; ``gen`` supplies every random number."""
    if kind == "digits":
        b = x.shape[0]
        img = F.pad(x.view(b, 1, 8, 8), (1, 1, 1, 1))
        return _random_crop(img, 8, gen).reshape(b, 64) + 0.05 * torch.randn(x.shape, generator=gen)
    if kind == "image":
        _, _, h, w = x.shape
        img = _random_crop(F.pad(x, (4, 4, 4, 4), mode="reflect"), (h, w), gen)
        flip = torch.rand(x.shape[0], generator=gen) < 0.5
        return torch.where(flip[:, None, None, None], img.flip(-1), img)
    std = feature_std if feature_std is not None else torch.ones(x.shape[1:])
    return x + 0.1 * std * torch.randn(x.shape, generator=gen)


def _random_crop(img: torch.Tensor, size, gen: torch.Generator) -> torch.Tensor:
    """Per-image random crop of a padded batch (B, C, H+2p, W+2p) → (B, C, H, W)."""
    h, w = (size, size) if isinstance(size, int) else size
    b, _, hp, wp = img.shape
    top = torch.randint(0, hp - h + 1, (b,), generator=gen)
    left = torch.randint(0, wp - w + 1, (b,), generator=gen)
    rows = (top[:, None] + torch.arange(h))[:, None, :, None]  # (B, 1, H, 1)
    cols = (left[:, None] + torch.arange(w))[:, None, None, :]  # (B, 1, 1, W)
    bi = torch.arange(b)[:, None, None, None]
    ci = torch.arange(img.shape[1])[None, :, None, None]
    return img[bi, ci, rows, cols]
