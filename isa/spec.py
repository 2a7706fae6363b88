"""What a kernel computes: one description per kernel, :class:`KernelSpec` in, :class:`Kernel` out.

A :class:`KernelKind` is the data every layer reads about one kernel: its C
arguments in ABI order by what the caller puts there, the parameters a call
chooses (with their limits and defaults), where the answer is (the return
value, the output buffers, how many entries are valid), the answer's named
fields and the reference computation that gives them.  The prototype, the
harness's argument list and read-back (sim/runner.py), the comparison with
the reference (sim/search_run.py) and the ``run`` options (the CLI) are all
derived from it, so a new kernel is one description here plus its five
family generators.

A spec fixes everything that is compiled into the code (kernel, metric,
bits, D, k_max); the generated :class:`Kernel` carries the assembly text,
the row layout the harness and exporters must follow, and its C prototype.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from torus_hw import reference
from torus_hw.errors import TorusInputError
from torus_hw.quantize import row_bytes, row_stride
from torus_hw.reference import check_bits, check_metric, max_dim_distance, max_dims_u32

K_MAX_LIMIT = 16
U32_MAX = 0xFFFF_FFFF

# What the caller puts in an argument (Arg.kind).
QUERY = "query"      # const uint8_t *: the packed query
DB = "db"            # const uint8_t *: the packed database
ROW = "row"          # const uint8_t *: one database row, chosen by the parameter of the same name
ROWS = "rows"        # uint32_t: the database's row count
PARAM = "param"      # uint32_t: a parameter of the call (Param of the same name)
OUT = "out"          # element *: an output buffer the kernel writes

_C_TYPES = {QUERY: "const uint8_t *", DB: "const uint8_t *", ROW: "const uint8_t *", ROWS: "uint32_t ",
            PARAM: "uint32_t "}
# The element types of output buffers, as C and as the little-endian NumPy type the harness reads.
ELEMENTS = {"uint32_t": np.dtype("<u4")}
PROTOTYPE_ARGS_PER_LINE = 4  # a longer prototype continues on a second line, aligned after the parenthesis


@dataclass(frozen=True)
class Param:
    """A number a call chooses (``k``, ``radius``, ``cap``, ``row``).

    ``low``..``high`` are its limits whatever the kernel (checked before any
    work); ``call_high`` narrows ``high`` once the spec and the loaded rows
    are known (k within the compiled k_max, a row of the database), and
    ``why`` names that bound in the refusal.  ``default`` gives the value
    from the row count when the caller leaves it out (None: required).
    ``help`` and ``metavar`` are the ``run`` option's.
    """

    name: str
    help: str
    metavar: str
    low: int = 0
    high: int = U32_MAX
    default: Callable[[int], int] | None = None
    call_high: Callable[[KernelSpec, int], int] | None = None
    why: str = "a uint32"

    def call_limit(self, spec: KernelSpec, rows: int) -> int:
        """The largest value a call may pass, for this spec over ``rows`` rows."""
        return self.high if self.call_high is None else min(self.high, self.call_high(spec, rows))

    def check(self, value, spec: KernelSpec, rows: int) -> int:
        """``value`` as an int within a call's limits, or the one refusal naming the parameter and the bound."""
        low, high, why = self.low, self.call_limit(spec, rows), self.why
        if isinstance(value, bool):
            raise TorusInputError(f"{self.name} must be an integer, got {value!r}")
        try:
            value = operator.index(value)
        except TypeError:
            raise TorusInputError(f"{self.name} must be an integer, got {value!r}") from None
        if not low <= value <= high:
            raise TorusInputError(f"{self.name}={value} outside {low}..{high} ({why})")
        return value

    def check_option(self, value) -> int:
        """The limits whatever the kernel, worded for the ``run`` option (before any work)."""
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not self.low <= value <= self.high:
            raise TorusInputError(f"--{self.name} must be between {self.low} and {self.high}, got {value!r}")
        return int(value)


@dataclass(frozen=True)
class Arg:
    """One C argument, in ABI order, by what the caller puts there (``kind``: QUERY, DB, ROW, ROWS, PARAM, OUT).

    An OUT buffer holds the answer field ``field``; the kernel may write
    ``slots(params, rows)`` elements of ``element``; ``guard`` elements past
    them must come back untouched (the 8086's real-mode memory cannot
    fault, so the harness checks); ``grows_with_rows`` says its size is not
    bounded by the spec (the harness gives it its large output area).
    """

    name: str
    kind: str
    field: str | None = None
    slots: Callable[[dict, int], int] | None = None
    element: str = "uint32_t"
    guard: int = 0
    grows_with_rows: bool = False

    @property
    def c(self) -> str:
        """The argument as it appears in the C prototype."""
        return f"{self.element} *{self.name}" if self.kind == OUT else f"{_C_TYPES[self.kind]}{self.name}"

    @property
    def abi_kind(self) -> str:
        """The kind isa.abi places: ``"u32"`` for a count or parameter, ``"ptr"`` for every pointer."""
        return "u32" if self.kind in (ROWS, PARAM) else "ptr"


@dataclass(frozen=True)
class Returns:
    """What the return value means: the prototype's comment, and the answer field it is (None: not a field)."""

    doc: str | None
    field: str | None = None


@dataclass(frozen=True)
class KernelKind:
    """Everything the layers above the generators know about one kernel."""

    name: str
    doc: str                                   # what it answers, one line (the CLI's help)
    args: tuple[Arg, ...]                      # the C arguments in ABI order
    returns: Returns | None                    # None: void
    params: tuple[Param, ...]                  # what a call chooses, in the order the run line names them
    fields: tuple[str, ...]                    # the answer's named fields, each compared with the reference
    reference: Callable[..., dict]             # (query, database, *, bits, metric, **params) -> {field: value}
    summary: str                               # the run line's description of a call, formatted with the params
    valid: Callable[[int, dict, int], int] = lambda returned, params, rows: 0  # output entries written
    # Fields the kernels do not return, each the reference's distances of the rows in another field.
    from_reference: tuple[tuple[str, str], ...] = ()
    compiled: str | None = None                # the parameter whose maximum the spec compiles in (k: k_max)
    contract: tuple[str, ...] = ()             # kernel.h's contract lines, formatted with k_max

    @property
    def arg_kinds(self) -> tuple[str, ...]:
        """The isa.abi kinds of the arguments, in order (what Abi.arguments and Abi.place take)."""
        return tuple(arg.abi_kind for arg in self.args)

    @property
    def outputs(self) -> tuple[Arg, ...]:
        return tuple(arg for arg in self.args if arg.kind == OUT)

    def prototype(self, symbol: str) -> str:
        """The C prototype under ``symbol`` (a long one continues aligned after the parenthesis)."""
        head = f"{'void' if self.returns is None else 'uint32_t'} {symbol}("
        args = [arg.c for arg in self.args]
        lines = [", ".join(args[i:i + PROTOTYPE_ARGS_PER_LINE])
                 for i in range(0, len(args), PROTOTYPE_ARGS_PER_LINE)]
        text = head + (",\n" + " " * len(head)).join(lines) + ");"
        doc = self.returns.doc if self.returns else None
        return text + (f"   /* returns {doc} */" if doc else "")

    def parameters(self, params: dict, rows: int, spec: KernelSpec | None = None) -> dict:
        """Every parameter of a call over ``rows`` rows: the given ones checked, the others defaulted.

        Without ``spec`` the limits are those whatever the kernel, worded for
        the ``run`` options (the check before any work); with it, a call's
        (k within the spec's k_max, a row of the database).
        """
        names = [p.name for p in self.params]
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise TorusInputError(f"the {self.name} kernel takes no {', '.join(unknown)} "
                                  f"(its parameters: {', '.join(names) or 'none'})")
        values = {}
        for p in self.params:
            value = params.get(p.name)
            if value is None and p.default is None:
                raise TorusInputError(f"the {self.name} kernel needs {p.name}")
            if value is None:
                values[p.name] = p.default(rows)
            elif spec is None:
                values[p.name] = p.check_option(value)
            else:
                values[p.name] = p.check(value, spec, rows)
        return values

    def complete(self, answer: dict, query, database, *, bits: int, metric: str) -> dict:
        """``answer`` with the fields the kernel does not return, from the reference (``from_reference``)."""
        if not self.from_reference:
            return answer
        # Distances of the returned rows only: a scan of the whole database per query would repeat the reference's.
        filled = {name: reference.scan(query, database[np.asarray(answer[rows], dtype=np.int64)], bits=bits,
                                       metric=metric) for name, rows in self.from_reference}
        return {name: answer[name] if name in answer else filled[name] for name in self.fields}


# --- the kernels ---------------------------------------------------------------------------


def _distance_reference(query, database, *, bits: int, metric: str, row: int) -> dict:
    return {"distance": int(reference.torus_distance(query, database[row], bits=bits, metric=metric))}


def _scan_reference(query, database, *, bits: int, metric: str) -> dict:
    return {"distances": reference.scan(query, database, bits=bits, metric=metric)}


def _search_reference(query, database, *, bits: int, metric: str, k: int) -> dict:
    indices, distances = reference.search(np.asarray(query)[None], database, bits=bits, metric=metric, k=k)
    return {"indices": indices[0], "distances": distances[0]}


def _range_reference(query, database, *, bits: int, metric: str, radius: int, cap: int) -> dict:
    within = reference.range_search(query, database, bits=bits, metric=metric, radius=radius)
    kept = within[:cap]
    return {"count": len(within), "indices": kept, "distances": reference.scan(query, database[kept], bits=bits,
                                                                               metric=metric)}


DISTANCE = KernelKind(
    name="distance",
    doc="the distance from each query to one database row (--row)",
    args=(Arg("q", QUERY), Arg("row", ROW)),
    returns=Returns(None, field="distance"),
    params=(Param("row", "the database row every query is measured against (default 0)", "ROW",
                  default=lambda rows: 0, call_high=lambda spec, rows: rows - 1, why="a row of the database"),),
    fields=("distance",),
    reference=_distance_reference,
    summary="distance to row {row}",
)

SCAN = KernelKind(
    name="scan",
    doc="the distance from each query to every row",
    args=(Arg("q", QUERY), Arg("db", DB), Arg("n", ROWS),
          Arg("out", OUT, field="distances", slots=lambda params, rows: rows, grows_with_rows=True)),
    returns=None,
    params=(),
    fields=("distances",),
    reference=_scan_reference,
    summary="scan",
    valid=lambda returned, params, rows: rows,
)

SEARCH = KernelKind(
    name="search",
    doc="the k nearest rows of each query (ties to the lower row)",
    args=(Arg("q", QUERY), Arg("db", DB), Arg("n", ROWS), Arg("k", PARAM),
          Arg("out_idx", OUT, field="indices", slots=lambda params, rows: params["k"]),
          Arg("out_dist", OUT, field="distances", slots=lambda params, rows: params["k"])),
    returns=Returns("min(k, n)"),
    params=(Param("k", f"neighbours per query (≤ {K_MAX_LIMIT}, default 1)", "K", low=1, high=K_MAX_LIMIT,
                  default=lambda rows: 1, call_high=lambda spec, rows: spec.k_max, why="the kernel's k_max"),),
    fields=("indices", "distances"),
    reference=_search_reference,
    summary="top-{k}",
    valid=lambda returned, params, rows: min(returned, params["k"]),
    compiled="k",
    contract=(
        "k: the kernel keeps at most k_max = {k_max} results.  It writes min(k, {k_max}, n) entries",
        "to out_idx/out_dist (ascending distance, ties by lower row index) and returns that count;",
        "for k > k_max it returns k_max (not k), k = 0 returns 0; later entries are left untouched.",
    ),
)

RANGE = KernelKind(
    name="range",
    doc="every row within --radius of each query: their count, the indices of the first --cap in row order",
    args=(Arg("q", QUERY), Arg("db", DB), Arg("n", ROWS), Arg("radius", PARAM),
          Arg("out_idx", OUT, field="indices", slots=lambda params, rows: min(params["cap"], rows), guard=1,
              grows_with_rows=True),
          Arg("cap", PARAM)),
    returns=Returns("the count of rows within radius", field="count"),
    params=(Param("radius", "rows with distance ≤ R (required)", "R"),
            Param("cap", "return at most C indices (default: all; the count is always of all)", "C",
                  default=lambda rows: rows)),
    fields=("count", "indices", "distances"),
    reference=_range_reference,
    summary="radius {radius} (cap {cap})",
    valid=lambda returned, params, rows: min(returned, params["cap"], rows),
    from_reference=(("distances", "indices"),),  # the kernels return indices only
    contract=("Range: returns the number of rows within radius and writes the first min(count, cap) indices.",),
)

# The one registry of kernels; KERNELS is the list of their names.
KINDS: dict[str, KernelKind] = {kind.name: kind for kind in (DISTANCE, SCAN, SEARCH, RANGE)}
KERNELS = tuple(KINDS)


def prototype(kernel: str, symbol: str) -> str:
    """The C prototype of ``kernel`` under ``symbol`` (continuation lines aligned after the parenthesis)."""
    return KINDS[kernel].prototype(symbol)


@dataclass(frozen=True)
class KernelSpec:
    kernel: str
    metric: str
    bits: int
    dims: int
    k_max: int = 1

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise TorusInputError(f"kernel must be one of {', '.join(KERNELS)}, got {self.kernel!r}")
        check_metric(self.metric)
        check_bits(self.bits)
        if isinstance(self.dims, bool) or not isinstance(self.dims, int) or self.dims < 1:
            raise TorusInputError(f"dims must be a positive integer, got {self.dims!r}")
        if isinstance(self.k_max, bool) or not isinstance(self.k_max, int) or not 1 <= self.k_max <= K_MAX_LIMIT:
            raise TorusInputError(f"k must be between 1 and {K_MAX_LIMIT}, got {self.k_max!r}")

    @property
    def kind(self) -> KernelKind:
        """The kernel's description (arguments, parameters, answer, reference)."""
        return KINDS[self.kernel]

    @property
    def symbol(self) -> str:
        """The generator's default global symbol, ``torus_<kernel>``."""
        return f"torus_{self.kernel}"

    @property
    def prototype(self) -> str:
        return prototype(self.kernel, self.symbol)

    def symbol_name(self) -> str:
        """A symbol naming the whole spec, e.g. ``torus_search_l1_u8_d16_k5`` (several kernels in one image)."""
        compiled = self.kind.compiled
        k = f"_{compiled}{self.k_max}" if compiled else ""
        return f"torus_{self.kernel}_{self.metric}_u{self.bits}_d{self.dims}{k}"

    @property
    def row_bytes(self) -> int:
        return row_bytes(self.dims, self.bits)

    def describe(self) -> str:
        compiled = self.kind.compiled
        k = f" {compiled}<={self.k_max}" if compiled else ""
        return f"{self.kernel} {self.bits}-bit {self.metric} D={self.dims}{k}"


@dataclass(frozen=True)
class RowLayout:
    """How rows sit in memory for one kernel: stride and alignment in bytes."""

    dims: int
    bits: int
    align: int

    @property
    def stride(self) -> int:
        return row_stride(self.dims, self.bits, self.align)


@dataclass
class Kernel:
    """Generated assembly for one spec on one target."""

    spec: KernelSpec
    target: str
    asm: str
    layout: RowLayout
    variant: str = "baseline"
    notes: list[str] = field(default_factory=list)
    symbol: str = ""             # the global symbol the harness calls (default: spec.symbol)
    dialect: str = "gnu"

    def __post_init__(self) -> None:
        self.symbol = self.symbol or self.spec.symbol

    @property
    def prototype(self) -> str:
        return prototype(self.spec.kernel, self.symbol)


def dims_limit(spec: KernelSpec, max_row_bytes: int) -> int:
    """A generator's documented maximum D: distances fit uint32 and a packed row fits ``max_row_bytes``."""
    return min(max_dims_u32(spec.bits, spec.metric), max_row_bytes * 8 // spec.bits)


def refuse_beyond_max_dims(target_name: str, spec: KernelSpec, max_row_bytes: int, row_reason: str) -> None:
    """Raise the one message every generator gives for a D it cannot hold, naming the bound and why."""
    limit = dims_limit(spec, max_row_bytes)
    if spec.dims <= limit:
        return
    u32 = max_dims_u32(spec.bits, spec.metric)
    why = (f"a distance could reach {spec.dims * max_dim_distance(spec.bits, spec.metric)}, beyond uint32"
           if limit == u32 else f"{row_reason} ({max_row_bytes} bytes)")
    raise TorusInputError(f"{target_name}: D={spec.dims} for {spec.bits}-bit {spec.metric} is beyond "
                          f"max_dims={limit}: {why}")
