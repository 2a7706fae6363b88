"""Run a whole codes file through one backend and compare every answer.

This is the loop behind ``torus-hw run`` and the demo: build (or take) the
backend, search each query, count instructions and cycles, and compare the
answer bit-exactly with :func:`torus_hw.reference.search` (top-k,
:func:`run_search`) or :func:`torus_hw.reference.range_search` (every row
within a radius, :func:`run_range`).  ISA targets run under Unicorn through
:class:`sim.runner.KernelRunner`; the ``rtl`` target runs the Amaranth units
through :mod:`sim.rtl_sim`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from isa.build import build_kernel
from isa.spec import KernelSpec
from isa.targets import get_target
from torus_hw import reference
from torus_hw.errors import TorusInputError

from .cycles import cores_for
from .runner import KernelRunner

RTL = "rtl"


@dataclass
class QueryResult:
    indices: list[int]
    distances: list[int]
    instructions: int | None
    cycles: int | None                      # on the run's core
    cycles_by_core: dict[str, int] = field(default_factory=dict)
    count: int | None = None                # range: every row within the radius (indices holds the first cap)


@dataclass
class SearchRun:
    target: str
    core: str | None
    bits: int
    metric: str
    dims: int
    k: int
    queries: list[QueryResult]
    query_ids: list[int]
    expected: tuple[np.ndarray, np.ndarray]
    code_bytes: int | None = None
    variant: str | None = None
    mismatched: list[int] = field(default_factory=list)
    kernel: str = "search"
    radius: int | None = None               # range only
    cap: int | None = None
    distances_from: str = "kernel"          # "reference" when the kernel returns indices only (ISA range)

    @property
    def mismatches(self) -> int:
        return len(self.mismatched)

    def mean(self, what: str) -> float | None:
        values = [getattr(q, what) for q in self.queries]
        return None if not values or values[0] is None else float(np.mean(values))

    def mean_cycles(self, core: str) -> float:
        return float(np.mean([q.cycles_by_core[core] for q in self.queries]))

    def first_mismatch(self) -> str:
        i = self.mismatched[0]
        got = self.queries[i]
        want_i, want_d = self.expected[0][i], self.expected[1][i]
        if self.kernel == "range":
            return (f"query {self.query_ids[i]}: {self.target} gave count {got.count} indices {got.indices}, "
                    f"reference gives count {self.expected[2][i]} indices {list(want_i)}")
        return (f"query {self.query_ids[i]}: {self.target} gave indices {got.indices} distances {got.distances}, "
                f"reference gives indices {want_i.tolist()} distances {want_d.tolist()}")

    def to_json(self) -> dict:
        out = {"target": self.target, "core": self.core, "kernel": self.kernel, "bits": self.bits,
               "metric": self.metric, "dims": self.dims}
        if self.kernel == "range":
            out.update(radius=self.radius, cap=self.cap, distances_from=self.distances_from)
        else:
            out["k"] = self.k
        out["mismatches"] = self.mismatches
        out["queries"] = [{"indices": q.indices, "distances": q.distances,
                           **({"count": q.count} if self.kernel == "range" else {}),
                           "instructions": q.instructions, "cycles": q.cycles} for q in self.queries]
        return out


def select_queries(n_queries: int, limit: int | None, seed: int | None = None) -> list[int]:
    """The first ``limit`` queries, or with a seed a sorted random sample of that size."""
    if limit is None or limit >= n_queries:
        return list(range(n_queries))
    if limit < 1:
        raise TorusInputError(f"--queries must be at least 1, got {limit}")
    if seed is None:
        return list(range(limit))
    return sorted(np.random.default_rng(seed).choice(n_queries, size=limit, replace=False).tolist())


def run_search(target: str, database: np.ndarray, queries: np.ndarray, *, bits: int, metric: str, k: int,
               query_ids: list[int] | None = None, core: str | None = None, variant: str | None = None,
               lanes: int | None = None, progress=None, built=None, extra_cores: tuple[str, ...] = ()) -> SearchRun:
    """Search ``queries[query_ids]`` on one backend and compare with the reference.

    Cycles are reported for ``core`` (default: the target's); ``extra_cores``
    are priced in the same run (one execution, several cycle models).
    """
    query_ids = list(range(len(queries))) if query_ids is None else query_ids
    chosen = queries[query_ids]
    expected = reference.search(chosen, database, bits=bits, metric=metric, k=k)
    if target == RTL:
        results, code_bytes, core_name, variant_name = _run_rtl(database, chosen, bits, metric, k, lanes, progress)
    else:
        if lanes is not None:
            raise TorusInputError("--lanes applies to --target rtl only")
        t = get_target(target)
        core_name = core or t.default_core
        cores = cores_for(target)
        for c in (core_name, *extra_cores):
            if c not in cores:
                raise TorusInputError(f"core {c!r} does not run target {target}; choose one of {', '.join(cores)}")
        if built is None:
            built = build_kernel(t, KernelSpec("search", metric, bits, int(database.shape[1]), k), variant=variant)
        runner = KernelRunner(built, cores=tuple(dict.fromkeys((core_name, *extra_cores))))
        runner.load_database(database)
        results = []
        for q in chosen:
            got = runner.search(q, k)
            results.append(QueryResult(got.indices, got.distances, got.instructions, got.cycles.get(core_name),
                                       dict(got.cycles)))
            if progress:
                progress()
        code_bytes, variant_name = built.code_bytes, built.kernel.variant
    run = SearchRun(target, core_name, bits, metric, int(database.shape[1]), k, results, query_ids, expected,
                    code_bytes, variant_name)
    for i, q in enumerate(results):
        if q.indices != expected[0][i].tolist() or q.distances != expected[1][i].tolist():
            run.mismatched.append(i)
    return run


def run_range(target: str, database: np.ndarray, queries: np.ndarray, *, bits: int, metric: str, radius: int,
              cap: int | None = None, query_ids: list[int] | None = None, core: str | None = None,
              variant: str | None = None, lanes: int | None = None, progress=None, built=None) -> SearchRun:
    """Range-search ``queries[query_ids]`` on one backend and compare with the reference.

    ``cap`` (default: every row) bounds the indices returned; the count is of
    every row within ``radius``.  The ISA kernels return indices only, so
    their ``distances`` are the reference's distances of the returned rows
    (``SearchRun.distances_from == "reference"``); the RTL unit's are its own.
    """
    n = int(database.shape[0])
    for name, value in (("--radius", radius), ("--cap", cap)):
        if value is not None and (isinstance(value, bool) or not 0 <= int(value) <= 0xFFFF_FFFF):
            raise TorusInputError(f"{name} must be between 0 and 4294967295, got {value!r}")
    cap = n if cap is None else int(cap)
    query_ids = list(range(len(queries))) if query_ids is None else query_ids
    chosen = queries[query_ids]
    want = [reference.range_search(q, database, bits=bits, metric=metric, radius=radius) for q in chosen]
    dists = [reference.scan(q, database, bits=bits, metric=metric) for q in chosen]
    expected = ([w[:cap] for w in want], [d[w[:cap]] for w, d in zip(want, dists)], [len(w) for w in want])
    if target == RTL:
        from .rtl_sim import run_rtl_range

        lanes = 8 if lanes is None else lanes
        answers, _ = run_rtl_range(database, chosen, bits=bits, metric=metric, radius=int(radius), cap=cap,
                                   lanes=lanes, progress=progress)
        core_name, variant_name, code_bytes, source = f"rtl-{lanes}lane", f"{lanes} lanes", None, "kernel"
        results = [QueryResult([int(i) for i in a.indices], [int(d) for d in a.distances], None, a.cycles,
                               {core_name: a.cycles}, int(a.count)) for a in answers]
    else:
        if lanes is not None:
            raise TorusInputError("--lanes applies to --target rtl only")
        t = get_target(target)
        core_name = core or t.default_core
        if core_name not in cores_for(target):
            raise TorusInputError(f"core {core_name!r} does not run target {target}; "
                                  f"choose one of {', '.join(cores_for(target))}")
        if built is None:
            built = build_kernel(t, KernelSpec("range", metric, bits, int(database.shape[1])), variant=variant)
        runner = KernelRunner(built, cores=(core_name,))
        runner.load_database(database)
        results = []
        for q, d in zip(chosen, dists):
            got = runner.range(q, int(radius), cap)
            results.append(QueryResult(got.indices, [int(d[i]) for i in got.indices], got.instructions,
                                       got.cycles.get(core_name), dict(got.cycles), got.count))
            if progress:
                progress()
        code_bytes, variant_name, source = built.code_bytes, built.kernel.variant, "reference"
    run = SearchRun(target, core_name, bits, metric, int(database.shape[1]), 0, results, query_ids, expected,
                    code_bytes, variant_name, kernel="range", radius=int(radius), cap=cap, distances_from=source)
    for i, q in enumerate(results):
        if (q.count != expected[2][i] or q.indices != expected[0][i].tolist()
                or q.distances != expected[1][i].tolist()):
            run.mismatched.append(i)
    return run


def _run_rtl(database, queries, bits, metric, k, lanes, progress):
    from .rtl_sim import run_rtl_search

    lanes = 8 if lanes is None else lanes
    answers = run_rtl_search(database, queries, bits=bits, metric=metric, k=k, lanes=lanes)
    results = [QueryResult(list(a.indices), list(a.distances), None, a.cycles, {f"rtl-{lanes}lane": a.cycles})
               for a in answers]
    if progress:
        for _ in results:
            progress()
    return results, None, f"rtl-{lanes}lane", f"{lanes} lanes"
