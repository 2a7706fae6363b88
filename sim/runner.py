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
from isa.spec import DB, ELEMENTS, OUT, PARAM, QUERY, ROW, ROWS, Arg
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

    def call(self, query, **params) -> KernelAnswer:
        """Call the kernel for ``query`` with its parameters (defaults from the description); read the answer.

        Every output buffer is filled with a sentinel first, and its guard
        words past the slots the kernel may write must come back untouched:
        the 8086's real-mode memory cannot fault, so an overrun would
        otherwise go unseen.
        """
        values = self.kind.parameters(params, self.rows, self.spec)
        self._load_query(query)
        outputs = self._place_outputs(values)
        args = [(arg.abi_kind, self._argument(arg, values, outputs)) for arg in self.kind.args]
        returned, stats = self.machine.call(self.built.kernel.symbol, args, returns=self.kind.returns is not None)
        if self.kind.returns is None:
            returned = None
        return KernelAnswer(self._read_back(returned, values, outputs), returned,
                            stats.instructions if stats else None, stats.cycles if stats else {})

    def _argument(self, arg: Arg, values: dict, outputs: dict) -> int:
        """What the caller passes for ``arg``: an address, the row count or a parameter's value."""
        if arg.kind == QUERY:
            return self.region.query
        if arg.kind == DB:
            return self.region.db
        if arg.kind == ROW:
            return self.region.db + values[arg.name] * self.layout.stride
        if arg.kind == ROWS:
            return self.rows
        if arg.kind == PARAM:
            return values[arg.name]
        if arg.kind == OUT:
            return outputs[arg.name][0]
        raise AssertionError(f"argument kind {arg.kind!r} of the {self.kind.name} kernel has no placement")

    def _place_outputs(self, values: dict) -> dict[str, tuple[int, int]]:
        """Each output buffer's (address, slots), mapped, checked to fit and filled with the sentinel.

        Buffers the spec bounds (search's k_max entries) take the harness's
        two small areas after the query, in argument order; buffers that grow
        with the rows share its large output area, one after another.
        """
        r = self.region
        small_size = r.out_dist - r.out_idx  # the harness spaces its two small output areas one area apart
        small = [(r.out_idx, r.out_dist), (r.out_dist, r.out_dist + small_size)]
        large = r.scan_out
        placed = {}
        for arg in self.kind.outputs:
            slots = arg.slots(values, self.rows)
            size = ELEMENTS[arg.element].itemsize * (slots + arg.guard)
            if arg.grows_with_rows:
                start, end = large, r.scan_end
                large += -(-size // 4) * 4  # the next buffer stays word-aligned
            else:
                start, end = small.pop(0)
            self.machine.check_fits(f"{self.kind.name} output {arg.name}", start, size, end)
            if arg.grows_with_rows:  # mapped per call on flat targets; the small areas always are
                self.machine.map_range(start, max(size, 1))
            self.machine.write(start, bytes([SENTINEL]) * size)
            placed[arg.name] = (start, slots)
        return placed

    def _read_back(self, returned: int | None, values: dict, outputs: dict) -> dict:
        """The answer's fields: the return value's, and each output's valid entries after its guard is checked."""
        kind = self.kind
        fields = {}
        if kind.returns is not None and kind.returns.field:
            fields[kind.returns.field] = returned
        valid = kind.valid(returned, values, self.rows)
        for arg in kind.outputs:
            start, slots = outputs[arg.name]
            dtype = ELEMENTS[arg.element]
            guard = dtype.itemsize * arg.guard
            if guard and self.machine.read(start + dtype.itemsize * slots, guard) != bytes([SENTINEL]) * guard:
                raise EmulatorFault(f"{self.built.target.name}: the {kind.name} kernel wrote past "
                                    f"{arg.name}[{slots - 1}]")
            data = self.machine.read(start, dtype.itemsize * min(valid, slots))
            fields[arg.field] = np.frombuffer(data, dtype=dtype).astype(np.int64)
        return fields
