"""``torus-hw search``: the NumPy reference search over a codes file."""

from __future__ import annotations

from ..console import console as stdout_console
from ..option_limits import positive_int

import json


def register(sub) -> None:
    p = sub.add_parser("search", help="top-k search of a codes file with the NumPy reference",
                       description="Search every query of a codes file with the NumPy reference.")
    p.add_argument("--codes", required=True, metavar="FILE.npz", help="codes file (see torus_hw/codes.py)")
    p.add_argument("--metric", choices=("l1", "l2"), default="l1")
    p.add_argument("--k", type=int, default=1, help="neighbours per query (default 1)")
    p.add_argument("--max-codes-bytes", type=positive_int, default=None, metavar="B",
                   help="refuse a codes file whose arrays exceed B bytes (default 4 GiB; docs/errors.md)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..codes import TorusCodes
    from ..errors import TorusInputError
    from ..reference import search

    if args.k < 1:
        raise TorusInputError(f"--k must be at least 1, got {args.k}")
    codes = TorusCodes.load(args.codes, max_bytes=args.max_codes_bytes)
    idx, dist = search(codes.queries, codes.database, bits=codes.bits, metric=args.metric, k=args.k)
    if args.json:
        print(json.dumps({
            "bits": codes.bits,
            "metric": args.metric,
            "k": args.k,
            "queries": [{"indices": i.tolist(), "distances": d.tolist()} for i, d in zip(idx, dist)],
        }))
        return 0
    from rich.table import Table

    table = Table(title=f"{codes.bits}-bit {args.metric} top-{args.k}: {len(codes.queries)} queries × "
                        f"{len(codes.database)} rows × {codes.dims} dims")
    table.add_column("query", justify="right")
    table.add_column("indices")
    table.add_column("distances")
    for q, (i, d) in enumerate(zip(idx, dist)):
        table.add_row(str(q), " ".join(map(str, i)), " ".join(map(str, d)))
    stdout_console().print(table)
    return 0
