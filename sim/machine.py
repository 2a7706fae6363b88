"""The Unicorn harness: load a kernel image, call it by its ABI, count it.

Memory map (flat 32/64-bit targets; all addresses are documented constants)::

    0x0000_1000  EXIT       return-address sentinel: emulation stops here
    0x0001_0000  CODE       the linked image (≤ 1 MiB)
    0x0010_0000  STACK      1 MiB, grows down from 0x0020_0000
    0x0020_0000  QUERY      the packed query (≤ 64 KiB)
    0x0021_0000  OUT_IDX    search: k row indices (uint32)
    0x0021_1000  OUT_DIST   search: k distances (uint32)
    0x0100_0000  SCAN_OUT   scan: n distances (uint32), mapped per run
    0x1000_0000  DB         the packed database, mapped per run

The 8086 sees a 1 MiB linear space (segment × 16 + offset)::

    CS = 0x1000  code (linear 0x10000); EXIT is CS:0xFFF0
    SS = 0x2000  stack, SP = 0xFFFE
    0x3000:0000  QUERY, 0x3000:1000 OUT_IDX, 0x3000:2000 OUT_DIST; DS = ES = 0x3000
    linear 0x40000–0xBFFFF  DB (512 KiB)
    linear 0xC0000–0xFFFFF  SCAN_OUT (256 KiB: 65,536 rows)

Far pointers are passed normalised (offset < 16), so a kernel can walk
nearly 64 KiB before it must advance the segment.

Calls follow the target's ABI object (``Target.abi``, :mod:`isa.abi`):
arguments go where it says, the return address into its link register or
onto the stack, the result comes from its result registers.  Every call
checks the convention: callee-saved registers get distinctive values on
entry and must hold them on return, the stack pointer must come back where
the return leaves it, and flags the ABI wants clear (the 8086's DF) must be,
so a kernel that would corrupt its caller on real hardware fails here too.
Unicorn set-up and the start state are read from ``Target.emulator``; the
only target-specific code left here is the memory map of each layout.

Counting: a block hook records each executed (previous block, block, next
block) triple; instruction counts and every core's cycles are then summed
from a capstone-decoded table per block, cached across calls.  A Python hook
per instruction is never installed on this path.  A *stateful* model (the
8086/8088 bus unit: the queue and bus state one block leaves is where the
next starts) is priced by walking the executed blocks in order, each cost
cached per (block, next block, bus-unit state at entry, the block's
data-access parities and register facts); the memory and register hooks
append those facts to the same trace, in execution order.
"""

from __future__ import annotations

import ctypes
import importlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import unicorn

from isa.abi import far_pointer  # noqa: F401  (re-exported: tests place far pointers with it)
from isa.assembler import Image
from isa.checker import disassembler
from isa.targets import Target
from torus_hw.errors import TorusInputError

from .cycles import cores_for, get_model

PAGE = 0x1000
EXIT = 0x0000_1000
CODE = 0x0001_0000
CODE_SIZE = 0x000F_0000
STACK_BASE = 0x0010_0000
STACK_TOP = 0x0020_0000
QUERY = 0x0020_0000
OUT_IDX = 0x0021_0000
OUT_DIST = 0x0021_1000
SCAN_OUT = 0x0100_0000
DB = 0x1000_0000
MAX_FLAT_DB = 0x4000_0000  # 1 GiB: beyond that the host, not the target, is the limit

X86_CS, X86_SS, X86_DS = 0x1000, 0x2000, 0x3000
X86_SEGMENTS = {"cs": X86_CS, "ss": X86_SS, "ds": X86_DS, "es": X86_DS}
X86_STACK_TOP = 0xFFFE  # SS-relative: a call frame is built below it
X86_EXIT_IP = 0xFFF0
X86_QUERY = X86_DS << 4
X86_OUT_IDX = X86_QUERY + 0x1000
X86_OUT_DIST = X86_QUERY + 0x2000
X86_DB, X86_DB_END = 0x4_0000, 0xC_0000
X86_SCAN_OUT, X86_SCAN_END = 0xC_0000, 0x10_0000

RUN_TIMEOUT_US = 120_000_000  # a kernel that has not returned in 2 minutes is stuck


class EmulatorFault(TorusInputError):
    """The emulated kernel faulted or did not return (names target, PC, instruction)."""


@dataclass(frozen=True)
class Region:
    """Where the harness puts things for one target (linear addresses)."""

    query: int
    out_idx: int
    out_dist: int
    scan_out: int
    scan_end: int
    db: int
    db_end: int


FLAT = Region(QUERY, OUT_IDX, OUT_DIST, SCAN_OUT, DB, DB, DB + MAX_FLAT_DB)
REAL_MODE = Region(X86_QUERY, X86_OUT_IDX, X86_OUT_DIST, X86_SCAN_OUT, X86_SCAN_END, X86_DB, X86_DB_END)


def resolve(module, name: str | None):
    return None if name is None else getattr(module, name)


def unicorn_constants(target: Target):
    """Unicorn's constants module for the target's architecture and its register prefix (``UC_<P>_REG_``)."""
    short = target.emulator.unicorn_arch.removeprefix("UC_ARCH_").lower()  # UC_ARCH_ARM64 → arm64
    return importlib.import_module(f"unicorn.{short}_const"), short.upper()


@dataclass
class CallStats:
    instructions: int
    cycles: dict[str, int] = field(default_factory=dict)


@dataclass
class _Block:
    insns: list           # capstone CsInsn (detail on)
    end: int              # fall-through address after the last instruction


class Machine:
    """One Unicorn instance for one target with one image loaded."""

    def __init__(self, target: Target, image: Image, *, count: bool = True, cores: tuple[str, ...] | None = None,
                 wait_states=None):
        self.target = target
        self.image = image
        emulator = target.emulator
        if emulator.memory not in ("flat", "real-mode"):
            raise TorusInputError(f"{target.name}: no memory layout {emulator.memory!r} in the harness")
        self.real_mode = emulator.memory == "real-mode"
        self.region = REAL_MODE if self.real_mode else FLAT
        self.cores = tuple(cores_for(target.name) if cores is None else cores) if count else ()
        self.models = {core: get_model(core, wait_states=wait_states) for core in self.cores}
        self.uc = unicorn.Uc(resolve(unicorn, emulator.unicorn_arch), resolve(unicorn, emulator.unicorn_mode))
        if emulator.unicorn_cpu is not None:
            self.uc.ctl_set_cpu_model(resolve(unicorn_constants(target)[0], emulator.unicorn_cpu))
        self._mapped_extra: list[tuple[int, int]] = []
        self._map_fixed()
        self._load(image)
        for name, value in emulator.setup_registers:
            self.uc.reg_write(register_id(target, name), value)
        self._md = disassembler(target, detail=True)
        self._blocks: dict[tuple[int, int], _Block] = {}
        self._block_cost: dict[tuple, tuple[int, dict[str, int]]] = {}
        self.count = count
        self._trace: list[int] = []  # executed blocks of the current call, as address << 16 | size
        self._mem_penalty: dict[str, int] = defaultdict(int)
        self._reg_penalty: dict[str, int] = defaultdict(int)
        self._reg_hooked: set[int] = set()  # capstone addresses of hooked register-dependent instructions
        self._stateful = {core: m for core, m in self.models.items() if m.stateful}
        self._stateful_memory = any(m.needs_memory for m in self._stateful.values())
        self._state_cost: dict[str, dict] = {core: {} for core in self._stateful}
        if count:
            self._hook_blocks()
            if any(m.needs_memory for m in self.models.values()):
                self.uc.hook_add(unicorn.UC_HOOK_MEM_READ | unicorn.UC_HOOK_MEM_WRITE, self._on_memory)
            self._hook_register_dependent()

    # --- setup ---------------------------------------------------------------

    def _map_fixed(self) -> None:
        if self.real_mode:
            self.uc.mem_map(0, 0x10_0000)  # the whole 1 MiB real-mode space
            return
        self.uc.mem_map(EXIT, PAGE)
        self.uc.mem_map(CODE, CODE_SIZE)
        self.uc.mem_map(STACK_BASE, STACK_TOP - STACK_BASE)
        self.uc.mem_map(QUERY, 0x2_0000)

    def _load(self, image: Image) -> None:
        base = X86_CS << 4 if self.real_mode else 0
        limit = 0x1_0000 if self.real_mode else CODE + CODE_SIZE
        for address, data in image.segments:
            if address + len(data) > (X86_EXIT_IP if self.real_mode else limit):
                raise TorusInputError(f"{self.target.name}: kernel image does not fit its code region")
            self.uc.mem_write(base + address, data)

    def map_range(self, start: int, size: int) -> None:
        """Map [start, start+size) for this run (flat targets); unmaps the last such range there."""
        if self.real_mode or size <= 0:
            return
        size = -(-size // PAGE) * PAGE
        for begin, length in [r for r in self._mapped_extra if r[0] == start]:
            if length >= size:
                return
            self.uc.mem_unmap(begin, length)
            self._mapped_extra.remove((begin, length))
        self.uc.mem_map(start, size)
        self._mapped_extra.append((start, size))

    # --- memory ----------------------------------------------------------------

    def write(self, address: int, data: bytes) -> None:
        self.uc.mem_write(address, bytes(data))

    def read(self, address: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(address, size))

    def check_fits(self, what: str, start: int, size: int, end: int) -> None:
        if start + size > end:
            raise TorusInputError(
                f"{what} of {size} bytes does not fit the {self.target.name} address space "
                f"({end - start} bytes available at {start:#x})"
            )

    # --- calling ---------------------------------------------------------------

    def reg(self, name: str) -> int:
        return self.uc.reg_read(register_id(self.target, name))

    def set_reg(self, name: str, value: int) -> None:
        self.uc.reg_write(register_id(self.target, name), value)

    def enter(self, entry: int, args=(), *, stack_top: int | None = None,
              segments: dict[str, int] | None = None) -> tuple[int, int]:
        """Put the machine in the target's start state for a call of ``entry``; return (begin, until).

        The emulator's entry registers, the memory layout's segments (real
        mode), then the ABI: arguments in registers and on the stack, the
        return address (the EXIT sentinel) in the link register or pushed,
        the stack pointer at ``stack_top`` less the frame, aligned down.
        ``stack_top`` and ``segments`` default to the harness's call frame;
        the listing passes its own.
        """
        abi, emulator = self.target.abi, self.target.emulator
        for name, value in emulator.entry_registers:
            self.set_reg(name, value)
        if self.real_mode:
            segments = X86_SEGMENTS if segments is None else segments
            for name, value in segments.items():
                self.set_reg(name, value)
            stack_base, top, exit_shown = segments["ss"] << 4, X86_STACK_TOP, X86_EXIT_IP
            until = (segments["cs"] << 4) + X86_EXIT_IP  # Unicorn quirk: in 16-bit mode `begin` is the IP, `until` linear
        else:
            stack_base, top, exit_shown = 0, STACK_TOP - 64, EXIT
            until = EXIT
        top = top if stack_top is None else stack_top
        registers, stacked = abi.place(list(args))
        sp = (top - abi.stack_bytes([kind for kind, _ in args])) & ~(abi.stack_alignment - 1)
        thumb = 1 if emulator.thumb else 0
        if abi.link_register is not None:
            self.set_reg(abi.link_register, exit_shown | thumb)
        else:
            self.write(stack_base + sp, exit_shown.to_bytes(abi.return_address_bytes, "little"))
        for offset, data in stacked:
            self.write(stack_base + sp + offset, data)
        for name, value in registers.items():
            self.set_reg(name, value)
        self.set_reg(abi.stack_pointer, sp)
        return entry | thumb, until

    def call(self, symbol: str, args: list[tuple[str, int]], *,
             returns: bool = True) -> tuple[int, CallStats | None]:
        """Call ``symbol`` with typed args (``("ptr", addr)`` / ``("u32", v)``); return (value, stats).

        ``returns``: the function returns a uint32, checked to be in the
        form the ABI returns one (a void function's result registers hold
        whatever it left there).
        """
        entry = self.image.symbol(symbol)
        self._trace.clear()
        self._mem_penalty.clear()
        self._reg_penalty.clear()
        begin, until = self.enter(entry, args)
        saved = self._seed_callee_saved()
        try:
            self.uc.emu_start(begin, until, timeout=RUN_TIMEOUT_US)
        except unicorn.UcError as exc:
            raise self._fault(str(exc)) from None
        pc = self._pc()
        if pc != until:
            raise self._fault(f"did not return within {RUN_TIMEOUT_US // 1_000_000} s")
        self._check_callee_saved(saved)
        abi = self.target.abi
        parts = [self.reg(name) for name in abi.result_registers]
        if returns and (why := abi.result_violation(parts)) is not None:
            raise EmulatorFault(f"{self.target.name}: the kernel broke its ABI on return: {why}")
        value = abi.result(parts)
        return value, (self._stats() if self.count else None)

    def _seed_callee_saved(self) -> dict[str, int]:
        """Give every callee-saved register a distinctive value, so a kernel that clobbers one is caught.

        The stack pointer and the segment registers the memory layout fixes
        keep their start values (they must point at real memory); they are
        checked all the same.
        """
        abi = self.target.abi
        fixed = {abi.stack_pointer, *(X86_SEGMENTS if self.real_mode else ())}
        mask = (1 << min(32, 8 * abi.slot_bytes)) - 1
        saved = {}
        for i, name in enumerate(abi.saved()):
            if name not in fixed:
                self.set_reg(name, (0x5A5A + 0x101 * i) & mask)
            saved[name] = self.reg(name)
        return saved

    def _check_callee_saved(self, saved: dict[str, int]) -> None:
        abi, name_of = self.target.abi, self.target.name
        for name in abi.saved():
            want = saved[name] + (abi.return_pops if name == abi.stack_pointer else 0)  # a near RET pops its IP
            if self.reg(name) != want:
                raise EmulatorFault(f"{name_of}: the kernel broke the {abi} ABI: callee-saved "
                                    f"register {name} was {want:#x} on entry, {self.reg(name):#x} on return")
        for flag, mask in abi.clear_flags:
            if self.reg(abi.flags_register) & mask:
                raise EmulatorFault(f"{name_of}: the kernel returned with {flag} set ({abi} requires it clear)")

    def _pc(self) -> int:
        """The linear address of the next instruction (CS:IP in real mode; without the Thumb bit)."""
        if self.real_mode:
            return (self.reg("cs") << 4) + self.reg("ip")
        return self.reg("pc") & ~1 if self.target.emulator.thumb else self.reg("pc")

    def _fault(self, why: str) -> EmulatorFault:
        pc = self._pc()
        try:
            code = self.read(pc, 8)
            insn = next(self._md.disasm(code, pc, 1), None)
            text = f"{insn.mnemonic} {insn.op_str}".strip() if insn else f"bytes {code.hex()}"
        except unicorn.UcError:
            text = "unmapped"
        return EmulatorFault(f"{self.target.name}: emulator fault at pc={pc:#x} ({text}): {why}")

    # --- counting --------------------------------------------------------------

    def _hook_blocks(self) -> None:
        """Record each executed block with as little Python per block as possible.

        The binding's ``hook_add`` wraps a callback in two Python frames and an
        exception guard; at ~10 instructions per block that wrapper costs more
        than the emulation.  When the binding exposes its C entry point, a bare
        ctypes callback that only appends to a list is registered instead.
        """
        append = self._trace.append
        try:
            from unicorn.unicorn_py3.unicorn import HOOK_CODE_CFUNC, uc_hook_h, uclib
        except ImportError:  # an older binding: the public, slower path
            self.uc.hook_add(unicorn.UC_HOOK_BLOCK, lambda uc, address, size, _: append(address << 16 | size))
            return
        self._block_cfunc = HOOK_CODE_CFUNC(lambda _h, address, size, _u: append(address << 16 | size))
        handle = uc_hook_h()
        status = uclib.uc_hook_add(self.uc._uch, ctypes.byref(handle), unicorn.UC_HOOK_BLOCK, self._block_cfunc,
                                   None, ctypes.c_uint64(1), ctypes.c_uint64(0))
        if status != unicorn.UC_ERR_OK:
            raise unicorn.UcError(status)

    def _on_memory(self, uc, access, address, size, value, _user) -> None:
        write = access == unicorn.UC_MEM_WRITE
        if self._stateful_memory:  # -2: a word at an odd address, -1: anything else
            self._trace.append(-2 if size == 2 and address & 1 else -1)
        for core, model in self.models.items():
            if model.needs_memory and not model.stateful:
                self._mem_penalty[core] += model.memory_cycles(address, size, write)

    def _hook_register_dependent(self) -> None:
        """Hook only the instructions whose cost depends on a register value (e.g. 8086 shift by CL).

        ``.text`` is swept linearly; an executed instruction the sweep missed
        (data between instructions) is caught in :meth:`_cost`, never priced wrong.
        """
        address, code = self.image.text
        base = X86_CS << 4 if self.real_mode else 0
        offset = 0
        while offset < len(code):
            insn = next(self._md.disasm(code[offset:], address + offset, 1), None)
            if insn is None:
                offset += 1
                continue
            offset += insn.size
            wants = [(core, model, model.register_dependent(insn)) for core, model in self.models.items()]
            wants = [(core, model, regs) for core, model, regs in wants if regs]
            if wants:
                linear = base + insn.address
                self.uc.hook_add(unicorn.UC_HOOK_CODE, self._on_register_insn, (insn, wants),
                                 begin=linear, end=linear)
                self._reg_hooked.add(insn.address)

    def _on_register_insn(self, uc, address, size, user) -> None:
        insn, wants = user
        for core, model, regs in wants:
            values = {name: uc.reg_read(register_id(self.target, name)) for name in regs}
            if model.stateful:
                self._trace.append((core, insn.address, tuple(sorted(model.register_facts(insn, values).items()))))
            else:
                self._reg_penalty[core] += model.register_cycles(insn, values)

    def _block(self, key: tuple[int, int]) -> _Block:
        block = self._blocks.get(key)
        if block is None:
            address, size = key
            code = self.read(address, size)
            # Capstone addresses for the 8086 are offsets within CS, as the code was linked.
            shown = address - (X86_CS << 4) if self.real_mode else address
            insns = list(self._md.disasm(code, shown))
            block = _Block(insns, address + size)
            self._blocks[key] = block
        return block

    def _stats(self) -> CallStats:
        trace = self._trace
        if self._stateful:
            trace = [v for v in trace if type(v) is int and v >= 0]
        keys = [(v >> 16, v & 0xFFFF) for v in trace]
        # (previous block, block, next block) of every execution; None past either end.
        triples = Counter(zip([None, *keys[:-1]], keys, [*(k[0] for k in keys[1:]), None]))
        instructions = 0
        cycles = {core: self._mem_penalty.get(core, 0) + self._reg_penalty.get(core, 0) for core in self.models}
        stateless = [core for core in self.models if core not in self._stateful]
        for (prev, cur, nxt), times in triples.items():
            block = self._block(cur)
            instructions += len(block.insns) * times
            if stateless:
                for core, c in self._cost(prev, cur, nxt, stateless).items():
                    cycles[core] += c * times
        for core, model in self._stateful.items():
            cycles[core] = self._walk(core, model)
        return CallStats(instructions, cycles)

    def _executions(self, core: str) -> list[tuple]:
        """(block key, odd-word flags, register facts) of every executed block, in order."""
        out = []
        key = None
        odd: list = []
        regs: list = []
        for v in self._trace:
            if type(v) is int:
                if v >= 0:
                    if key is not None:
                        out.append((key, tuple(odd), tuple(regs)))
                    key, odd, regs = (v >> 16, v & 0xFFFF), [], []
                else:
                    odd.append(v == -2)
            elif v[0] == core:
                regs.append(v[1:])
        if key is not None:
            out.append((key, tuple(odd), tuple(regs)))
        return out

    def _walk(self, core: str, model) -> int:
        """A stateful model's cycles: the executed blocks in order, each priced once per entry state."""
        cache = self._state_cost[core]
        state = model.initial_state()
        total = 0
        runs = self._executions(core)
        for j, (key, odd, regs) in enumerate(runs):
            if j and self._reentry(model, runs[j - 1][0], key):
                continue   # a REP repetition (Unicorn re-enters the instruction): priced on its first entry
            nxt = runs[j + 1][0][0] if j + 1 < len(runs) else None
            slot = (key, nxt, state, odd, regs)
            hit = cache.get(slot)
            if hit is None:
                block = self._block(key)
                self._check_hooked(core, model, block)
                cost, _rows, after = model.run_block(block.insns, next_address=nxt, end=block.end, odd_words=odd,
                                                     regs={address: dict(facts) for address, facts in regs},
                                                     state=state)
                hit = cache[slot] = (cost, after)
            total += hit[0]
            state = hit[1]
        return total

    def _reentry(self, model, prev_key, key) -> bool:
        """``key`` is a repeating instruction entered again straight after itself (the end of ``prev_key``)."""
        insns = self._block(key).insns
        before = self._block(prev_key).insns
        return (len(insns) == 1 and bool(before) and before[-1].address == insns[0].address
                and model.reenters(insns[0]))

    def _check_hooked(self, core: str, model, block: _Block) -> None:
        for insn in block.insns:
            if insn.address not in self._reg_hooked and model.register_dependent(insn):
                raise EmulatorFault(f"{self.target.name}: '{insn.mnemonic} {insn.op_str}' at {insn.address:#x} "
                                    f"needs register values for {core} but was not hooked")

    def _cost(self, prev, cur, nxt, cores) -> dict[str, int]:
        key = (prev, cur, nxt)
        hit = self._block_cost.get(key)
        if hit is not None:
            return hit
        block = self._block(cur)
        before = self._block(prev).insns[-1] if prev is not None and self._block(prev).insns else None
        taken_last = nxt != block.end
        out = {}
        for core in cores:
            model = self.models[core]
            self._check_hooked(core, model, block)
            out[core] = model.block_cycles(block.insns, taken_last=taken_last, before=before)
        self._block_cost[key] = out
        return out


def register_id(target: Target, name: str) -> int:
    """Unicorn's id of register ``name`` (e.g. "cl", "a0", "r4") on ``target``."""
    module, prefix = unicorn_constants(target)
    try:
        return getattr(module, f"UC_{prefix}_REG_{name.upper()}")
    except AttributeError:
        raise TorusInputError(f"{target.name}: no register named {name!r}") from None
