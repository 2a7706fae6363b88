"""The RTL units' registry: each unit describes itself once, and everything else derives from it.

A unit module of this package ends with one line, ``RTL_UNIT =
SomeUnitSpec()``: a :class:`UnitSpec` that names the kernel the unit implements
(``search``, ``range``, …) and says

* how to build it: :meth:`UnitSpec.build` and the parameters it takes
  (:attr:`UnitSpec.params`: the hardware ones fix the design, the others are
  loaded at run time);
* how fast it is: :meth:`UnitSpec.latency` and, at full rate,
  :meth:`UnitSpec.cycles_per_query`;
* how big it is before it is built: :meth:`UnitSpec.tail_register_bits`, its
  registers beyond the front end every unit shares (:mod:`rtl.size` adds
  that part);
* how a host talks to it: the payloads loaded on its extra input streams for
  each query (:meth:`UnitSpec.query_loads`) and how the result payloads read
  back as the kernel's answer (:meth:`UnitSpec.read_answer`).  The one
  testbench in :mod:`sim.rtl_sim` streams the query and the rows and drives
  every unit through these.

Every unit is a :class:`rtl.distance.DatabaseScanUnit`: ``query`` and
``rows`` in, ``results`` out (a struct whose ``last`` field marks a query's
final beat), and any further input stream loaded between queries.  The registry finds the
modules by itself (no list to edit), so :mod:`rtl.synth` (Verilog,
synthesis), :mod:`rtl.size` (the pre-elaboration limit), ``torus-hw rtl
--kernel`` and :mod:`sim.rtl_sim` (simulation, cycles per query) know a new
unit from its module alone.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache

import numpy as np

from torus_hw.errors import TorusInputError

DEFAULT_KERNEL = "search"  # torus-hw rtl's default, listed first
_NOT_UNITS = {"distance", "size", "synth", "units"}  # modules of this package that hold no RTL_UNIT

REQUIRED = object()  # a parameter with no default: the caller must give it


@dataclass(frozen=True)
class UnitParam:
    """One parameter of a unit: ``hardware`` ones are fixed when it is built (Verilog,
    synthesis, ``torus-hw rtl``'s summary); the others are loaded per query at run time."""

    name: str
    default: object = REQUIRED
    hardware: bool = False


class UnitSpec:
    """What one RTL unit says about itself; a unit module subclasses it and sets ``RTL_UNIT`` to an instance."""

    kernel: str                           # the kernel it implements, torus-hw rtl --kernel
    summary: str                          # a few words for --kernel's help
    params: tuple[UnitParam, ...] = ()

    def build(self, lanes: int, bits: int, dims: int, metric: str, *, adder_stages: int | None, max_rows: int,
              **hardware):
        """The unit's :class:`rtl.distance.DatabaseScanUnit` (bad parameters raise TorusInputError)."""
        raise NotImplementedError

    def latency(self, lanes: int, bits: int, metric: str, adder_stages: int | None = None, **hardware) -> int:
        """A query whose last row beat is accepted in cycle c offers its first result after the rows
        (search: the nearest row; range: the count) in cycle c + this."""
        raise NotImplementedError

    def cycles_per_query(self, n_rows: int, *, beats: int, latency: int, **hardware) -> int:
        """Cycles per query at full rate, from its first query beat to its last result, both included.

        ⌈D/P⌉ query-load cycles, ⌈D/P⌉ per row (the last row's final beat is
        accepted in cycle ⌈D/P⌉·(N+1) − 1), then the latency; a unit whose
        results leave after that, one a cycle, adds them.
        """
        return beats * (n_rows + 1) + latency

    def tail_register_bits(self, *, width: int, index_width: int, max_rows: int, **hardware) -> int:
        """Register bits beyond the shared front end (query ring and distance pipeline), from the
        distance width W, the row index width I and the database bound."""
        raise NotImplementedError

    # --- how a host talks to the unit (driven by sim/rtl_sim.py's testbench) ---

    def check_query(self, n_queries: int, **query) -> dict:
        """The run-time parameters, checked (one-line TorusInputError) before anything is built."""
        return query

    def query_loads(self, unit, n_rows: int, **query) -> dict[str, list[int]]:
        """Payloads of the unit's extra input streams, one per query (loaded with its first query
        beat when it differs from the previous query's), from the checked run-time parameters."""
        return {}

    def read_answer(self, unit, payloads: list[int]) -> dict:
        """One query's answer, the kernel's fields as Python ints, from its ``results`` payloads."""
        raise NotImplementedError

    def empty_answer(self) -> dict:
        """The answer over an empty database (no row closes a query, so nothing is simulated)."""
        raise NotImplementedError

    # --- derived ---

    def hardware_params(self) -> dict[str, object]:
        return {p.name: p.default for p in self.params if p.hardware}

    def query_params(self) -> dict[str, object]:
        return {p.name: p.default for p in self.params if not p.hardware}


@cache
def _registry() -> dict[str, tuple[str, UnitSpec]]:
    """kernel → (module name, unit): the default kernel first, then module-name order."""
    found: dict[str, tuple[str, UnitSpec]] = {}
    for info in sorted(pkgutil.iter_modules(importlib.import_module(__package__).__path__), key=lambda m: m.name):
        if info.name in _NOT_UNITS or info.name.startswith("_"):
            continue
        unit = getattr(importlib.import_module(f"{__package__}.{info.name}"), "RTL_UNIT", None)
        if unit is None:
            continue
        if unit.kernel in found:
            raise RuntimeError(f"kernel {unit.kernel!r} has RTL units in both rtl.{found[unit.kernel][0]} "
                               f"and rtl.{info.name}")
        found[unit.kernel] = (info.name, unit)
    ordered = sorted(found, key=lambda kernel: kernel != DEFAULT_KERNEL)
    return {kernel: found[kernel] for kernel in ordered}


def kernels() -> tuple[str, ...]:
    """The kernels with an RTL unit, the default first."""
    return tuple(_registry())


def unit_spec(kernel: str) -> UnitSpec:
    registry = _registry()
    if kernel not in registry:
        raise TorusInputError(f"the RTL has no {kernel!r} kernel; choose one of {', '.join(registry)}")
    return registry[kernel][1]


def split_params(kernel: str, params: dict, *, run: bool = True) -> tuple[UnitSpec, dict, dict]:
    """(unit, hardware parameters, run-time parameters) for ``kernel`` from ``params``.

    Missing ones take their defaults; a required one missing is refused (a
    run-time one only for a ``run``: building a unit needs none of them).  A
    parameter of another unit is refused unless it holds that unit's default
    (``--k 1`` is every CLI run's, whatever the kernel); numpy integers become ints.
    """
    unit = unit_spec(kernel)
    hardware, query = unit.hardware_params(), unit.query_params()
    for name, value in params.items():
        if isinstance(value, np.integer):
            value = int(value)
        if name in hardware:
            hardware[name] = value
        elif name in query:
            query[name] = value
        else:
            owners = [other for _, other in _registry().values() if any(p.name == name for p in other.params)]
            if not owners:
                raise TorusInputError(f"no RTL unit takes a parameter {name!r}")
            defaults = {p.default for u in owners for p in u.params if p.name == name}
            if defaults != {value}:
                raise TorusInputError(f"{name} applies to the {' and '.join(u.kernel for u in owners)} kernel "
                                      f"only, got {name}={value!r} for {kernel}")
    for name, value in (*hardware.items(), *(query.items() if run else ())):
        if value is REQUIRED:
            raise TorusInputError(f"the RTL {kernel} unit needs {name}")
    return unit, hardware, query


def build_unit(lanes: int, bits: int, dims: int, metric: str = "l1", *, kernel: str = DEFAULT_KERNEL,
               adder_stages: int | None = None, max_rows: int = 1 << 16, **params):
    """The unit for ``kernel`` with these hardware parameters (run-time ones, if given, are ignored)."""
    unit, hardware, _ = split_params(kernel, params, run=False)
    return unit.build(lanes, bits, dims, metric, adder_stages=adder_stages, max_rows=max_rows, **hardware)


def per_query(value, n_queries: int, name: str) -> list:
    """A run-time parameter as one value per query: a scalar (or None) for all, or a sequence of one each."""
    if value is None or np.ndim(value) == 0:
        return [value] * n_queries
    if np.ndim(value) != 1 or len(value) != n_queries:
        raise TorusInputError(f"{name} must be one value or one per query ({n_queries}), got shape {np.shape(value)}")
    return list(value)
