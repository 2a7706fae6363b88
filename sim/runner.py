"""Run a built kernel over real codes: pack, place, call, read back, count.

:class:`KernelRunner` is the one way every caller (CLI, demo, tests,
benchmarks) executes a kernel under Unicorn; it packs rows to the kernel's
stated layout (torus_hw.quantize), places them per the harness memory map,
calls by the target ABI, and returns answers with instructions and cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from isa.build import BuiltKernel
from torus_hw.errors import TorusInputError
from torus_hw.quantize import pack_rows

from .machine import EmulatorFault, Machine


@dataclass
class SearchAnswer:
    indices: list[int]
    distances: list[int]
    returned: int
    instructions: int | None = None
    cycles: dict[str, int] = field(default_factory=dict)


@dataclass
class RangeAnswer:
    count: int                   # every row within the radius (the kernel's return value)
    indices: list[int]           # the first min(count, cap) of them, in row order
    instructions: int | None = None
    cycles: dict[str, int] = field(default_factory=dict)


@dataclass
class ScanAnswer:
    distances: np.ndarray
    instructions: int | None = None
    cycles: dict[str, int] = field(default_factory=dict)


@dataclass
class DistanceAnswer:
    distance: int
    instructions: int | None = None
    cycles: dict[str, int] = field(default_factory=dict)


class KernelRunner:
    """One machine for one built kernel; load a database once, query many times."""

    def __init__(self, built: BuiltKernel, *, count: bool = True, cores: tuple[str, ...] | None = None):
        self.built = built
        self.spec = built.kernel.spec
        self.layout = built.kernel.layout
        self.machine = Machine(built.target, built.image, count=count, cores=cores)
        self.region = self.machine.region
        self.rows = 0

    def _pack(self, codes, name: str) -> np.ndarray:
        arr = np.asarray(codes)
        if arr.shape[-1] != self.spec.dims:
            raise TorusInputError(f"{name} has D={arr.shape[-1]}, the kernel was generated for D={self.spec.dims}")
        return pack_rows(arr, self.spec.bits, self.layout.stride)

    def load_database(self, database) -> None:
        packed = self._pack(np.atleast_2d(database), "database")
        size = packed.size
        self.machine.check_fits("database", self.region.db, size, self.region.db_end)
        self.machine.map_range(self.region.db, max(size, 1))
        self.machine.write(self.region.db, packed.tobytes())
        self.rows = packed.shape[0]

    def _load_query(self, query) -> None:
        packed = self._pack(np.asarray(query).reshape(-1), "query")
        self.machine.write(self.region.query, packed.tobytes())

    def search(self, query, k: int) -> SearchAnswer:
        if self.spec.kernel != "search":
            raise TorusInputError(f"kernel is {self.spec.kernel}, not search")
        if not 1 <= k <= self.spec.k_max:
            raise TorusInputError(f"k={k} outside 1..{self.spec.k_max} (the kernel's k_max)")
        self._load_query(query)
        sentinel = b"\xa5" * (4 * k)
        self.machine.write(self.region.out_idx, sentinel)
        self.machine.write(self.region.out_dist, sentinel)
        returned, stats = self.machine.call(self.built.kernel.symbol, [
            ("ptr", self.region.query), ("ptr", self.region.db), ("u32", self.rows), ("u32", k),
            ("ptr", self.region.out_idx), ("ptr", self.region.out_dist)])
        got = min(returned, k)
        idx = np.frombuffer(self.machine.read(self.region.out_idx, 4 * got), dtype="<u4")
        dist = np.frombuffer(self.machine.read(self.region.out_dist, 4 * got), dtype="<u4")
        return SearchAnswer(idx.astype(int).tolist(), dist.astype(int).tolist(), returned,
                            stats.instructions if stats else None, stats.cycles if stats else {})

    def range(self, query, radius: int, cap: int) -> RangeAnswer:
        """Rows within ``radius``: the count of all of them, the indices of the first ``cap``.

        A guard word past the ``min(cap, rows)`` slots the kernel may write
        must come back untouched (the 8086's real-mode memory cannot fault).
        """
        if self.spec.kernel != "range":
            raise TorusInputError(f"kernel is {self.spec.kernel}, not range")
        for name, value in (("radius", radius), ("cap", cap)):
            if isinstance(value, bool) or not 0 <= int(value) <= 0xFFFF_FFFF:
                raise TorusInputError(f"{name} must be a uint32 (0..4294967295), got {value!r}")
        self._load_query(query)
        slots = min(int(cap), self.rows)
        size = 4 * slots + 4
        self.machine.check_fits("range output", self.region.scan_out, size, self.region.scan_end)
        self.machine.map_range(self.region.scan_out, size)
        self.machine.write(self.region.scan_out, b"\xa5" * size)
        count, stats = self.machine.call(self.built.kernel.symbol, [
            ("ptr", self.region.query), ("ptr", self.region.db), ("u32", self.rows), ("u32", int(radius)),
            ("ptr", self.region.scan_out), ("u32", int(cap))])
        if self.machine.read(self.region.scan_out + 4 * slots, 4) != b"\xa5" * 4:
            raise EmulatorFault(f"{self.built.target.name}: the range kernel wrote past out_idx[{slots - 1}]")
        got = min(count, slots)
        idx = np.frombuffer(self.machine.read(self.region.scan_out, 4 * got), dtype="<u4")
        return RangeAnswer(count, idx.astype(int).tolist(), stats.instructions if stats else None,
                           stats.cycles if stats else {})

    def scan(self, query) -> ScanAnswer:
        if self.spec.kernel != "scan":
            raise TorusInputError(f"kernel is {self.spec.kernel}, not scan")
        self._load_query(query)
        size = 4 * self.rows
        self.machine.check_fits("scan output", self.region.scan_out, size, self.region.scan_end)
        self.machine.map_range(self.region.scan_out, max(size, 1))
        _, stats = self.machine.call(self.built.kernel.symbol, [
            ("ptr", self.region.query), ("ptr", self.region.db), ("u32", self.rows), ("ptr", self.region.scan_out)])
        out = np.frombuffer(self.machine.read(self.region.scan_out, size), dtype="<u4").astype(np.int64)
        return ScanAnswer(out, stats.instructions if stats else None, stats.cycles if stats else {})

    def distance(self, query, row_index: int = 0) -> DistanceAnswer:
        if self.spec.kernel != "distance":
            raise TorusInputError(f"kernel is {self.spec.kernel}, not distance")
        if not 0 <= row_index < self.rows:
            raise TorusInputError(f"row {row_index} outside the loaded database of {self.rows} rows")
        self._load_query(query)
        value, stats = self.machine.call(self.built.kernel.symbol, [
            ("ptr", self.region.query), ("ptr", self.region.db + row_index * self.layout.stride)])
        return DistanceAnswer(value, stats.instructions if stats else None, stats.cycles if stats else {})
