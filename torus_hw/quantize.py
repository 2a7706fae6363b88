"""From torusN outputs to n-bit flat-torus codes, and codes to memory.

Quantisation uses a fixed, data-independent grid (docs/design.md): adjacent output
pairs (0,1), (2,3), … give angles θ_i = atan2(x_{2i+1}, x_{2i}) ∈ (−π, π],
and code = round(θ_i · 2^n / 2π) mod 2^n.  Because the grid is fixed, integer
wrap-around equals torus wrap-around.  The per-dim min–max grid of the
paper's own code is offered only as a comparison (it breaks the wrap).

The memory layout (what kernels and firmware see): rows are contiguous;
n = 4 packs dim 2j in the low nibble of byte j, n = 1 puts dim j at bit
(j mod 8) of byte j // 8, n = 16 is little-endian uint16; rows are padded with
zero dims up to the kernel's row stride.
"""

from __future__ import annotations

import numpy as np

from .errors import TorusInputError
from .reference import check_bits, code_dtype

TWO_PI = 2.0 * np.pi


def pair_angles(x) -> np.ndarray:
    """Angles of adjacent pairs of a torusN output (..., 2m) → (..., m) in (−π, π]."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 1 or x.shape[-1] % 2:
        raise TorusInputError(f"torusN output must have an even last dim, got shape {x.shape}")
    return np.arctan2(x[..., 1::2], x[..., 0::2])


def angles_to_codes(theta, bits: int) -> np.ndarray:
    """Fixed flat-torus grid: round(θ · 2^n / 2π) mod 2^n (round half to even)."""
    bits = check_bits(bits)
    steps = np.rint(np.asarray(theta, dtype=np.float64) * ((1 << bits) / TWO_PI)).astype(np.int64)
    return (steps & ((1 << bits) - 1)).astype(code_dtype(bits))


def codes_to_angles(codes, bits: int) -> np.ndarray:
    """Grid angle of each code, wrapped into (−π, π]."""
    bits = check_bits(bits)
    c = np.asarray(codes, dtype=np.int64)
    half = 1 << (bits - 1)
    signed = np.where(c > half, c - (1 << bits), c)  # code 2^(n-1) is +π, not −π
    return signed * (TWO_PI / (1 << bits))


def torus_codes(x, bits: int) -> np.ndarray:
    """torusN output (..., 2m) → codes (..., m) on the fixed grid."""
    return angles_to_codes(pair_angles(x), bits)


def minmax_codes(values, bits: int, lo=None, hi=None) -> np.ndarray:
    """The paper code's per-dim min–max grid (comparison only: it breaks the wrap).

    ``values`` (..., m) are mapped linearly from [lo, hi] (per dim, from the
    data when not given) to {0, …, 2^n − 1} and clipped.
    """
    bits = check_bits(bits)
    v = np.asarray(values, dtype=np.float64)
    lo = v.reshape(-1, v.shape[-1]).min(axis=0) if lo is None else np.asarray(lo, dtype=np.float64)
    hi = v.reshape(-1, v.shape[-1]).max(axis=0) if hi is None else np.asarray(hi, dtype=np.float64)
    span = np.where(hi > lo, hi - lo, 1.0)
    top = (1 << bits) - 1
    steps = np.clip(np.rint((v - lo) / span * top), 0, top)
    return steps.astype(code_dtype(bits))


# --- memory layout ----------------------------------------------------------

def row_bytes(dims: int, bits: int) -> int:
    """Bytes one packed row of D dims needs before any padding."""
    return (int(dims) * check_bits(bits) + 7) // 8


def row_stride(dims: int, bits: int, align: int = 1) -> int:
    """Row stride in bytes: packed row bytes rounded up to ``align``."""
    if align < 1 or align & (align - 1):
        raise TorusInputError(f"alignment must be a power of two, got {align}")
    return -(-row_bytes(dims, bits) // align) * align


def pack_rows(codes, bits: int, stride: int | None = None) -> np.ndarray:
    """Codes (N, D) or (D,) → packed bytes (N, stride) uint8, zero-padded.

    ``stride`` defaults to the packed row size; it must be at least that.
    """
    bits = check_bits(bits)
    c = np.asarray(codes)
    single = c.ndim == 1
    c = np.atleast_2d(c).astype(np.int64)
    if c.size and (c.min() < 0 or c.max() >= 1 << bits):
        raise TorusInputError(f"codes must lie in [0, 2^{bits}) to pack")
    n, dims = c.shape
    need = row_bytes(dims, bits)
    stride = need if stride is None else int(stride)
    if stride < need:
        raise TorusInputError(f"row stride {stride} is smaller than the {need} bytes a {dims}-dim {bits}-bit row needs")
    if bits == 8:
        body = c.astype(np.uint8)
    elif bits == 16:
        body = c.astype("<u2").view(np.uint8).reshape(n, 2 * dims)
    elif bits == 4:
        padded = np.zeros((n, 2 * need), dtype=np.uint8)
        padded[:, :dims] = c
        body = padded[:, 0::2] | (padded[:, 1::2] << 4)
    else:
        body = np.packbits(c.astype(np.uint8), axis=1, bitorder="little")
    out = np.zeros((n, stride), dtype=np.uint8)
    out[:, :need] = body
    return out[0] if single else out


def unpack_rows(packed, bits: int, dims: int) -> np.ndarray:
    """Packed bytes (N, stride) or (stride,) → codes (N, D) in the code dtype."""
    bits = check_bits(bits)
    p = np.asarray(packed, dtype=np.uint8)
    single = p.ndim == 1
    p = np.atleast_2d(p)
    need = row_bytes(dims, bits)
    if p.shape[1] < need:
        raise TorusInputError(f"packed rows of {p.shape[1]} bytes cannot hold {dims} dims of {bits} bits")
    body = np.ascontiguousarray(p[:, :need])
    if bits == 8:
        out = body.copy()
    elif bits == 16:
        out = body.view("<u2").astype(np.uint16)
    elif bits == 4:
        out = np.empty((p.shape[0], 2 * need), dtype=np.uint8)
        out[:, 0::2] = body & 0x0F
        out[:, 1::2] = body >> 4
        out = out[:, :dims]
    else:
        out = np.unpackbits(body, axis=1, bitorder="little")[:, :dims]
    out = np.ascontiguousarray(out, dtype=code_dtype(bits))
    return out[0] if single else out
