"""Run a whole codes file through one backend and compare every answer.

This is the loop behind ``torus-hw run`` and the demo: build (or take) the
backend, run the kernel for each query, count instructions and cycles, and
compare every field of the answer bit-exactly with the
:mod:`torus_hw.reference` computation its description names
(:class:`isa.spec.KernelKind`).  :func:`run_kernel` knows no kernel by
name.  ISA targets run under Unicorn through
:class:`sim.runner.KernelRunner`; the ``rtl`` target runs the Amaranth units
through :mod:`sim.rtl_sim`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from isa.build import build_kernel
from isa.spec import KINDS, KERNELS, KernelKind, KernelSpec
from isa.targets import get_target
from torus_hw.errors import TorusInputError

from .cycles import cores_for, get_model
from .runner import KernelRunner, NamedFields

RTL = "rtl"


def _plain(value):
    """An answer field as JSON has it: a list of ints, or an int."""
    return np.asarray(value).tolist()


@dataclass
class QueryResult(NamedFields):
    fields: dict[str, object]               # the answer's named fields (lists of int, ints), in the kernel's order
    instructions: int | None
    cycles: int | None                      # on the run's core
    cycles_by_core: dict[str, int] = field(default_factory=dict)


@dataclass
class SearchRun:
    target: str
    core: str | None
    bits: int
    metric: str
    dims: int
    kernel: str
    params: dict[str, int]                  # every parameter of the calls, defaults filled in
    queries: list[QueryResult]
    query_ids: list[int]
    expected: list[dict]                    # the reference's answer per query, by field
    code_bytes: int | None = None
    variant: str | None = None
    mismatched: list[int] = field(default_factory=list)
    wait_states: object = None              # the sim.cycles.base.WaitStates the cycles were priced with
    # Where each field the kernels do not return came from: "reference", or "kernel" (the RTL unit returns it).
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> KernelKind:
        return KINDS[self.kernel]

    @property
    def mismatches(self) -> int:
        return len(self.mismatched)

    def mean(self, what: str) -> float | None:
        values = [getattr(q, what) for q in self.queries]
        return None if not values or values[0] is None else float(np.mean(values))

    def mean_cycles(self, core: str) -> float:
        return float(np.mean([q.cycles_by_core[core] for q in self.queries]))

    def _describe(self, answer: dict) -> str:
        return " ".join(f"{name} {_plain(answer[name])}" for name in self.kind.fields)

    def first_mismatch(self) -> str:
        i = self.mismatched[0]
        return (f"query {self.query_ids[i]}: {self.target} gave {self._describe(self.queries[i].fields)}, "
                f"reference gives {self._describe(self.expected[i])}")

    def to_json(self) -> dict:
        out = {"target": self.target, "core": self.core, "kernel": self.kernel, "bits": self.bits,
               "metric": self.metric, "dims": self.dims, **self.params,
               **{f"{name}_from": source for name, source in self.sources.items()}}
        out["mismatches"] = self.mismatches
        out["wait_states"] = self.wait_states.describe() if self.wait_states else "zero"
        out["queries"] = [{**q.fields, "instructions": q.instructions, "cycles": q.cycles} for q in self.queries]
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


def run_kernel(kernel: str, target: str, database: np.ndarray, queries: np.ndarray, *, bits: int, metric: str,
               params: dict | None = None, query_ids: list[int] | None = None, core: str | None = None,
               variant: str | None = None, lanes: int | None = None, progress=None, built=None,
               extra_cores: tuple[str, ...] = (), wait_states=None) -> SearchRun:
    """Run ``kernel`` for ``queries[query_ids]`` on one backend and compare every answer with the reference.

    ``params`` are the calls' parameters (the kernel's description gives
    their limits and defaults; a compiled one, search's k, also sets the
    spec's k_max).  Cycles are reported for ``core`` (default: the
    target's); ``extra_cores`` are priced in the same run (one execution,
    several cycle models); ``wait_states`` (a
    :class:`sim.cycles.base.WaitStates`) prices them with that memory
    system.  Fields the kernels do not return (``KernelKind.from_reference``:
    the ISA range kernels' distances) are the reference's distances of the
    rows they returned, and the run says so (``SearchRun.sources``).
    """
    if kernel not in KINDS:
        raise TorusInputError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    kind = KINDS[kernel]
    _check_wait_states(target, core, wait_states)
    rows = int(database.shape[0])
    values = kind.parameters(params or {}, rows)
    spec = KernelSpec(kernel, metric, bits, int(database.shape[1]), values[kind.compiled] if kind.compiled else 1)
    kind.parameters(values, rows, spec)  # the bounds that depend on the spec and the rows, before any work too
    query_ids = list(range(len(queries))) if query_ids is None else query_ids
    chosen = queries[query_ids]
    expected = [kind.reference(q, database, bits=bits, metric=metric, **values) for q in chosen]
    if target == RTL:
        answers, core_name, variant_name = _rtl_answers(kind, database, chosen, bits, metric, values, lanes,
                                                        progress)
        results = [QueryResult({name: _plain(a[name]) for name in kind.fields}, None, cycles,
                               {core_name: cycles}) for a, cycles in answers]
        code_bytes, sources = None, {name: "kernel" for name, _ in kind.from_reference}
    else:
        built, runner, core_name = _cpu_runner(target, spec, database, core, extra_cores, variant, lanes, built,
                                               wait_states)
        results = []
        for q in chosen:
            got = runner.call(q, **values)
            answer = kind.complete(got.fields, q, database, bits=bits, metric=metric)
            results.append(QueryResult({name: _plain(answer[name]) for name in kind.fields}, got.instructions,
                                       got.cycles.get(core_name), dict(got.cycles)))
            if progress:
                progress()
        code_bytes, variant_name = built.code_bytes, built.kernel.variant
        sources = {name: "reference" for name, _ in kind.from_reference}
    run = SearchRun(target, core_name, bits, metric, int(database.shape[1]), kernel, values, results, query_ids,
                    expected, code_bytes, variant_name, wait_states=wait_states or None, sources=sources)
    for i, (got, want) in enumerate(zip(results, expected)):
        if any(got.fields[name] != _plain(want[name]) for name in kind.fields):
            run.mismatched.append(i)
    return run


def run_search(target: str, database: np.ndarray, queries: np.ndarray, *, k: int, **options) -> SearchRun:
    """Top-k search on one backend (``run_kernel("search", …, params={"k": k})``), for the many callers that search."""
    return run_kernel("search", target, database, queries, params={"k": k}, **options)


def _check_wait_states(target: str, core: str | None, wait_states) -> None:
    """Refuse wait states the backend cannot price, before any work."""
    if wait_states and target == RTL:
        raise TorusInputError("--wait-states prices the CPU targets' memory, not --target rtl")
    if wait_states:
        get_model(core or get_target(target).default_core, wait_states=wait_states)


def _cpu_runner(target, spec, database, core, extra_cores, variant, lanes, built, wait_states):
    """(built kernel, a runner with ``database`` loaded, the priced core) for an ISA target."""
    if lanes is not None:
        raise TorusInputError("--lanes applies to --target rtl only")
    t = get_target(target)
    core_name = core or t.default_core
    cores = cores_for(target)
    for c in (core_name, *extra_cores):
        if c not in cores:
            raise TorusInputError(f"core {c!r} does not run target {target}; choose one of {', '.join(cores)}")
    if built is None:
        built = build_kernel(t, spec, variant=variant)
    runner = KernelRunner(built, cores=tuple(dict.fromkeys((core_name, *extra_cores))), wait_states=wait_states)
    runner.load_database(database)
    return built, runner, core_name


def _rtl_answers(kind, database, queries, bits, metric, values, lanes, progress):
    """(answers as (fields, cycles) per query, core name, variant name) from the kernel's RTL unit in simulation."""
    from .rtl_sim import run_rtl

    lanes = 8 if lanes is None else lanes
    got = run_rtl(kind.name, database, queries, bits=bits, metric=metric, lanes=lanes, params=values,
                  progress=progress)
    return [(a.values, a.cycles) for a in got], f"rtl-{lanes}lane", f"{lanes} lanes"
