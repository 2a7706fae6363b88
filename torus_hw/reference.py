"""The NumPy reference: the definition of torus distance and search.

Every backend (each ISA kernel under Unicorn, the RTL unit in simulation) is
checked bit-exactly against the functions here.  The semantics (written
out in docs/design.md) are:

* a code vector has D dims of n bits, n in {1, 4, 8, 16}, values in [0, 2^n);
* per dim: δ = (a − b) mod 2^n, t = min(δ, 2^n − δ) ∈ [0, 2^(n−1)];
* ``l1`` = Σ t, ``l2`` = Σ t² (an integer); for n = 1 both are Hamming;
* search returns the k rows with the smallest (distance, row index);
* distances fit in unsigned 32 bits (checked here for the given D and n).

The code favours being obviously right over being fast, but search is
blocked and works on the codes' own dtype, so its memory is the codes plus
one block (no Q·N·D intermediate, no widened copy of the database; measured
by benchmarks/reference_memory.py, see docs/performance.md).
"""

from __future__ import annotations

import numpy as np

from .errors import TorusInputError

BITS = (1, 4, 8, 16)
METRICS = ("l1", "l2")
U32_MAX = 2**32 - 1

# Work-array budget of one search block, in elements of the (Q_block, N_block)
# distance matrix.  8 Mi elements ≈ 64 MiB of uint64 keys.
_BLOCK_ELEMENTS = 1 << 23


def check_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or int(bits) not in BITS:
        raise TorusInputError(f"bits must be one of {', '.join(map(str, BITS))}, got {bits!r}")
    return int(bits)


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise TorusInputError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    return metric


def code_dtype(bits: int) -> np.dtype:
    """The dtype that holds one unpacked code of ``bits`` bits."""
    return np.dtype(np.uint16 if check_bits(bits) == 16 else np.uint8)


def max_dim_distance(bits: int, metric: str) -> int:
    """Largest contribution of one dim: 2^(n−1) for l1, its square for l2."""
    half = 1 << (check_bits(bits) - 1)
    return half if check_metric(metric) == "l1" else half * half


def max_distance(dims: int, bits: int, metric: str) -> int:
    """Largest possible distance between two D-dim code vectors."""
    return int(dims) * max_dim_distance(bits, metric)


def max_dims_u32(bits: int, metric: str) -> int:
    """Largest D whose distances are guaranteed to fit in uint32."""
    return U32_MAX // max_dim_distance(bits, metric)


def check_u32_bound(dims: int, bits: int, metric: str) -> None:
    if max_distance(dims, bits, metric) > U32_MAX:
        raise TorusInputError(
            f"D={dims} with {bits}-bit {metric} can reach {max_distance(dims, bits, metric)}, "
            f"beyond uint32; at most D={max_dims_u32(bits, metric)}"
        )


def as_codes(x, bits: int, name: str = "codes") -> np.ndarray:
    """Validate integer codes in [0, 2^bits) and return them in the code's own dtype (uint8 / uint16).

    An array that already has that dtype is returned as is — never copied, so
    a search's memory is the codes plus one block, not a widened copy of the
    whole database.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "ui":
        raise TorusInputError(f"{name} must be integers, got dtype {arr.dtype}")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= 1 << bits:
            bad = lo if lo < 0 else hi
            raise TorusInputError(f"{name} holds {bad}, outside [0, 2^{bits}) for bits={bits}")
    return arr.astype(code_dtype(bits), copy=False)


def _dim_distance(a: np.ndarray, b: np.ndarray, bits: int) -> np.ndarray:
    """t = min(δ, 2^n − δ) in the codes' own unsigned width, whose wrap-around *is* the torus."""
    delta = a - b
    neg = -delta
    if bits < 8:
        mask = delta.dtype.type((1 << bits) - 1)
        delta &= mask
        neg &= mask
    return np.minimum(delta, neg)


def dim_distance(a, b, *, bits: int = 8) -> np.ndarray:
    """Per-dim torus distance t = min(δ, 2^n − δ), δ = (a − b) mod 2^n (int64)."""
    bits = check_bits(bits)
    a = as_codes(a, bits, "a")
    b = as_codes(b, bits, "b")
    return _dim_distance(a, b, bits).astype(np.int64)


def torus_distance(a, b, *, bits: int = 8, metric: str = "l1") -> np.ndarray:
    """Distance between code vectors along the last axis, broadcasting the rest."""
    check_metric(metric)
    t = dim_distance(a, b, bits=bits)
    check_u32_bound(t.shape[-1] if t.ndim else 1, bits, metric)
    return (t if metric == "l1" else t * t).sum(axis=-1)


def _check_pair(query, database, bits: int, metric: str, query_ndim: int):
    bits = check_bits(bits)
    check_metric(metric)
    q = as_codes(query, bits, "query" if query_ndim == 1 else "queries")
    db = as_codes(database, bits, "database")
    if q.ndim != query_ndim:
        raise TorusInputError(f"{'query' if query_ndim == 1 else 'queries'} must have rank {query_ndim}, got shape {q.shape}")
    if db.ndim != 2:
        raise TorusInputError(f"database must have rank 2 (N×D), got shape {db.shape}")
    if q.shape[-1] != db.shape[1]:
        raise TorusInputError(f"dims differ: query has D={q.shape[-1]}, database has D={db.shape[1]}")
    check_u32_bound(db.shape[1], bits, metric)
    return q, db, bits


def _block_distances(q: np.ndarray, db: np.ndarray, bits: int, metric: str) -> np.ndarray:
    """(Qb, Nb) uint32 distances, one dim at a time: memory Qb·Nb, never Qb·Nb·D.

    ``q`` and ``db`` are in the code's own dtype (:func:`as_codes`); sums fit
    uint32 because the caller checked the bound.
    """
    acc = np.zeros((q.shape[0], db.shape[0]), dtype=np.uint32)
    for d in range(db.shape[1]):
        t = _dim_distance(q[:, d, None], db[None, :, d], bits)
        if metric == "l1":
            acc += t
        else:
            t = t.astype(np.uint32)
            acc += t * t
    return acc


def scan(query, database, *, bits: int = 8, metric: str = "l1") -> np.ndarray:
    """Distances from one query (D,) to every database row (N, D): int64[N]."""
    q, db, bits = _check_pair(query, database, bits, metric, 1)
    return _block_distances(q[None, :], db, bits, metric)[0].astype(np.int64)


def search(queries, database, *, bits: int = 8, metric: str = "l1", k: int = 1):
    """Top-k search: ``(indices int64[Q, k'], distances int64[Q, k'])``, k' = min(k, N).

    Rows are ranked by (distance, row index), so ties go to the lower row.
    Blocked over queries and rows; each block keeps its k best as uint64 keys
    ``distance << 32 | row`` (exact because distance and row fit in 32 bits).
    """
    q, db, bits = _check_pair(queries, database, bits, metric, 2)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise TorusInputError(f"k must be a positive integer, got {k!r}")
    n_rows = db.shape[0]
    if n_rows > U32_MAX:
        raise TorusInputError(f"database has {n_rows} rows, more than 2^32 - 1")
    kk = min(int(k), n_rows)
    n_queries = q.shape[0]
    if kk == 0 or n_queries == 0:
        empty = np.zeros((n_queries, kk), dtype=np.int64)
        return empty, empty.copy()

    row_block = max(1, min(n_rows, _BLOCK_ELEMENTS // 64))
    query_block = max(1, min(n_queries, _BLOCK_ELEMENTS // row_block))
    out_idx = np.empty((n_queries, kk), dtype=np.int64)
    out_dist = np.empty((n_queries, kk), dtype=np.int64)
    for q0 in range(0, n_queries, query_block):
        qb = q[q0 : q0 + query_block]
        best = None
        for r0 in range(0, n_rows, row_block):
            dist = _block_distances(qb, db[r0 : r0 + row_block], bits, metric).astype(np.uint64)
            rows = np.arange(r0, r0 + dist.shape[1], dtype=np.uint64)
            keys = (dist << np.uint64(32)) | rows[None, :]
            if best is not None:
                keys = np.concatenate([best, keys], axis=1)
            if keys.shape[1] > kk:
                keys = np.partition(keys, kk - 1, axis=1)[:, :kk]
            best = keys
        best = np.sort(best, axis=1)
        out_idx[q0 : q0 + query_block] = (best & np.uint64(U32_MAX)).astype(np.int64)
        out_dist[q0 : q0 + query_block] = (best >> np.uint64(32)).astype(np.int64)
    return out_idx, out_dist


def range_search(query, database, *, bits: int = 8, metric: str = "l1", radius: int) -> np.ndarray:
    """Row indices (int64, in row order) of every row within distance ≤ radius."""
    return np.flatnonzero(scan(query, database, bits=bits, metric=metric) <= radius).astype(np.int64)
