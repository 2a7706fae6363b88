"""One sha256 per generated kernel, and one over them all: the no-regression check for generator refactors.

Generates every spec × variant the generators accept over a representative
grid (every target × kernel × metric × bits × D × k, every variant of
``variants()``) and prints ``target kernel metric bits D k variant sha256``
per kernel, ``refused`` for a spec a generator declines (the refusal, not its
wording, is part of the hash), and a final ``overall`` line.  Compare two
runs with ``diff``.  ``--code-only`` hashes the text with every comment and
blank line removed, to show that a change touched comments only.

    PYTHONPATH=. .venv/bin/python benchmarks/kernel_hashes.py [--kernels distance scan search] [--code-only]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib

from isa.spec import KernelSpec
from isa.targets import TARGETS
from torus_hw.errors import TorusInputError

# Small D, word/SIMD edges (2/4/8/16/32 codes), unroll and block switches, the
# largest rows the 8086 and Cortex-M0 hold.
DIMS = (1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 96, 127, 128, 129, 200, 241,
        255, 256, 257, 300, 511, 512, 513, 1000, 1024, 1100, 2048, 2100, 4096, 8160, 8200)
SEARCH_K = (1, 2, 5, 8, 16)




def _code(asm: str, marker: str) -> str:
    lines = (line.split(marker, 1)[0].rstrip() for line in asm.splitlines())
    return "\n".join(line for line in lines if line)


def _family(target):
    return importlib.import_module(f"isa.{target.family}")


def _generate(target, spec, variant):
    try:  # the neutral core, once it exists
        from isa.generate import generate
    except ImportError:
        return _family(target).generate(target, spec, variant=variant)
    return generate(target, spec, variant)


def _variants(target, spec):
    try:
        from isa.generate import variants
    except ImportError:
        return _family(target).variants(target, spec)
    return variants(target, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernels", nargs="+", default=["distance", "scan", "search"])
    ap.add_argument("--targets", nargs="+", default=list(TARGETS))
    ap.add_argument("--code-only", action="store_true", help="hash the text without comments and blank lines")
    args = ap.parse_args()
    overall = hashlib.sha256()
    count = 0
    for name in args.targets:
        target = TARGETS[name]
        for kernel in args.kernels:
            for metric in ("l1", "l2"):
                for bits in (1, 4, 8, 16):
                    for dims in DIMS:
                        for k in (SEARCH_K if kernel in ("search",) else (1,)):
                            spec = KernelSpec(kernel, metric, bits, dims, k)
                            try:
                                options = _variants(target, spec)
                                kernels = [(v, _generate(target, spec, v)) for v in options]
                            except TorusInputError:
                                line = f"{name} {kernel} {metric} {bits} {dims} {k} - refused"
                                overall.update(line.encode() + b"\n")
                                print(line)
                                continue
                            for v, kern in kernels:
                                text = _code(kern.asm, _family(target).STYLE.comment) if args.code_only else kern.asm
                                digest = hashlib.sha256(text.encode()).hexdigest()
                                line = f"{name} {kernel} {metric} {bits} {dims} {k} {v} {digest}"
                                overall.update(line.encode() + b"\n")
                                print(line)
                                count += 1
    print(f"overall {overall.hexdigest()} ({count} kernels)")


if __name__ == "__main__":
    main()
