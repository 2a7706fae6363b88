"""Run a built kernel over real codes: pack, place, call, read back, count.

:class:`KernelRunner` is the one way every caller (CLI, demo, tests,
benchmarks) executes a kernel under Unicorn; it packs rows to the kernel's
stated layout (torus_hw.quantize), places them per the harness memory map,
calls by the target ABI, and returns answers with instructions and cycles.
It knows no kernel by name: :meth:`KernelRunner.call` places every argument
by its kind and reads the answer back as the kernel's description
(:class:`isa.spec.KernelKind`) says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from isa.build import BuiltKernel
from isa.spec import DB, ELEMENTS, OUT, PARAM, QUERY, ROW, ROWS
from torus_hw.errors import TorusInputError
from torus_hw.quantize import pack_rows

from .machine import EmulatorFault, Machine

SENTINEL = 0xA5  # every output byte before the call: what the kernel did not write is recognisable


class NamedFields:
    """Reads an answer's named fields (``answer.indices``) out of its ``fields`` dict."""

    fields: dict

    def __getattr__(self, name: str):
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(f"{type(self).__name__} has no field {name!r} (it has {', '.join(fields)})")


@dataclass
class KernelAnswer(NamedFields):
    """One call's answer: the kernel's named fields (``KernelKind.fields`` it returns), its raw return value."""

    fields: dict[str, object]            # outputs as int64 arrays (the valid entries), return-value fields as int
    returned: int | None                 # the return value (None: void)
    instructions: int | None = None
    cycles: dict[str, int] = field(default_factory=dict)


class KernelRunner:
    """One machine for one built kernel; load a database once, query many times."""

    def __init__(self, built: BuiltKernel, *, count: bool = True, cores: tuple[str, ...] | None = None,
                 wait_states=None):
        self.built = built
        self.spec = built.kernel.spec
        self.kind = self.spec.kind
        self.layout = built.kernel.layout
        self.machine = Machine(built.target, built.image, count=count, cores=cores, wait_states=wait_states)
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

    def _output_areas(self):
        """Where output buffers go: (start, end) of the two small areas for buffers the spec bounds (k_max
        entries), and of the large one the buffers that grow with the rows share, one after another."""
        r = self.region
        small_size = r.out_dist - r.out_idx  # the harness spaces its two small output areas one area apart
        return [(r.out_idx, r.out_dist), (r.out_dist, r.out_dist + small_size)], (r.scan_out, r.scan_end)

    def call(self, query, **params) -> KernelAnswer:
        """Call the kernel for ``query`` with its parameters (defaults from the description); read the answer.

        Every output buffer is filled with a sentinel first, and its guard
        words past the slots the kernel may write must come back untouched:
        the 8086's real-mode memory cannot fault, so an overrun would
        otherwise go unseen.
        """
        kind = self.kind
        values = kind.parameters(params, self.rows, self.spec)
        self._load_query(query)
        small, (large, large_end) = self._output_areas()
        placed, args = [], []
        for arg in kind.args:
            if arg.kind == QUERY:
                args.append(("ptr", self.region.query))
            elif arg.kind == DB:
                args.append(("ptr", self.region.db))
            elif arg.kind == ROW:
                args.append(("ptr", self.region.db + values[arg.name] * self.layout.stride))
            elif arg.kind == ROWS:
                args.append(("u32", self.rows))
            elif arg.kind == PARAM:
                args.append(("u32", values[arg.name]))
            elif arg.kind == OUT:
                slots = arg.slots(values, self.rows)
                item = ELEMENTS[arg.element].itemsize
                size = item * (slots + arg.guard)
                if arg.grows_with_rows:  # mapped per call (flat targets); the small areas always are
                    start, end = large, large_end
                    large += -(-size // 4) * 4
                    self.machine.check_fits(f"{kind.name} output {arg.name}", start, size, end)
                    self.machine.map_range(start, max(size, 1))
                else:
                    start, end = small.pop(0)
                    self.machine.check_fits(f"{kind.name} output {arg.name}", start, size, end)
                self.machine.write(start, bytes([SENTINEL]) * size)
                placed.append((arg, start, slots))
                args.append(("ptr", start))
            else:
                raise AssertionError(f"argument kind {arg.kind!r} of {kind.name} has no placement")
        returned, stats = self.machine.call(self.built.kernel.symbol, args)
        if kind.returns is None:
            returned = None
        fields = {}
        if kind.returns is not None and kind.returns.field:
            fields[kind.returns.field] = returned
        valid = kind.valid(returned, values, self.rows)
        for arg, start, slots in placed:
            dtype = ELEMENTS[arg.element]
            guard = dtype.itemsize * arg.guard
            if guard and self.machine.read(start + dtype.itemsize * slots, guard) != bytes([SENTINEL]) * guard:
                raise EmulatorFault(f"{self.built.target.name}: the {kind.name} kernel wrote past "
                                    f"{arg.name}[{slots - 1}]")
            got = min(valid, slots)
            data = self.machine.read(start, dtype.itemsize * got)
            fields[arg.field] = np.frombuffer(data, dtype=dtype).astype(np.int64)
        return KernelAnswer(fields, returned, stats.instructions if stats else None, stats.cycles if stats else {})
