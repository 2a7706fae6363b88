"""Shared cross-check machinery: build a kernel, run it, compare with the reference.

Every ISA test uses these helpers so that "bit-exact against
torus_hw.reference" means the same thing on every target.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from hypothesis import strategies as st

from isa.build import build_kernel
from isa.spec import KernelSpec
from sim.runner import KernelRunner
from torus_hw import reference


@lru_cache(maxsize=256)
def built(target: str, spec: KernelSpec, variant: str | None = None):
    """Assembling costs ~0.3 s; hypothesis revisits the same specs often."""
    return build_kernel(target, spec, variant=variant)


def adversarial_values(bits: int) -> list[int]:
    top = (1 << bits) - 1
    half = 1 << (bits - 1)
    return sorted({0, 1, half - 1, half, half + 1, top} & set(range(top + 1)))


@st.composite
def code_matrix(draw, bits: int, rows: int, dims: int) -> np.ndarray:
    """Codes (rows, dims) of one of four kinds: uniform, adversarial, all-equal rows, or mixed."""
    dtype = np.uint16 if bits == 16 else np.uint8
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["uniform", "adversarial", "equal", "mixed"]))
    top = 1 << bits
    if kind == "uniform":
        out = rng.integers(0, top, size=(rows, dims))
    elif kind == "adversarial":
        out = rng.choice(adversarial_values(bits), size=(rows, dims))
    elif kind == "equal":
        out = np.repeat(rng.integers(0, top, size=(1, dims)), rows, axis=0)
    else:
        out = rng.integers(0, top, size=(rows, dims))
        mask = rng.random((rows, dims)) < 0.5
        out[mask] = rng.choice(adversarial_values(bits), size=int(mask.sum()))
    return out.astype(dtype)


def check_search(target: str, spec: KernelSpec, database: np.ndarray, queries: np.ndarray, k: int,
                 variant: str | None = None, count: bool = False, kernel=None) -> list:
    """Run the search kernel for every query; assert bit-exact agreement with the reference.

    ``kernel``: an already built kernel (a C baseline) instead of the generator's ``variant``.
    """
    runner = KernelRunner(kernel or built(target, spec, variant), count=count)
    runner.load_database(database)
    want_idx, want_dist = reference.search(queries, database, bits=spec.bits, metric=spec.metric, k=k)
    answers = []
    for q, wi, wd in zip(queries, want_idx, want_dist):
        got = runner.call(q, k=k)
        assert got.returned == min(k, len(database)), (target, spec, got.returned)
        assert got.indices.tolist() == wi.tolist() and got.distances.tolist() == wd.tolist(), (
            f"{target} {spec.describe()}: got {got.indices.tolist()}/{got.distances.tolist()}, want {wi.tolist()}/{wd.tolist()}")
        answers.append(got)
    return answers


def check_range(target: str, spec: KernelSpec, database: np.ndarray, query: np.ndarray, radius: int, cap: int,
                variant: str | None = None):
    """Run the range kernel; assert count, indices (the first cap, row order) equal the reference's."""
    runner = KernelRunner(built(target, spec, variant), count=False)
    runner.load_database(database)
    want = reference.range_search(query, database, bits=spec.bits, metric=spec.metric, radius=radius)
    got = runner.call(query, radius=radius, cap=cap)
    assert (got.count, got.indices.tolist()) == (len(want), want[:cap].tolist()), (
        f"{target} {spec.describe()} radius={radius} cap={cap}: got {got.count} {got.indices.tolist()}, "
        f"want {len(want)} {want[:cap].tolist()}")
    return got


def check_scan(target: str, spec: KernelSpec, database: np.ndarray, query: np.ndarray,
               variant: str | None = None, kernel=None) -> None:
    runner = KernelRunner(kernel or built(target, spec, variant), count=False)
    runner.load_database(database)
    got = runner.call(query).distances
    want = reference.scan(query, database, bits=spec.bits, metric=spec.metric)
    np.testing.assert_array_equal(got, want, err_msg=f"{target} {spec.describe()}")


def check_distance(target: str, spec: KernelSpec, database: np.ndarray, query: np.ndarray,
                   variant: str | None = None) -> None:
    runner = KernelRunner(built(target, spec, variant), count=False)
    runner.load_database(database)
    want = reference.scan(query, database, bits=spec.bits, metric=spec.metric)
    for i in range(len(database)):
        assert runner.call(query, row=i).distance == want[i], (target, spec.describe(), i)


CI_EXAMPLES = 40  # max_examples of the ci profile (tests/conftest.py)


def examples(ci_count: int) -> int:
    """``ci_count`` examples under the ci profile, scaled with the active one (long: 15x).

    Emulated property tests are slower than the rest, so they run fewer
    examples than the profile's default, but the long campaign must still
    scale them up.
    """
    from hypothesis import settings

    return max(1, settings.default.max_examples * ci_count // CI_EXAMPLES)


def unmapped_database_fault(target: str, spec: KernelSpec, variant: str | None = None) -> str:
    """Call the search kernel with its database pointer in unmapped memory; return the fault's message.

    The first row load must fault (naming target, PC and instruction), never
    return junk.
    """
    from sim.machine import DB, EmulatorFault

    runner = KernelRunner(built(target, spec, variant), count=False)
    runner.load_database(np.zeros((4, spec.dims), dtype=np.uint16 if spec.bits == 16 else np.uint8))
    region = runner.region
    try:
        runner.machine.call("torus_search", [("ptr", region.query), ("ptr", DB + 0x2000_0000), ("u32", 4),
                                             ("u32", 1), ("ptr", region.out_idx), ("ptr", region.out_dist)])
    except EmulatorFault as fault:
        return str(fault)
    raise AssertionError(f"{target}: a database in unmapped memory did not fault")
