"""Peak memory of the reference search on a zip-bomb codes file, and its speed on the demo-size case.

The zip bomb is a small ``.npz`` whose deflated ``database`` member inflates to
``--mib`` MiB of zero codes (2048 MiB = the issue's 2 GiB case, about 2 MB on
disk).  It is written by streaming zero chunks through zipfile, so building it
needs no memory; each measurement then runs in a fresh Python process:

1. ``import torus_hw`` and numpy — the baseline resident set;
2. ``TorusCodes.load`` (with ``--max-codes-bytes`` raised as needed) — the codes;
3. ``search`` top-k over every query — the peak (``ru_maxrss``).

Search overhead = peak − baseline − codes; the bound the reference claims is
one block (``torus_hw.reference._BLOCK_ELEMENTS``).  The demo-size case
(1,442 rows × 16 dims, 355 queries, 8-bit l1 top-5, the demo's shapes) is
timed as the best of 50 runs in process CPU time.

    PYTHONPATH=. python benchmarks/reference_memory.py --mib 2048
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import zipfile

import numpy as np

CHUNK = 16 << 20


def write_zip_bomb(path: str, mib: int, dims: int, queries: int) -> None:
    rows = (mib << 20) // dims
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("database.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_2_0(fh, {"descr": "|u1", "fortran_order": False, "shape": (rows, dims)})
            left = rows * dims
            zeros = bytes(min(CHUNK, left))
            while left:
                n = min(left, CHUNK)
                fh.write(zeros[:n])
                left -= n
        for name, arr in (("queries", np.zeros((queries, dims), np.uint8)), ("bits", np.array(8, np.int64)),
                          ("format_version", np.array(1, np.int64))):
            with zf.open(f"{name}.npy", "w") as fh:
                np.lib.format.write_array(fh, arr)


MEASURE = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    from torus_hw.codes import TorusCodes
    from torus_hw.reference import search, _BLOCK_ELEMENTS
    kib = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    def rss():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096 // 1024
    base = rss()
    try:
        codes = TorusCodes.load(sys.argv[1], max_bytes=1 << 40)
    except TypeError:  # a torus_hw from before the limit (for a before/after comparison)
        codes = TorusCodes.load(sys.argv[1])
    loaded = rss()
    t0 = time.perf_counter()
    idx, dist = search(codes.queries, codes.database, bits=8, metric="l1", k=int(sys.argv[2]))
    seconds = time.perf_counter() - t0
    assert (dist == 0).all() and (idx == np.arange(idx.shape[1])).all()  # all-zero codes: rows 0..k-1 at 0
    print(json.dumps({"baseline_kib": base, "after_load_kib": loaded, "peak_kib": kib(),
                      "codes_bytes": int(codes.database.nbytes + codes.queries.nbytes), "seconds": seconds,
                      "block_elements": _BLOCK_ELEMENTS}))
""")

DEMO = textwrap.dedent("""
    import json, time
    import numpy as np
    from torus_hw.reference import search
    rng = np.random.default_rng(0)
    db = rng.integers(0, 256, (1442, 16), dtype=np.uint8)
    q = rng.integers(0, 256, (355, 16), dtype=np.uint8)
    def once():
        t0 = time.process_time()  # CPU time: the figure a shared, loaded machine disturbs least
        search(q, db, bits=8, metric="l1", k=5)
        return time.process_time() - t0
    best = min(once() for _ in range(50))
    print(json.dumps({"demo_search_ms": best * 1e3}))
""")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=256, help="uncompressed database size in MiB (default 256)")
    ap.add_argument("--dims", type=int, default=64)
    ap.add_argument("--queries", type=int, default=4)
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bomb.npz")
        write_zip_bomb(path, args.mib, args.dims, args.queries)
        on_disk = os.path.getsize(path)
        out = subprocess.run([sys.executable, "-c", MEASURE, path, str(args.k)], capture_output=True, text=True)
        if out.returncode:
            print(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
            sys.exit(1)
        r = json.loads(out.stdout)
    demo = json.loads(subprocess.run([sys.executable, "-c", DEMO], capture_output=True, text=True,
                                     check=True).stdout)
    mib = lambda kib: kib / 1024  # noqa: E731
    codes_mib = r["codes_bytes"] / 2**20
    overhead = mib(r["peak_kib"] - r["baseline_kib"]) - codes_mib
    print(f"zip bomb: {on_disk / 1e6:.1f} MB on disk → {codes_mib:,.0f} MiB of codes "
          f"({args.mib} MiB database, {args.queries} queries × {args.dims} dims), 8-bit l1 top-{args.k}")
    print(f"resident: baseline {mib(r['baseline_kib']):,.0f} MiB, after load {mib(r['after_load_kib']):,.0f} MiB, "
          f"peak {mib(r['peak_kib']):,.0f} MiB; search overhead beyond the codes {overhead:,.0f} MiB; "
          f"peak / (baseline + codes) = {r['peak_kib'] / 1024 / (mib(r['baseline_kib']) + codes_mib):.2f}; "
          f"search {r['seconds']:.1f} s")
    print(f"demo-size search (1442×16, 355 queries, top-5): {demo['demo_search_ms']:.2f} ms CPU (best of 50)")


if __name__ == "__main__":
    main()
