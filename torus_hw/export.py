"""From a trained checkpoint to a codes file (:class:`torus_hw.codes.TorusCodes`).

Database = the dataset's database split, queries = its query split, labels
kept, ``source`` JSON records mode, dim, seed, KoLeo, data, float P@1, grid.

What each space exports (``grid="auto"`` picks the first line of each):

=========  ==========  ==========================================================  =========
mode       grid        codes                                                       faithful?
=========  ==========  ==========================================================  =========
torusN     fixed       D/2 angles atan2(x_2i+1, x_2i) on the flat-torus grid       yes
                       (:func:`torus_hw.quantize.torus_codes`)
torusN     minmax      the same D/2 angles on the paper code's per-dim min–max     no: the
                       grid fitted on the database (comparison only)               wrap breaks
torusC     fixed       D angles 2π·x (mod 2π) — the Clifford torus is also a       yes
                       flat torus, so the same fixed grid applies
torusC     minmax      D angles, per-dim min–max grid                              no
sphere     minmax      D coordinates, per-dim min–max grid (the paper's 8-bit)     see below
sphere     fixed       1 bit only: sign of each coordinate (the paper's "sign      see below
                       quantisation"); more bits have no data-free grid
=========  ==========  ==========================================================  =========

The sphere has no flat-torus map, so its integer codes are plain scalar
quantisation: correct with a *non-wrapping* distance |a − b|, but searched
with the torus metric of this project (``torus_hw.reference``) the values at
both ends of the range become neighbours.  :mod:`torus_hw.evaluate` reports
both so the cost of that mismatch is visible.  At 1 bit every metric is
Hamming and the wrap question disappears.
"""

from __future__ import annotations

import numpy as np

from .codes import TorusCodes
from .errors import TorusInputError
from .projections import flat_angles
from .quantize import angles_to_codes, minmax_codes
from .reference import check_bits

GRIDS = ("auto", "fixed", "minmax")


def resolve_grid(mode: str, bits: int, grid: str) -> str:
    if grid not in GRIDS:
        raise TorusInputError(f"grid must be one of {', '.join(GRIDS)}, got {grid!r}")
    if grid == "auto":
        grid = "minmax" if mode == "sphere" and bits > 1 else "fixed"
    if mode == "sphere" and grid == "fixed" and bits > 1:
        raise TorusInputError("the sphere has no fixed flat-torus grid above 1 bit (sign); use --grid minmax")
    return grid


def embeddings(checkpoint, data_root=None, dataset=None):
    """(database, queries, dataset) projected float embeddings of a checkpoint's data."""
    from .data import load_dataset
    from .train import embed

    data = dataset if dataset is not None else load_dataset(checkpoint.settings.data, data_root)
    if list(data.input_shape) != list(checkpoint.dataset["input_shape"]):
        raise TorusInputError(
            f"data {checkpoint.settings.data} now has inputs {list(data.input_shape)}, "
            f"the checkpoint was trained on {checkpoint.dataset['input_shape']}"
        )
    model = checkpoint.model()
    db, q = embed(model, data.x_db), embed(model, data.x_query)
    bad = int((~np.isfinite(db)).sum() + (~np.isfinite(q)).sum())
    if bad:  # quantising NaN would silently give code 0 everywhere
        raise TorusInputError(f"the model's embeddings hold {bad:,} NaN or infinite values (of {db.size + q.size:,}); "
                              f"nothing exported")
    return db, q, data


def quantise(mode: str, db: np.ndarray, q: np.ndarray, bits: int, grid: str = "auto"):
    """Projected float embeddings → (db codes, query codes, grid used, grid parameters)."""
    bits = check_bits(bits)
    grid = resolve_grid(mode, bits, grid)
    values_db, values_q = (db, q) if mode == "sphere" else (flat_angles(mode, db), flat_angles(mode, q))
    if grid == "fixed":
        if mode == "sphere":  # 1 bit: sign
            return (db > 0).astype(np.uint8), (q > 0).astype(np.uint8), grid, {"rule": "sign"}
        return angles_to_codes(values_db, bits), angles_to_codes(values_q, bits), grid, {"rule": "flat-torus"}
    # Min–max is fitted on the database only, and queries are clipped into it,
    # as an embedded device would have to do with a new query.
    lo, hi = values_db.min(axis=0), values_db.max(axis=0)
    params = {"rule": "minmax", "lo": lo.tolist(), "hi": hi.tolist()}
    return minmax_codes(values_db, bits, lo, hi), minmax_codes(values_q, bits, lo, hi), grid, params


def export_codes(checkpoint, bits: int = 8, grid: str = "auto", *, data_root=None, dataset=None) -> TorusCodes:
    """Quantise a checkpoint's database and queries; see the module table for what each mode gives."""
    s = checkpoint.settings
    bits = check_bits(bits)
    resolve_grid(s.mode, bits, grid)  # reject before the embedding work
    db, q, data = embeddings(checkpoint, data_root, dataset)
    cdb, cq, used, params = quantise(s.mode, db, q, bits, grid)
    source = {
        "kind": "torus-hw/model-export",
        "mode": s.mode, "dim": s.dim, "seed": s.seed, "koleo": s.koleo, "data": s.data,
        "p_at_1_float": checkpoint.p_at_1, "best_epoch": checkpoint.best_epoch,
        "bits": bits, "grid": used, "grid_params": params,
        "code_dims": int(cdb.shape[1]), "settings": s.to_dict(),
    }
    return TorusCodes(database=np.ascontiguousarray(cdb), queries=np.ascontiguousarray(cq), bits=bits,
                      database_labels=data.y_db.astype(np.int64), query_labels=data.y_query.astype(np.int64),
                      source=source)
