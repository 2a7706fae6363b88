"""The datasheet estimator: run a short listing on one core, price every executed instruction.

``estimate(core, source)`` assembles ``source`` for the core's target (the
target's prologue, e.g. ``.code16`` + ``.intel_syntax noprefix`` for the
8086, is added when missing), checks it with the ISA checker, and executes it
under Unicorn from the first byte of ``.text`` until the program counter
reaches the end of ``.text`` ("falls off the end") or meets a stop
instruction (``hlt``, ``ebreak``, ``bkpt``, ``brk``: a terminator, not
counted).  Every executed instruction is priced by the core's cycle model
exactly as :mod:`sim.machine` prices kernels: instructions are grouped into
the blocks Unicorn executes (a block hook marks them) and priced with the
model's ``block_cycles`` given the instruction before the block and whether
the block left by a jump; per-instruction figures are the differences of
block prefixes, so they add up to the block totals.  Data-access penalties
(``memory_cycles``) and register-value costs (``register_cycles``, e.g. an
8086 shift by CL) go to the instruction that caused them.  A REP string
instruction re-executes itself once per repetition: consecutive executions
of one instruction are shown as one row with its execution count.

Machine state at the start (documented, because the figures depend on it):

* every general register and the flags are zero;
* flat targets: ``.text`` at the target's link address, a zeroed data window
  at 0x0000-0x1FFF (so ``ldr r0, [r1, #1000]`` with r1 = 0 reads real
  memory), SP at the top of a zeroed 1 MiB stack, and the return-address
  register holding a sentinel outside ``.text`` (the harness's EXIT), so a
  final ``ret``/``bx lr`` ends the listing and is priced as a taken return;
* the 8086: CS = 0x1000 (code at linear 0x10000), DS = ES = SS = 0 over a
  zeroed 1 MiB space, SP = 0xFFFE with the sentinel CS:0xFFF0 stored at
  SS:SP, so a near ``ret`` (write ``.byte 0xc3``: clang's ``.code16`` Intel
  syntax emits the 386 ``retl``) also ends the listing.

Errors (unknown core, assembler error, an instruction outside the core's
ISA, a fault, an interrupt, more than :data:`MAX_STEPS` instructions) raise
:class:`TorusInputError` subclasses with a one-line message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import unicorn
from unicorn import x86_const

from isa.assembler import assemble
from isa.checker import check_image, disassembler
from isa.targets import get_target
from torus_hw.errors import TorusInputError

from .cycles import get_model
from .machine import EXIT, STACK_TOP, X86_CS, X86_EXIT_IP, EmulatorFault, Machine, register_id

MAX_STEPS = 1_000_000          # executed instructions before the listing is called stuck
TIMEOUT_US = 60_000_000
STOP_MNEMONICS = {"hlt", "ebreak", "c.ebreak", "bkpt", "brk"}
# The listing's own start state: real mode with every segment but CS at 0 and the
# return IP at 0000:FFFE; flat targets with the stack pointer at STACK_TOP.
LISTING_SEGMENTS = {"cs": X86_CS, "ss": 0, "ds": 0, "es": 0}
X86_STACK_TOP = 0x1_0000


@dataclass
class Row:
    """One executed instruction (or one run of a REP instruction re-executing itself)."""

    address: int
    text: str
    cycles: int
    executions: int = 1


@dataclass
class Estimate:
    core: str
    target: str
    rows: list[Row]
    total_cycles: int
    source: str        # the model's published source
    omits: str         # what the model leaves out

    def to_json(self) -> dict:
        return {"core": self.core, "total_cycles": self.total_cycles,
                "instructions": [{"text": r.text, "cycles": r.cycles} for r in self.rows]}


@dataclass
class _Event:
    insn: object
    block: int                 # index of the executed block it belongs to
    extra: int = 0             # memory + register-value cycles


def estimate_file(core: str, path: str | Path) -> Estimate:
    path = Path(path)
    if path.is_dir():
        raise TorusInputError(f"{path} is a folder, not a listing file")
    if not path.is_file():
        raise TorusInputError(f"no such listing file: {path}")
    try:
        source = path.read_text()
    except UnicodeDecodeError:
        raise TorusInputError(f"{path}: not a text file") from None
    return estimate(core, source, name=path.name)


def estimate(core: str, source: str, *, model=None, name: str = "listing") -> Estimate:
    """Assemble, run and price ``source`` on ``core`` (see the module docstring).

    ``model`` replaces the registered cycle model of ``core`` (tests use it to
    exercise the engine on targets whose model is not written yet).  Error
    messages name ``name`` and the line numbers of ``source`` itself.
    """
    try:
        return _estimate(core, source, model)
    except TorusInputError as exc:
        target = _target_of(core, model)
        added = 0 if target is None or source.startswith(target.asm_prologue) else target.asm_prologue.count("\n")
        message = re.sub(r"kernel\.S(:| line )(\d+|\?)", lambda m: f"{name}{m.group(1)}"
                         f"{int(m.group(2)) - added if m.group(2).isdigit() else '?'}", str(exc))
        if target is not None and target.name == "i8086" and "operand-size prefix" in message:
            message += " (clang's .code16 Intel syntax emits the 386 forms of ret/call: write .byte 0xc3 for RET)"
        raise type(exc)(message) from None


def _target_of(core: str, model):
    try:
        return get_target(model.target if model is not None else get_model(core).target)
    except (TorusInputError, ImportError):
        return None


def _estimate(core: str, source: str, model) -> Estimate:
    if model is None:
        try:
            model = get_model(core)
        except ImportError:
            raise TorusInputError(f"core {core!r} is registered but its cycle model is not available yet") from None
    target = get_target(model.target)
    image = assemble(target, source)
    check_image(target, image)
    run = _Run(model, target, image)
    run.execute()
    return run.price()


class _Run:
    def __init__(self, model, target, image):
        self.model, self.target, self.image = model, target, image
        self.machine = Machine(target, image, count=False)
        self.uc = self.machine.uc
        self.real_mode = self.machine.real_mode
        self.md = disassembler(target, detail=True)
        self.text_start, code = image.text
        self.text_end = self.text_start + len(code)
        self.end_linear = self._linear(self.text_end)
        self.exit_shown = 0                   # the return-address sentinel, as capstone sees it
        self.events: list[_Event] = []
        self.blocks = 0
        self.stop_at: int | None = None       # address (as capstone sees it) where execution ended
        self.failure: str | None = None
        self._decoded: dict[int, object] = {}

    # --- setup and execution ------------------------------------------------------

    def _linear(self, address: int) -> int:
        return (X86_CS << 4) + address if self.real_mode else address

    def _shown(self, linear: int) -> int:
        if self.real_mode:
            return linear - (self.uc.reg_read(x86_const.UC_X86_REG_CS) << 4)
        return linear

    def _setup(self) -> tuple[int, int]:
        """The target's start state (``Machine.enter``: ABI return address, stack, entry registers)."""
        if self.real_mode:
            self.exit_shown = X86_EXIT_IP
            return self.machine.enter(self.text_start, stack_top=X86_STACK_TOP, segments=LISTING_SEGMENTS)
        self.uc.mem_map(0, EXIT)  # with the zero EXIT page above it: a zeroed window at 0x0000-0x1FFF
        self.exit_shown = EXIT
        return self.machine.enter(self.text_start, stack_top=STACK_TOP)

    def execute(self) -> None:
        begin, until = self._setup()
        uc = self.uc
        uc.hook_add(unicorn.UC_HOOK_BLOCK, self._on_block)
        uc.hook_add(unicorn.UC_HOOK_CODE, self._on_code)
        uc.hook_add(unicorn.UC_HOOK_INTR, self._on_interrupt)
        if self.model.needs_memory:
            uc.hook_add(unicorn.UC_HOOK_MEM_READ | unicorn.UC_HOOK_MEM_WRITE, self._on_memory)
        try:
            uc.emu_start(begin, until, timeout=TIMEOUT_US)
        except unicorn.UcError as exc:
            raise self._fault(str(exc)) from None
        if self.failure:
            raise self._fault(self.failure)
        if self.stop_at is None:
            if self.machine._pc() != until:
                raise self._fault(f"stopped before the end of the listing (time limit {TIMEOUT_US // 1_000_000} s)")
            self.stop_at = self.exit_shown   # a return: elsewhere than any fall-through, so priced as taken

    def _fault(self, why: str) -> EmulatorFault:
        pc = self.machine._pc()
        shown = self._shown(pc)
        insn = self._decode(pc) if self.uc is not None else None
        text = f" ({insn.mnemonic} {insn.op_str})".rstrip() if insn is not None else ""
        line = self.image.lines.get(shown)
        where = f", kernel.S line {line}" if line is not None else ""
        return EmulatorFault(f"{self.model.core}: listing stopped at {shown:#x}{text}{where}: {why}")

    def _decode(self, linear: int):
        insn = self._decoded.get(linear)
        if insn is None:
            try:
                code = bytes(self.uc.mem_read(linear, 16))
            except unicorn.UcError:
                return None
            insn = next(self.md.disasm(code, self._shown(linear), 1), None)
            if insn is not None:
                self._decoded[linear] = insn
        return insn

    # --- hooks ----------------------------------------------------------------------

    def _on_block(self, uc, address, size, _user) -> None:
        self.blocks += 1

    def _on_code(self, uc, address, size, _user) -> None:
        if address == self.end_linear:      # fell off the end (or jumped to a label there)
            self.stop_at = self.text_end
            uc.emu_stop()
            return
        insn = self._decode(address)
        if insn is None:
            self.failure = "undecodable instruction"
            uc.emu_stop()
            return
        if insn.mnemonic in STOP_MNEMONICS:
            self.stop_at = insn.address
            uc.emu_stop()
            return
        if len(self.events) >= MAX_STEPS:
            self.failure = f"more than {MAX_STEPS:,} instructions executed (an endless loop?)"
            uc.emu_stop()
            return
        event = _Event(insn, self.blocks)
        regs = self.model.register_dependent(insn)
        if regs:
            values = {name: uc.reg_read(register_id(self.target, name)) for name in regs}
            event.extra += self.model.register_cycles(insn, values)
        self.events.append(event)

    def _on_memory(self, uc, access, address, size, value, _user) -> None:
        if self.events:
            self.events[-1].extra += self.model.memory_cycles(address, size, access == unicorn.UC_MEM_WRITE)

    def _on_interrupt(self, uc, number, _user) -> None:
        self.failure = f"interrupt/exception {number} raised (the estimator runs no handlers)"
        uc.emu_stop()

    # --- pricing ----------------------------------------------------------------------

    def price(self) -> Estimate:
        model = self.model
        costs = [0] * len(self.events)
        # Split the executed stream into the blocks Unicorn ran, then price each block.
        start = 0
        while start < len(self.events):
            stop = start + 1
            while stop < len(self.events) and self.events[stop].block == self.events[start].block:
                stop += 1
            insns = [e.insn for e in self.events[start:stop]]
            before = self.events[start - 1].insn if start else None
            nxt = self.events[stop].insn.address if stop < len(self.events) else self.stop_at
            last = insns[-1]
            taken = nxt != last.address + last.size
            done = 0
            for j in range(len(insns)):
                upto = model.block_cycles(insns[:j + 1], taken_last=taken if j == len(insns) - 1 else False,
                                          before=before)
                costs[start + j] = upto - done
                done = upto
            start = stop
        rows: list[Row] = []
        for event, cost in zip(self.events, costs):
            insn = event.insn
            cycles = cost + event.extra
            if rows and rows[-1].address == insn.address:      # a REP instruction repeating itself
                rows[-1].cycles += cycles
                rows[-1].executions += 1
                continue
            rows.append(Row(insn.address, f"{insn.mnemonic} {insn.op_str}".strip(), cycles))
        return Estimate(model.core, self.target.name, rows, sum(r.cycles for r in rows), model.source, model.omits)


def render(estimate: Estimate, console) -> None:
    """Print ``estimate`` as a datasheet-style table on a rich console."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{estimate.core} ({estimate.target}): {estimate.total_cycles:,} cycles",
                  caption=escape(f"Source: {estimate.source}.  Leaves out: {estimate.omits}."),
                  caption_justify="left")
    table.add_column("#", justify="right")
    table.add_column("address", justify="right")
    table.add_column("instruction")
    table.add_column("runs", justify="right")
    table.add_column("cycles", justify="right")
    table.add_column("total", justify="right")
    total = 0
    for i, row in enumerate(estimate.rows, 1):
        total += row.cycles
        table.add_row(str(i), f"{row.address:#06x}", escape(row.text), str(row.executions), str(row.cycles), f"{total:,}")
    console.print(table)
