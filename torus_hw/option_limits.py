"""Maxima of the CLI's counting options that have no home in a lower layer, checked before the work.

``bench`` builds its random database in memory (int64 first, then uint8)
and prices every row of it in the emulator, so ``--rows × --dims`` is bounded
by :data:`MAX_BENCH_CODES` (2^26 codes: 512 MiB while it is built, and hours of
cycle-counted emulation at that size); ``--queries`` by :data:`MAX_BENCH_QUERIES`.
The limits are documented in docs/errors.md ("Limits").
"""

from __future__ import annotations

from .errors import TorusInputError

MAX_BENCH_CODES = 1 << 26
MAX_BENCH_QUERIES = 10_000


def check_bench_options(rows: int, queries: int, dims) -> None:
    if rows < 1 or queries < 1:
        raise TorusInputError("--rows and --queries must be at least 1")
    if queries > MAX_BENCH_QUERIES:
        raise TorusInputError(f"--queries {queries} is beyond {MAX_BENCH_QUERIES:,} (each is a full emulated search)")
    for d in dims:
        if d >= 1 and rows * d > MAX_BENCH_CODES:
            raise TorusInputError(f"--rows {rows} × --dims {d} = {rows * d:,} codes is beyond the bench's "
                                  f"{MAX_BENCH_CODES:,} (built in memory, then emulated row by row)")


def positive_int(text: str) -> int:
    """argparse ``type`` for a limit option (``--max-…``): an integer ≥ 1."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
