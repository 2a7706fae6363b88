"""What a kernel computes: :class:`KernelSpec` in, :class:`Kernel` out.

A spec fixes everything that is compiled into the code (kernel, metric,
bits, D, k_max); the generated :class:`Kernel` carries the assembly text,
the row layout the harness and exporters must follow, and its C prototype.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torus_hw.errors import TorusInputError
from torus_hw.quantize import row_bytes, row_stride
from torus_hw.reference import check_bits, check_metric, max_dim_distance, max_dims_u32

KERNELS = ("distance", "scan", "search", "range")
K_MAX_LIMIT = 16

# C prototypes by kernel; ``{symbol}`` is the kernel's global symbol.
PROTOTYPES = {
    "distance": "uint32_t {symbol}(const uint8_t *q, const uint8_t *row);",
    "scan": "void {symbol}(const uint8_t *q, const uint8_t *db, uint32_t n, uint32_t *out);",
    "search": (
        "uint32_t {symbol}(const uint8_t *q, const uint8_t *db, uint32_t n, uint32_t k,\n"
        "{indent}uint32_t *out_idx, uint32_t *out_dist);   /* returns min(k, n) */"
    ),
    "range": (
        "uint32_t {symbol}(const uint8_t *q, const uint8_t *db, uint32_t n, uint32_t radius,\n"
        "{indent}uint32_t *out_idx, uint32_t cap);   /* returns the count of rows within radius */"
    ),
}


def prototype(kernel: str, symbol: str) -> str:
    """The C prototype of ``kernel`` under ``symbol`` (continuation lines aligned after the parenthesis)."""
    return PROTOTYPES[kernel].format(symbol=symbol, indent=" " * len(f"uint32_t {symbol}("))


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
    def symbol(self) -> str:
        """The generator's default global symbol, ``torus_<kernel>``."""
        return f"torus_{self.kernel}"

    @property
    def prototype(self) -> str:
        return prototype(self.kernel, self.symbol)

    def symbol_name(self) -> str:
        """A symbol naming the whole spec, e.g. ``torus_search_l1_u8_d16_k5`` (several kernels in one image)."""
        k = f"_k{self.k_max}" if self.kernel == "search" else ""
        return f"torus_{self.kernel}_{self.metric}_u{self.bits}_d{self.dims}{k}"

    @property
    def row_bytes(self) -> int:
        return row_bytes(self.dims, self.bits)

    def describe(self) -> str:
        k = f" k<={self.k_max}" if self.kernel == "search" else ""
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
