"""Retrieval quality of a trained model, in float and after quantisation.

P@1 = fraction of queries whose nearest database row has the query's label.

* float: cosine similarity in the projected space (Clifford space for both
  tori, the sphere itself), as the paper's main experiment.
* n-bit codes (from :func:`torus_hw.export.quantise`): torus ``l1`` and ``l2``
  with :func:`torus_hw.reference.search` — exactly what the kernels compute;
  at 1 bit both are Hamming.  For the sphere's min–max codes also the
  non-wrapping Euclidean distance (``l2_plain``), which is what those codes
  mean and what the paper used.
* PQ(M, nbits) with faiss (the paper's high-compression comparison): trained
  on the database's 8-bit codes, as in the paper's code; torus codes are
  compared after mapping back to the Clifford space (cosine, so the wrap is
  respected), sphere codes with Euclidean distance.
* circular variance 1 − ‖mean of unit vectors‖ over database and queries in
  the Clifford / sphere representation; per-dim code entropy in bits; bits
  per vector.
"""

from __future__ import annotations

import numpy as np

from .errors import TorusInputError
from .reference import check_bits

DEFAULT_BITS = (8, 4, 1)
DEFAULT_PQ = ((2, 8), (1, 8), (4, 4), (2, 4))  # the paper's PQ settings, as (M, nbits)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cosine_p_at_1(db, y_db, q, y_q, *, block: int = 1024) -> float:
    """Nearest row by cosine (ties → lower row); blocked so CIFAR-sized sets fit in memory."""
    db, q = _unit(db), _unit(q)
    hits = 0
    for i in range(0, len(q), block):
        nearest = np.argmax(q[i : i + block] @ db.T, axis=1)
        hits += int((np.asarray(y_db)[nearest] == np.asarray(y_q)[i : i + block]).sum())
    return hits / max(len(q), 1)


def l2_p_at_1(db, y_db, q, y_q) -> float:
    """Nearest row by plain (non-wrapping) Euclidean distance, exact with faiss."""
    import faiss

    index = faiss.IndexFlatL2(db.shape[1])
    index.add(np.ascontiguousarray(db, dtype=np.float32))
    _, nearest = index.search(np.ascontiguousarray(q, dtype=np.float32), 1)
    return float((np.asarray(y_db)[nearest[:, 0]] == np.asarray(y_q)).mean())


def codes_p_at_1(db_codes, y_db, q_codes, y_q, bits: int, metric: str) -> float:
    from .reference import search

    idx, _ = search(q_codes, db_codes, bits=bits, metric=metric, k=1)
    return float((np.asarray(y_db)[idx[:, 0]] == np.asarray(y_q)).mean())


def circular_variance(vectors) -> float:
    return float(1.0 - np.linalg.norm(_unit(vectors).mean(axis=0)))


def code_entropy(codes, bits: int) -> np.ndarray:
    """Shannon entropy (bits) of each code dim's histogram; at most ``bits``."""
    codes = np.asarray(codes, dtype=np.int64)
    out = np.empty(codes.shape[1])
    for d in range(codes.shape[1]):
        p = np.bincount(codes[:, d], minlength=1 << bits) / len(codes)
        p = p[p > 0]
        out[d] = float(-(p * np.log2(p)).sum())
    return out


def _clifford_of_codes(codes, bits: int) -> np.ndarray:
    theta = np.asarray(codes, dtype=np.float64) * (2 * np.pi / (1 << bits))
    return np.concatenate([np.cos(theta), np.sin(theta)], axis=1)


def pq_p_at_1(mode: str, db, y_db, q, y_q, m: int, nbits: int) -> dict:
    """PQ(M, nbits) on the 8-bit codes of the database (paper's recipe)."""
    import faiss

    from .export import quantise

    cdb, cq, _, _ = quantise(mode, db, q, 8, "auto")
    xdb, xq = cdb.astype(np.float32), cq.astype(np.float32)
    d = xdb.shape[1]
    if m < 1 or nbits < 1 or d % m:
        raise TorusInputError(f"PQ({m},{nbits}) needs M ≥ 1 dividing the {d} code dims and nbits ≥ 1")
    if len(xdb) < 1 << nbits:  # faiss's k-means needs at least one training point per centroid
        raise TorusInputError(f"PQ({m},{nbits}) trains 2^{nbits} = {1 << nbits:,} centroids per sub-space and needs "
                              f"at least that many database rows; the database has {len(xdb):,}")
    index = faiss.IndexPQ(d, m, nbits)
    index.pq.cp.min_points_per_centroid = 1  # small data sets are the point here; silence faiss's warning
    index.pq.cp.seed = 1234
    index.train(xdb)
    rdb = index.sa_decode(index.sa_encode(xdb))
    rq = index.sa_decode(index.sa_encode(xq))
    if mode == "sphere":
        p1 = l2_p_at_1(rdb, y_db, rq, y_q)
    else:
        # Reconstructions are real-valued code positions; map them round the circle so the wrap counts.
        p1 = cosine_p_at_1(_clifford_of_codes(rdb, 8), y_db, _clifford_of_codes(rq, 8), y_q)
    return {"M": m, "nbits": nbits, "bits_per_vector": m * nbits, "p_at_1": p1}


def evaluate_embeddings(mode: str, db, y_db, q, y_q, *, bits=DEFAULT_BITS, grid: str = "auto", pq=()) -> dict:
    """Every metric of the module docstring from projected float embeddings."""
    from .export import quantise

    out = {
        "float": {
            "p_at_1": cosine_p_at_1(db, y_db, q, y_q),
            "circular_variance": circular_variance(np.concatenate([db, q])),
            "dims": int(db.shape[1]),
            "bits_per_vector": 32 * int(db.shape[1]),
        },
        "quantised": {},
        "pq": {},
    }
    for b in bits:
        b = check_bits(b)
        cdb, cq, used, _ = quantise(mode, db, q, b, grid)
        if b == 1:
            p = {"hamming": codes_p_at_1(cdb, y_db, cq, y_q, 1, "l1")}
        else:
            p = {m: codes_p_at_1(cdb, y_db, cq, y_q, b, m) for m in ("l1", "l2")}
            if used == "minmax" and mode == "sphere":
                p["l2_plain"] = l2_p_at_1(cdb.astype(np.float32), y_db, cq.astype(np.float32), y_q)
        ent = code_entropy(np.concatenate([cdb, cq]), b)
        out["quantised"][str(b)] = {
            "grid": used, "code_dims": int(cdb.shape[1]), "bits_per_vector": int(cdb.shape[1]) * b,
            "p_at_1": p, "entropy_per_dim_mean": float(ent.mean()), "entropy_per_dim_min": float(ent.min()),
            "entropy_per_dim": [round(float(e), 4) for e in ent],
        }
    for m, nbits in pq:
        out["pq"][f"PQ({m},{nbits})"] = pq_p_at_1(mode, db, y_db, q, y_q, int(m), int(nbits))
    return out


def evaluate_model(checkpoint, bits=DEFAULT_BITS, *, grid: str = "auto", pq=(), data_root=None,
                   dataset=None) -> dict:
    """Evaluate a :class:`torus_hw.train.Checkpoint` (or a path to one).

    ``result["p_at_1"]`` is a flat summary for callers that want one number per
    precision: ``{"float": …, "8": …, "4": …, "1": …}`` (torus l1, Hamming at 1 bit).
    """
    from .export import embeddings
    from .train import Checkpoint

    if not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint.load(checkpoint)
    bits = [check_bits(b) for b in bits]
    s = checkpoint.settings
    db, q, data = embeddings(checkpoint, data_root, dataset)
    result = {
        "mode": s.mode, "dim": s.dim, "seed": s.seed, "koleo": s.koleo, "data": s.data,
        "best_epoch": checkpoint.best_epoch, "stopped": checkpoint.stopped,
        **evaluate_embeddings(s.mode, db, data.y_db, q, data.y_query, bits=bits, grid=grid, pq=pq),
    }
    summary = {"float": result["float"]["p_at_1"]}
    for b, r in result["quantised"].items():
        summary[b] = r["p_at_1"].get("l1", r["p_at_1"].get("hamming"))
    for name, r in result["pq"].items():
        summary[name] = r["p_at_1"]
    result["p_at_1"] = summary
    return result
