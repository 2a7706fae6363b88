"""Per-instruction execution schedules of the 8086/8088 execution unit.

What it owns: for one executed instruction (its bytes and what it did —
the data accesses Unicorn saw, whether it transferred control and to an
odd or even address, the register values its microcode loops on), the
sequence of EU steps :mod:`sim.cycles.i8086_biu` plays against the bus
unit: queue reads, EU clocks, transfers, flush, suspend.

The EU clock counts follow the microcode (the published 8086 microcode
disassembly: one microcode line per clock, a queue read where the line
takes a byte, a bus request where it starts a transfer); Intel's table
figures are these counts plus the transfers' T-states, with the queue
assumed full and the bus free.  Effective-address microcode: the request
for the operand goes out at clock EA of Table 2-20 counted from the first
byte (5 for one register, 6 for a direct address, 7/8 for base+index, 9
and 11/12 with a displacement), and a displacement byte is read from the
queue where the EA routine takes it (after the base+index addition for the
two-register forms).

MUL/IMUL/DIV/IDIV: the microcode loops once per operand bit; a multiply
step costs one clock more when the current multiplier bit is 1 (the
partial product is added), and the signed forms add the negation steps
their operand signs call for.  The clock counts below reproduce that loop
from the operand values (see :func:`mul_clocks`, :func:`div_clocks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torus_hw.errors import TorusInputError

from .i8086_biu import CLAIM, EU, FLUSH, Q, READ, SUSP, WRITE

SEGMENT_PREFIXES = (0x26, 0x2E, 0x36, 0x3E)
SHIFT_CL_MEMORY = 9   # EU clocks between a shift-by-CL's operand read and its write, before the 4 per bit
LOCK, REPNE, REP = 0xF0, 0xF2, 0xF3


@dataclass
class Facts:
    """What one execution of an instruction did, as the harness observed it."""

    accesses: list = field(default_factory=list)   # (linear address, size, write) in order
    taken: bool = False                             # control went elsewhere than the next instruction
    target_odd: bool = False                        # ... to an odd address
    regs: dict = field(default_factory=dict)        # register values before it ran (lower-case names)


class Unscheduled(TorusInputError):
    pass


def _ea_steps(modrm: int) -> list:
    return [(CLAIM,), *_ea_clocks(modrm)]


def _ea_clocks(modrm: int) -> list:
    """Queue reads and EU clocks of the EA routine, from the clock after the ModRM byte (clock 2)."""
    mod, rm = modrm >> 6, modrm & 7
    if mod == 0 and rm == 6:                      # direct address: disp16 at clocks 3-4, EA 6
        return [(EU, 1), (Q,), (Q,), (EU, 1)]
    if mod == 0:
        if rm >= 4:                               # [si] [di] [bx]: EA 5
            return [(EU, 3)]
        return [(EU, 5 if rm in (0, 3) else 6)]   # [bx+si] [bp+di] 7, [bx+di] [bp+si] 8
    disp = [(Q,)] * (1 if mod == 1 else 2)
    # The displacement is taken after the base (+ index) is formed: at clock 5 for one register
    # (EA 9), 7 for BX+SI/BP+DI (EA 11), 8 for BX+DI/BP+SI (EA 12).
    lead = 3 if rm >= 4 else (5 if rm in (0, 3) else 6)
    return [(EU, lead), *disp, (EU, 4 - len(disp))]


def _is_mem(modrm: int) -> bool:
    return modrm >> 6 != 3


class _Accesses:
    """The instruction's data accesses in order: each transfer asks whether its word is at an odd address.

    ``facts.accesses`` is either (address, size, write) triples (one
    instruction observed on its own) or an object with ``it``, an iterator
    of odd-word flags shared by a block's instructions.
    """

    def __init__(self, facts: Facts):
        shared = getattr(facts.accesses, "it", None)
        if shared is not None:
            self.flags = shared
        else:
            self.flags = iter([bool(a & 1) and size == 2 for a, size, _ in facts.accesses])

    def next(self, write: bool, width: int) -> bool:
        return next(self.flags, False) and width == 2


def schedule(raw: bytes, facts: Facts) -> list:
    """The EU schedule of one execution of the instruction encoded by ``raw``."""
    steps: list = []
    i = 0
    while i < len(raw) and (raw[i] in SEGMENT_PREFIXES or raw[i] in (LOCK, REP, REPNE)):
        steps += [(Q,), (EU, 1)]
        i += 1
    if i >= len(raw):
        raise Unscheduled(f"prefix without an opcode ({raw.hex()})")
    op = raw[i]
    rest = raw[i + 1:]
    acc = _Accesses(facts)
    steps.append((Q,))

    def rd(width, io=False):
        return (READ, width, acc.next(False, width), io)

    def wr(width, last=True, io=False):
        return (WRITE, width, acc.next(True, width), io, last)

    def flush():
        return (FLUSH, facts.target_odd)

    width = 2 if op & 1 else 1
    modrm = rest[0] if rest else 0
    mem = _is_mem(modrm)

    if op < 0x40 and (op & 7) < 4:                         # ALU r/m, r / r, r/m
        alu = op >> 3
        if not mem:
            return steps + [(Q,), (EU, 1)]
        steps += [(Q,), *_ea_steps(modrm), rd(width)]
        if op & 2 or alu == 7:                              # to register, or CMP
            return steps + [(EU, 3)]
        return steps + [(EU, 5), wr(width)]
    if op < 0x40 and (op & 7) in (4, 5):                    # ALU acc, imm: the immediate is taken at clock 2
        return steps + [(EU, 1)] + [(Q,)] * width + ([] if width == 2 else [(EU, 1)])
    if 0x40 <= op <= 0x4F or op in (0x98, 0x9F):            # INC/DEC r16, CBW, LAHF
        return steps + [(EU, 1)]
    if op == 0x99:                                          # CWD: one clock more when AX is negative
        return steps + [(EU, 5 if facts.regs.get("ax", 0) & 0x8000 else 4)]
    if 0x50 <= op <= 0x57 or op in (0x06, 0x0E, 0x16, 0x1E):   # PUSH
        return steps + [(EU, 4), wr(2)]
    if 0x58 <= op <= 0x5F or op in (0x07, 0x17, 0x1F):      # POP
        return steps + [(EU, 1), rd(2)]
    if 0x60 <= op <= 0x7F:                                  # Jcc (60-6F: the 8086 decodes them as 70-7F)
        if facts.taken:
            return steps + [(EU, 1), (Q,), (EU, 1), (SUSP,), (EU, 5), flush()]
        return steps + [(EU, 1), (Q,), (EU, 1)]
    if op in (0xE0, 0xE1, 0xE3):                            # LOOPNE LOOPE JCXZ: the condition costs a clock
        if facts.taken:
            return steps + [(EU, 3), (Q,), (EU, 1), (SUSP,), (EU, 5), flush()]
        return steps + [(EU, 3), (Q,), (EU, 1)]
    if op == 0xE2:                                          # LOOP
        if facts.taken:
            return steps + [(EU, 3), (Q,), (SUSP,), (EU, 5), flush()]
        return steps + [(EU, 3), (Q,), (EU, 1)]
    if op in (0xEB, 0xE9):                                  # JMP short / near
        if op == 0xEB:
            return steps + [(EU, 1), (Q,), (SUSP,), (EU, 5), flush()]
        return steps + [(EU, 1), (Q,), (SUSP,), (Q,), (EU, 4), flush()]
    if op == 0xC3:                                          # RET
        return steps + [(SUSP,), (EU, 1), rd(2), (EU, 1), flush()]
    if 0xB0 <= op <= 0xBF:                                  # MOV reg, imm
        if op >= 0xB8:
            return steps + [(EU, 1), (Q,), (Q,)]
        return steps + [(EU, 1), (Q,), (EU, 1)]
    if op in (0x84, 0x85):                                  # TEST r/m, r: reads only, like CMP
        if not mem:
            return steps + [(Q,), (EU, 1)]
        return steps + [(Q,), *_ea_steps(modrm), rd(width), (EU, 3)]
    if 0x91 <= op <= 0x97:                                  # XCHG AX, r16
        return steps + [(EU, 2)]
    if op in (0x86, 0x87):                                  # XCHG r/m, r
        if not mem:
            return steps + [(Q,), (EU, 2)]
        return steps + [(Q,), *_ea_steps(modrm), rd(width), (EU, 6), wr(width)]
    if op == 0x8F and not mem:                              # POP r16 (8F form)
        return steps + [(Q,), (EU, 1), rd(2), (EU, 1)]
    if op == 0x8F and mem:                                  # POP r/m16: the stack word, then the operand
        return steps + [(Q,), *_ea_steps(modrm), (EU, 3), rd(2), (EU, 3), wr(2)]
    if op == 0x9C:                                          # PUSHF
        return steps + [(EU, 4), wr(2)]
    if op == 0x9D:                                          # POPF
        return steps + [(EU, 1), rd(2)]
    if op == 0x9E:                                          # SAHF
        return steps + [(EU, 3)]
    if op in (0xA0, 0xA1):                                  # MOV acc, [addr16]
        return steps + [(EU, 1), (Q,), (Q,), rd(width)]
    if op in (0xA2, 0xA3):                                  # MOV [addr16], acc
        return steps + [(EU, 1), (Q,), (Q,), (EU, 1), wr(width)]
    if op in (0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x8E):          # MOV
        if not mem:
            return steps + [(Q,)]
        steps += [(Q,), *_ea_steps(modrm)]
        if op in (0x88, 0x89, 0x8C):
            return steps + [(EU, 3 if op == 0x8C else 4), wr(2 if op != 0x88 else 1)]
        return steps + [rd(2 if op != 0x8A else 1), (EU, 2)]
    if op == 0x8D and mem:                                  # LEA
        return steps + [(Q,), *_ea_steps(modrm), (EU, 2)]
    if op in (0xC4, 0xC5) and mem:                          # LES, LDS
        return steps + [(Q,), *_ea_steps(modrm), rd(2), (EU, 4), rd(2)]
    if op in (0x80, 0x81, 0x82, 0x83):                      # ALU r/m, imm (82: an alias of 80)
        reg = (modrm >> 3) & 7
        imm = 2 if op == 0x81 else 1
        width = 1 if op == 0x82 else width
        if not mem:
            return steps + [(Q,)] + [(Q,)] * imm + ([] if imm == 2 else [(EU, 1)])
        steps += [(Q,), *_ea_steps(modrm), rd(width), (EU, 2)] + [(Q,)] * imm
        if reg == 7:                                        # CMP: read only
            return steps + [(EU, 1 if imm == 2 else 2)]
        return steps + [(EU, 2 if imm == 2 else 3), wr(width)]
    if op in (0xC6, 0xC7):                                  # MOV r/m, imm
        imm = 2 if op == 0xC7 else 1
        if not mem:
            return steps + [(Q,)] + [(Q,)] * imm + ([] if imm == 2 else [(EU, 1)])
        return steps + [(Q,), *_ea_steps(modrm), (EU, 2)] + [(Q,)] * imm + [(EU, 1 if imm == 2 else 2), wr(width)]
    if op in (0xD0, 0xD1):                                  # shift/rotate by 1
        if not mem:
            return steps + [(Q,)]
        return steps + [(Q,), *_ea_steps(modrm), rd(width), (EU, 4), wr(width)]
    if op in (0xD2, 0xD3):                                  # shift/rotate by CL: 4 clocks per bit, CL unmasked
        count = facts.regs.get("cl", facts.regs.get("cx", 0) & 0xFF)
        if not mem:
            return steps + [(Q,), (EU, 6 + 4 * count)]
        return steps + [(Q,), *_ea_steps(modrm), rd(width), (EU, SHIFT_CL_MEMORY + 4 * count), wr(width)]
    if op in (0xF6, 0xF7):
        reg = (modrm >> 3) & 7
        if reg in (2, 3):                                   # NOT, NEG
            if not mem:
                return steps + [(Q,), (EU, 1)]
            return steps + [(Q,), *_ea_steps(modrm), rd(width), (EU, 4), wr(width)]
        if reg in (4, 5, 6, 7):
            clocks = muldiv_clocks(reg, width, modrm, facts)
            if not mem:
                return steps + [(Q,), (EU, clocks - 2)]
            return steps + [(Q,), *_ea_steps(modrm), rd(width), (EU, clocks - 1)]
    if op == 0xFE or (op == 0xFF and ((modrm >> 3) & 7) in (0, 1)):   # INC/DEC r/m
        if not mem:
            return steps + [(Q,), (EU, 1)]
        return steps + [(Q,), *_ea_steps(modrm), rd(width), (EU, 4), wr(width)]
    if op == 0xD7:                                          # XLAT
        return steps + [(EU, 4), rd(1)]
    if op in (0xAA, 0xAB, 0xAC, 0xAD) and (REP in raw[:i] or REPNE in raw[:i]):
        return steps + _rep_string(op, width, facts, rd, wr)
    if (op & 0xF0) == 0xA0 and (REP in raw[:i] or REPNE in raw[:i]):
        raise Unscheduled(f"REP MOVS/CMPS/SCAS are not scheduled ({raw.hex()}); the -datasheet cores price them")
    if op in (0xAA, 0xAB, 0xAC, 0xAD):                      # STOS, LODS (single)
        if op <= 0xAB:
            return steps + [(EU, 2), wr(width, last=False), (EU, 2)]
        return steps + [(EU, 2), rd(width), (EU, 3)]
    if op == 0x90:
        return steps + [(EU, 2)]
    raise Unscheduled(f"no 8086 execution schedule for opcode {op:#04x} ({raw.hex()}); "
                      f"the -datasheet cores price it from Intel's tables")


def _rep_string(op: int, width: int, facts: Facts, rd, wr) -> list:
    """REP STOS / REP LODS: CX repetitions of the transfer, the microcode's loop clocks between them.

    The whole repetition is one schedule (CX read before the instruction); the
    harness prices the instruction once, on its first entry.
    """
    count = facts.regs.get("cx", 0) & 0xFFFF
    if count == 0:
        return [(EU, 6)]
    store = op in (0xAA, 0xAB)
    # SI/DI step by the operand size, so every repetition's word has the first one's parity.
    first = wr(width, last=False) if store else rd(width)
    steps = [(EU, 9)]
    for n in range(count):
        if n:
            steps.append((EU, 4 if store else 7))
        steps.append(first)
    return steps + [(EU, 3 if store else 6)]


def mul_facts(width: int, ax: int, src: int | None) -> dict:
    """What the MUL microcode's clock count depends on: the accumulator's 1-bits, and whether the
    product's high half is zero (CF = OF = 0 costs one more step).  ``src`` None: unknown (assumed
    nonzero high half)."""
    mask = 0xFF if width == 1 else 0xFFFF
    acc = ax & mask
    high_zero = src is not None and ((acc * (src & mask)) >> (8 * width)) == 0
    return {"ones": bin(acc).count("1"), "high_zero": int(high_zero)}


def muldiv_clocks(reg: int, width: int, modrm: int, facts: Facts) -> int:
    """EU clocks of MUL/IMUL/DIV/IDIV.

    MUL follows its operands: the microcode shifts the accumulator right once
    per bit and adds the multiplicand on each 1 (one clock), then clears CF/OF
    when the high half is zero (one more): 69 + ones (+1) for 8 bits, 117 + ones
    (+1) for 16 — this reproduces every register-operand MUL test of
    SingleStepTests 8086.  IMUL/DIV/IDIV: the published maximum (Table 2-21).
    """
    if reg == 4:
        regs = facts.regs
        if "ones" not in regs:
            regs = mul_facts(width, regs.get("ax", 0xFFFF), regs.get("src"))
        return (69 if width == 1 else 117) + regs["ones"] + regs["high_zero"]
    return {5: (98, 154), 6: (90, 162), 7: (112, 184)}[reg][0 if width == 1 else 1]
