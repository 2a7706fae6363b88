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

Every call checks the ABI: callee-saved registers get distinctive values
on entry and must hold them on return (on the 8086 also DF clear), so a
kernel that would corrupt its caller on real hardware fails here too.

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
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import capstone
import unicorn
from unicorn import arm64_const, arm_const, riscv_const, x86_const

from isa.assembler import Image
from isa.targets import Target
from torus_hw.errors import TorusInputError

from .cycles import get_model

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

    def __init__(self, target: Target, image: Image, *, count: bool = True, cores: tuple[str, ...] | None = None):
        self.target = target
        self.image = image
        self.real_mode = target.unicorn_mode == "UC_MODE_16"
        self.region = REAL_MODE if self.real_mode else FLAT
        self.cores = tuple(target.cores if cores is None else cores) if count else ()
        self.models = {core: get_model(core) for core in self.cores}
        arch = resolve(unicorn, target.unicorn_arch)
        mode = resolve(unicorn, target.unicorn_mode)
        self.uc = unicorn.Uc(arch, mode)
        cpu = self._cpu_model()
        if cpu is not None:
            self.uc.ctl_set_cpu_model(cpu)
        self._mapped_extra: list[tuple[int, int]] = []
        self._map_fixed()
        self._load(image)
        self._enable_fp_simd()
        self._md = capstone.Cs(resolve(capstone, target.capstone_arch),
                               _cs_mode(target))
        self._md.detail = True
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

    def _cpu_model(self):
        t = self.target
        if t.unicorn_cpu is None:
            return None
        module = {"UC_ARCH_ARM": arm_const, "UC_ARCH_ARM64": arm64_const, "UC_ARCH_RISCV": riscv_const}[t.unicorn_arch]
        return resolve(module, t.unicorn_cpu)

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

    def _enable_fp_simd(self) -> None:
        if self.target.unicorn_arch == "UC_ARCH_ARM64":
            # CPACR_EL1.FPEN = 0b11: FP/Advanced SIMD not trapped at EL0/EL1.
            self.uc.reg_write(arm64_const.UC_ARM64_REG_CPACR_EL1, 0x3 << 20)

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

    def call(self, symbol: str, args: list[tuple[str, int]]) -> tuple[int, CallStats | None]:
        """Call ``symbol`` with typed args (``("ptr", addr)`` / ``("u32", v)``); return (value, stats)."""
        entry = self.image.symbol(symbol)
        self._trace.clear()
        self._mem_penalty.clear()
        self._reg_penalty.clear()
        begin, until = _ABI[self.target.abi](self, entry, args)
        saved = self._seed_callee_saved()
        try:
            self.uc.emu_start(begin, until, timeout=RUN_TIMEOUT_US)
        except unicorn.UcError as exc:
            raise self._fault(str(exc)) from None
        pc = self._pc()
        if pc != until:
            raise self._fault(f"did not return within {RUN_TIMEOUT_US // 1_000_000} s")
        self._check_callee_saved(saved)
        value = _RESULT[self.target.abi](self)
        return value, (self._stats() if self.count else None)

    def _seed_callee_saved(self) -> dict[str, int]:
        """Give every callee-saved register a distinctive value, so a kernel that clobbers one is caught."""
        saved = {}
        for i, (name, reg) in enumerate(_CALLEE_SAVED[self.target.abi]):
            if name not in ("sp", "ss", "ds"):
                self.uc.reg_write(reg, (0x5A5A + 0x101 * i) & (0xFFFF if self.real_mode else 0xFFFF_FFFF))
            saved[name] = self.uc.reg_read(reg)
        return saved

    def _check_callee_saved(self, saved: dict[str, int]) -> None:
        for name, reg in _CALLEE_SAVED[self.target.abi]:
            want = saved[name] + (2 if name == "sp" and self.real_mode else 0)  # the near RET popped IP
            if self.uc.reg_read(reg) != want:
                raise EmulatorFault(f"{self.target.name}: the kernel broke the {self.target.abi} ABI: callee-saved "
                                    f"register {name} was {want:#x} on entry, {self.uc.reg_read(reg):#x} on return")
        if self.real_mode and self.uc.reg_read(x86_const.UC_X86_REG_FLAGS) & 0x400:
            raise EmulatorFault(f"{self.target.name}: the kernel returned with DF set (cdecl requires it clear)")

    def _pc(self) -> int:
        t = self.target
        if self.real_mode:
            return (self.uc.reg_read(x86_const.UC_X86_REG_CS) << 4) + self.uc.reg_read(x86_const.UC_X86_REG_IP)
        if t.unicorn_arch == "UC_ARCH_RISCV":
            return self.uc.reg_read(riscv_const.UC_RISCV_REG_PC)
        if t.unicorn_arch == "UC_ARCH_ARM":
            return self.uc.reg_read(arm_const.UC_ARM_REG_PC) & ~1
        return self.uc.reg_read(arm64_const.UC_ARM64_REG_PC)

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
    module = {"UC_ARCH_X86": x86_const, "UC_ARCH_ARM": arm_const, "UC_ARCH_ARM64": arm64_const,
              "UC_ARCH_RISCV": riscv_const}[target.unicorn_arch]
    prefix = {"UC_ARCH_X86": "X86", "UC_ARCH_ARM": "ARM", "UC_ARCH_ARM64": "ARM64", "UC_ARCH_RISCV": "RISCV"}
    try:
        return getattr(module, f"UC_{prefix[target.unicorn_arch]}_REG_{name.upper()}")
    except AttributeError:
        raise TorusInputError(f"{target.name}: no register named {name!r}") from None


def _cs_mode(target: Target) -> int:
    mode = 0
    for name in target.capstone_mode.split("|"):
        mode |= getattr(capstone, name)
    return mode


# --- ABIs: place arguments, return (begin, until) --------------------------------


def _abi_riscv(m: Machine, entry: int, args):
    regs = [getattr(riscv_const, f"UC_RISCV_REG_A{i}") for i in range(8)]
    if len(args) > 8:
        raise TorusInputError("more than 8 arguments")
    for reg, (_, value) in zip(regs, args):
        m.uc.reg_write(reg, value)
    m.uc.reg_write(riscv_const.UC_RISCV_REG_RA, EXIT)
    m.uc.reg_write(riscv_const.UC_RISCV_REG_SP, STACK_TOP - 64)
    return entry, EXIT


def _abi_aapcs(m: Machine, entry: int, args):
    regs = [arm_const.UC_ARM_REG_R0, arm_const.UC_ARM_REG_R1, arm_const.UC_ARM_REG_R2, arm_const.UC_ARM_REG_R3]
    for reg, (_, value) in zip(regs, args):
        m.uc.reg_write(reg, value)
    sp = STACK_TOP - 64
    stacked = [value for _, value in args[4:]]
    sp -= 4 * len(stacked)
    sp &= ~7  # AAPCS: 8-byte aligned stack at a public interface
    for i, value in enumerate(stacked):
        m.write(sp + 4 * i, (value & 0xFFFF_FFFF).to_bytes(4, "little"))
    m.uc.reg_write(arm_const.UC_ARM_REG_SP, sp)
    m.uc.reg_write(arm_const.UC_ARM_REG_LR, EXIT | 1)
    return entry | 1, EXIT


def _abi_aapcs64(m: Machine, entry: int, args):
    for i, (_, value) in enumerate(args):
        m.uc.reg_write(getattr(arm64_const, f"UC_ARM64_REG_X{i}"), value)
    m.uc.reg_write(arm64_const.UC_ARM64_REG_SP, STACK_TOP - 64)
    m.uc.reg_write(arm64_const.UC_ARM64_REG_X30, EXIT)
    return entry, EXIT


def far_pointer(linear: int) -> tuple[int, int]:
    """Normalised (segment, offset) of a linear real-mode address."""
    return linear >> 4, linear & 0xF


def _abi_cdecl16(m: Machine, entry: int, args):
    # Push right to left: a far pointer is offset (low address) then segment;
    # a uint32 is low word then high word.
    words: list[int] = []
    for kind, value in args:
        if kind == "ptr":
            seg, off = far_pointer(value)
            words += [off, seg]
        else:
            words += [value & 0xFFFF, (value >> 16) & 0xFFFF]
    sp = 0xFFFE - 2 * (len(words) + 1)
    stack = X86_SS << 4
    m.write(stack + sp, X86_EXIT_IP.to_bytes(2, "little"))
    for i, word in enumerate(words):
        m.write(stack + sp + 2 + 2 * i, word.to_bytes(2, "little"))
    uc = m.uc
    for reg in ("AX", "BX", "CX", "DX", "SI", "DI", "BP"):
        uc.reg_write(getattr(x86_const, f"UC_X86_REG_{reg}"), 0)
    uc.reg_write(x86_const.UC_X86_REG_CS, X86_CS)
    uc.reg_write(x86_const.UC_X86_REG_SS, X86_SS)
    uc.reg_write(x86_const.UC_X86_REG_DS, X86_DS)
    uc.reg_write(x86_const.UC_X86_REG_ES, X86_DS)
    uc.reg_write(x86_const.UC_X86_REG_SP, sp)
    uc.reg_write(x86_const.UC_X86_REG_FLAGS, 0x0002)  # DF clear, as cdecl requires
    # Unicorn quirk: in 16-bit mode `begin` is the IP, but `until` is linear.
    return entry, (X86_CS << 4) + X86_EXIT_IP


_ABI = {"ilp32": _abi_riscv, "lp64": _abi_riscv, "aapcs": _abi_aapcs, "aapcs64": _abi_aapcs64,
        "cdecl16-compact": _abi_cdecl16}

_CALLEE_SAVED = {
    "ilp32": [(f"s{i}", getattr(riscv_const, f"UC_RISCV_REG_S{i}")) for i in range(12)]
    + [("sp", riscv_const.UC_RISCV_REG_SP)],
    "aapcs": [(f"r{i}", getattr(arm_const, f"UC_ARM_REG_R{i}")) for i in range(4, 12)] + [("sp", arm_const.UC_ARM_REG_SP)],
    "aapcs64": [(f"x{i}", getattr(arm64_const, f"UC_ARM64_REG_X{i}")) for i in range(19, 30)]
    + [(f"d{i}", getattr(arm64_const, f"UC_ARM64_REG_D{i}")) for i in range(8, 16)]
    + [("sp", arm64_const.UC_ARM64_REG_SP)],
    "cdecl16-compact": [(name.lower(), getattr(x86_const, f"UC_X86_REG_{name}")) for name in ("BP", "SI", "DI")]
    + [("ds", x86_const.UC_X86_REG_DS), ("ss", x86_const.UC_X86_REG_SS), ("sp", x86_const.UC_X86_REG_SP)],
}
_CALLEE_SAVED["lp64"] = _CALLEE_SAVED["ilp32"]

_RESULT = {
    "ilp32": lambda m: m.uc.reg_read(riscv_const.UC_RISCV_REG_A0) & 0xFFFF_FFFF,
    "lp64": lambda m: m.uc.reg_read(riscv_const.UC_RISCV_REG_A0) & 0xFFFF_FFFF,
    "aapcs": lambda m: m.uc.reg_read(arm_const.UC_ARM_REG_R0) & 0xFFFF_FFFF,
    "aapcs64": lambda m: m.uc.reg_read(arm64_const.UC_ARM64_REG_X0) & 0xFFFF_FFFF,
    "cdecl16-compact": lambda m: (m.uc.reg_read(x86_const.UC_X86_REG_DX) << 16) | m.uc.reg_read(x86_const.UC_X86_REG_AX),
}
