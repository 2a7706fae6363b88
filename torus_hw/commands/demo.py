"""``torus-hw demo``: the end-to-end story (interim: reference search on generated codes)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("demo", help="the end-to-end demo (run by `make demo`)",
                       description="Run the end-to-end demo and write its report to --out.")
    p.add_argument("--out", default="demo-out", metavar="DIR", help="output folder (default demo-out)")
    p.add_argument("--quick", action="store_true", help="a smaller, faster run")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from ..cli import main
    from ..codes import TorusCodes

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    codes = TorusCodes(database=rng.integers(0, 256, (1000, 16)).astype(np.uint8),
                       queries=rng.integers(0, 256, (8, 16)).astype(np.uint8), bits=8,
                       source={"kind": "uniform random codes (interim demo)"})
    codes.save(out / "codes.npz")
    return main(["search", "--codes", str(out / "codes.npz"), "--k", "5"])
