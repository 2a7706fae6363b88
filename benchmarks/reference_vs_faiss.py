"""Reference search throughput against faiss-cpu IndexFlatL2, side by side.

Both search the same N×D codes (faiss on the codes as float32 — a Euclidean
search, not the torus metric, which is the point of comparison: what a
general library costs for the same shape) for the same queries, in one run.
Prints rows·dims per second for each and their ratio.

    .venv/bin/python benchmarks/reference_vs_faiss.py [--rows 100000] [--dims 32] [--queries 100]
"""

from __future__ import annotations

import argparse
import time

import faiss
import numpy as np

from torus_hw.reference import search


def best_of(repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dims", type=int, default=32)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    db = rng.integers(0, 256, (args.rows, args.dims)).astype(np.uint8)
    qs = rng.integers(0, 256, (args.queries, args.dims)).astype(np.uint8)
    index = faiss.IndexFlatL2(args.dims)
    index.add(db.astype(np.float32))
    qf = qs.astype(np.float32)
    work = args.rows * args.dims * args.queries
    results = {}
    for name, fn in [
        ("reference l1 (torus)", lambda: search(qs, db, bits=8, metric="l1", k=args.k)),
        ("reference l2 (torus)", lambda: search(qs, db, bits=8, metric="l2", k=args.k)),
        ("faiss IndexFlatL2 (float32, Euclidean)", lambda: index.search(qf, args.k)),
    ]:
        results[name] = best_of(args.repeats, fn)
    faiss_t = results["faiss IndexFlatL2 (float32, Euclidean)"]
    print(f"N={args.rows} D={args.dims} Q={args.queries} k={args.k}, best of {args.repeats}, "
          f"faiss threads={faiss.omp_get_max_threads()}")
    print(f"{'backend':42s} {'seconds':>9s} {'rows·dims/s':>14s} {'time / faiss':>13s}")
    for name, t in results.items():
        print(f"{name:42s} {t:9.3f} {work / t:14.3e} {t / faiss_t:13.1f}")


if __name__ == "__main__":
    main()
