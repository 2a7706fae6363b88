"""Cores ``i8086-datasheet`` and ``i8088-datasheet``: Intel's published instruction timing, summed.

The manual's view of the 8086/8088, kept for users who want it; the default
cores ``i8086``/``i8088`` are the queue-accurate bus-unit model
(:mod:`sim.cycles.i8086_queue`), held against real-chip traces.

Source (every figure below): Intel, *The 8086 Family User's Manual*
(9800722-03, October 1979), section 2.8:

* Table 2-20 "Effective Address Calculation Time" — EA clocks:
  base or index 5; displacement only 6; base + index 7 (BP+DI, BX+SI) or 8
  (BP+SI, BX+DI); displacement + base or index 9; displacement + base + index
  11 (BP+DI, BX+SI) or 12 (BP+SI, BX+DI); "add 2 clocks for segment override".
* Table 2-21 "Instruction Set Summary" (pp. 2-51 to 2-68) — clocks per
  operand form (register/register, register/memory, memory/register,
  register/immediate, memory/immediate, accumulator/immediate, ...).
* p. 2-50: "For instructions executing on an 8086, four clocks should be
  added for each instruction reference to a word operand located at an odd
  memory address ... for instructions executing on an 8088, four clocks should
  be added to each instruction reference to a 16-bit memory operand; this
  includes all stack operations."

The same tables are reprinted in the *iAPX 86,88 User's Manual* (1981).

How each published rule is applied
----------------------------------
* The operand form is read from the encoding (ModRM ``mod``/``r/m`` and the
  opcode), not from capstone's operand list: ``[bp]`` is encoded as
  ``[bp+0]`` with a displacement byte and costs 9 EA clocks, and
  ``mov ax, [1234]`` has its own accumulator form (10 clocks, no EA).
* Every segment-override prefix costs 2 (the EA table's note; Table 2-21
  also lists the prefix itself at 2 clocks), so does LOCK.
* Word-transfer penalties come from the data accesses Unicorn really makes
  (``needs_memory``; the harness calls :meth:`memory_cycles` for each read
  and write, stack pushes/pops and string steps included): +4 per word at an
  odd address on the 8086, +4 per word at any address on the 8088.
* Conditional jumps cost 16 taken / 4 not taken; LOOP 17/5; LOOPE 18/6;
  LOOPNE 19/5; JCXZ 18/6; INTO 53/4.
* REP string instructions: the table gives ``9 + n x per-repetition``
  (MOVS 9+17/rep, CMPS 9+22/rep, SCAS 9+15/rep, LODS 9+13/rep, STOS
  9+10/rep).  Unicorn runs a REP instruction as a block of its own that
  jumps back to itself after every repetition; it leaves once an entry finds
  CX = 0 (or, for REPE/REPNE CMPS/SCAS, right after the repetition whose
  flags end it).  The base 9 (which includes the REP prefix) is charged when
  the instruction is entered from elsewhere (``prev`` is not this same
  instruction); each entry that finds CX != 0 performs one repetition and is
  charged the per-repetition clocks, from CX read just before the entry
  (:meth:`register_cycles`).  So ``rep`` with CX = 0 costs exactly 9, and n
  repetitions cost 9 + n x per-repetition however Unicorn ends the loop.
* Shifts and rotates by CL cost 8 + 4/bit (register) or 20 + EA + 4/bit
  (memory); the bit count is CL's value when the instruction executes, read
  through :meth:`register_cycles`.  The 8086 does not mask the count, so
  neither does the model (CL = 200 costs 808 clocks on a register).
* MUL/IMUL/DIV/IDIV: Intel publishes a range per operand size (MUL r8 70-77,
  r16 118-133; IMUL r8 80-98, r16 128-154; DIV r8 80-90, r16 144-162; IDIV
  r8 101-112, r16 165-184; memory forms 6 more, plus EA).  The real count
  depends on the operand bits in a way the manual does not publish, so the
  model charges the published **maximum** by default (a bound, as a
  real-time budget needs); ``muldiv="min"`` or ``"mid"`` (the midpoint,
  rounded up) are available.

Wait states (``--wait-states code=N,data=M``): N clocks per code fetch (a
word on the 8086, a byte on the 8088, counted from the instruction's bytes)
and M per data bus cycle (from the accesses Unicorn makes); default zero.

What it leaves out
------------------
The prefetch queue (the bus interface unit's 6-byte queue on the 8086,
4 bytes on the 8088: instruction fetch competes with data transfers, and
the queue is flushed by every jump — Intel's figures assume the next
instruction is already queued, which on the 8088 in particular is
optimistic), DRAM refresh (DMA cycles stolen on a PC), and
interrupts.  WAIT is charged its 3-clock minimum (no TEST-pin polling).
Instructions outside the documented 8086 set (186+, 0x66/0x67/FS/GS
prefixes, undocumented opcodes) raise :class:`TorusInputError`; the ISA
checker keeps them out of kernels.
"""

from __future__ import annotations

from torus_hw.errors import TorusInputError

from .base import CycleModel

SOURCE = ("Intel, The 8086 Family User's Manual (9800722-03, Oct. 1979), sec. 2.8: Table 2-20 "
          "(effective address clocks), Table 2-21 (instruction set summary, pp. 2-51 to 2-68), "
          "word-transfer note p. 2-50; reprinted in the iAPX 86,88 User's Manual (1981)")
OMITS = ("prefetch queue (instruction fetch bus contention, queue flush after jumps), wait states unless given, "
         "DRAM refresh, interrupts; MUL/DIV priced at the published maximum of their range")

SEGMENT_PREFIXES = {0x26: "es", 0x2E: "cs", 0x36: "ss", 0x3E: "ds"}
LOCK, REPNE, REP = 0xF0, 0xF2, 0xF3
PREFIX_CLOCKS = 2  # Table 2-20 note / Table 2-21: segment override, LOCK

# Table 2-20: EA clocks by (mod, r/m).  mod 0 r/m 6 is displacement only;
# r/m 0..3 are BX+SI, BX+DI, BP+SI, BP+DI; 4..7 are SI, DI, BP (mod 1/2 only), BX.
_EA_NO_DISP = {0: 7, 1: 8, 2: 8, 3: 7, 4: 5, 5: 5, 6: 6, 7: 5}
_EA_DISP = {0: 11, 1: 12, 2: 12, 3: 11, 4: 9, 5: 9, 6: 9, 7: 9}

# Of the eight ALU operations (ADD OR ADC SBB AND SUB XOR CMP: opcode >> 3 in 00-3F, the reg
# field in 80-83), CMP only reads its memory operand, so Table 2-21 prices it lower.
_CMP = 7

# String instructions (opcode & 0xFE): (clocks without REP, per repetition with REP).
_STRING = {0xA4: (18, 17),   # MOVS: 18; REP 9+17/rep
           0xA6: (22, 22),   # CMPS: 22; REP 9+22/rep
           0xAA: (11, 10),   # STOS: 11; REP 9+10/rep
           0xAC: (12, 13),   # LODS: 12; REP 9+13/rep
           0xAE: (15, 15)}   # SCAS: 15; REP 9+15/rep
REP_BASE = 9

# MUL/IMUL/DIV/IDIV register-operand ranges (Table 2-21); memory forms add 6 + EA.
_MULDIV = {  # reg field of F6/F7 → {width: (min, max)}
    4: {8: (70, 77), 16: (118, 133)},     # MUL
    5: {8: (80, 98), 16: (128, 154)},     # IMUL
    6: {8: (80, 90), 16: (144, 162)},     # DIV
    7: {8: (101, 112), 16: (165, 184)},   # IDIV
}
MULDIV_MEMORY_EXTRA = 6  # e.g. MUL mem8 (76-83)+EA vs reg8 70-77

# Conditional transfers: (taken, not taken).
_JCC = (16, 4)
_LOOPS = {0xE0: (19, 5),   # LOOPNE/LOOPNZ
          0xE1: (18, 6),   # LOOPE/LOOPZ
          0xE2: (17, 5),   # LOOP
          0xE3: (18, 6)}   # JCXZ

# Single-byte opcodes with one fixed figure (Table 2-21).
_FIXED = {
    0x06: 10, 0x0E: 10, 0x16: 10, 0x1E: 10,   # PUSH segment register
    0x07: 8, 0x17: 8, 0x1F: 8,                # POP segment register (POP CS, 0F, is not used)
    0x27: 4, 0x2F: 4, 0x37: 4, 0x3F: 4,       # DAA DAS AAA AAS
    0x90: 3,                                  # NOP (XCHG AX,AX)
    0x98: 2, 0x99: 5,                         # CBW, CWD
    0x9A: 28,                                 # CALL far direct
    0x9B: 3,                                  # WAIT (3 + 5n; n = 0)
    0x9C: 10, 0x9D: 8, 0x9E: 4, 0x9F: 4,      # PUSHF POPF SAHF LAHF
    0xA0: 10, 0xA1: 10, 0xA2: 10, 0xA3: 10,   # MOV acc,mem / mem,acc (direct address, no EA)
    0xA8: 4, 0xA9: 4,                         # TEST acc,imm
    0xC2: 12, 0xC3: 8,                        # RET near (+imm to SP), RET near
    0xCA: 17, 0xCB: 18,                       # RET far (+imm to SP), RET far
    0xCC: 52, 0xCD: 51, 0xCF: 24,             # INT 3, INT n, IRET
    0xD4: 83, 0xD5: 60, 0xD7: 11,             # AAM AAD XLAT
    0xE4: 10, 0xE5: 10, 0xE6: 10, 0xE7: 10,   # IN/OUT fixed port
    0xEC: 8, 0xED: 8, 0xEE: 8, 0xEF: 8,       # IN/OUT DX
    0xE8: 19,                                 # CALL near direct
    0xE9: 15, 0xEA: 15, 0xEB: 15,             # JMP near, far, short
    0xF4: 2, 0xF5: 2,                         # HLT CMC
    0xF8: 2, 0xF9: 2, 0xFA: 2, 0xFB: 2, 0xFC: 2, 0xFD: 2,  # CLC STC CLI STI CLD STD
}
_FIXED.update({op: 2 for op in range(0x40, 0x50)})   # INC/DEC r16
_FIXED.update({op: 11 for op in range(0x50, 0x58)})  # PUSH r16
_FIXED.update({op: 8 for op in range(0x58, 0x60)})   # POP r16
_FIXED.update({op: 3 for op in range(0x91, 0x98)})   # XCHG AX, r16
_FIXED.update({op: 4 for op in range(0xB0, 0xC0)})   # MOV reg, imm


class _Unpriced(TorusInputError):
    pass


def _split(raw: bytes) -> tuple[list[int], int]:
    """The 8086 prefixes of an encoding and the index of its opcode byte."""
    i = 0
    while i < len(raw) and (raw[i] in SEGMENT_PREFIXES or raw[i] in (LOCK, REP, REPNE)):
        i += 1
    return list(raw[:i]), i


class I8086Model(CycleModel):
    """Clocks of one 8086-family core: ``bus_bits`` 16 (8086) or 8 (8088)."""

    target = "i8086"
    source = SOURCE
    omits = OMITS
    needs_memory = True

    def __init__(self, core: str, bus_bits: int, muldiv: str = "max"):
        if bus_bits not in (8, 16):
            raise ValueError("bus_bits must be 8 (8088) or 16 (8086)")
        if muldiv not in ("max", "min", "mid"):
            raise ValueError("muldiv must be 'max', 'min' or 'mid'")
        self.core = core
        self.bus_bits = bus_bits
        self.muldiv = muldiv

    # --- the harness interface ------------------------------------------------

    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        raw = bytes(insn.bytes)
        prefixes, i = _split(raw)
        if i >= len(raw):
            raise self._unpriced(insn, "prefix without an opcode")
        op = raw[i]
        rep = REP in prefixes or REPNE in prefixes
        # Prefixes of a repeated string instruction are decoded once, when it is entered.
        if rep and (op & 0xFE) in _STRING:
            if self._continues(insn, prev):
                return 0
            return REP_BASE + PREFIX_CLOCKS * sum(p not in (REP, REPNE) for p in prefixes)
        extra = PREFIX_CLOCKS * sum(p in SEGMENT_PREFIXES or p == LOCK for p in prefixes)
        if rep:
            extra += PREFIX_CLOCKS  # a REP on a non-string instruction: the bare prefix figure
        return extra + self._opcode_cycles(insn, op, raw[i + 1:], taken)

    supports_wait_states = True

    @property
    def fetch_bytes(self) -> int:
        return self.bus_bits // 8       # one code fetch: a word on the 8086, a byte on the 8088

    def with_wait_states(self, wait_states):
        if wait_states and wait_states.fetch_bytes not in (None, self.fetch_bytes):
            raise TorusInputError(f"{self.core}: a code fetch is {self.fetch_bytes} byte(s) wide on its bus; "
                                  f"fetch={wait_states.fetch_bytes} does not apply")
        return super().with_wait_states(wait_states)

    def memory_cycles(self, address: int, size: int, write: bool) -> int:
        """+4 for each extra bus cycle a word needs (odd address on the 8086, any on the 8088), + data Tw per cycle."""
        cycles = self._bus_cycles(address, size)
        words = len(range(address, address + size - 1, 2)) if size >= 2 else 0
        return 4 * (cycles - words if words else 0) + self.wait_states.data * cycles

    def _bus_cycles(self, address: int, size: int) -> int:
        """Bus cycles of one data access: a byte, or a word (two cycles at an odd address or on the 8088)."""
        if size < 2:
            return 1
        words = range(address, address + size - 1, 2)
        if self.bus_bits == 8:
            return 2 * len(words)
        return sum(2 if a & 1 else 1 for a in words)

    def register_dependent(self, insn) -> tuple[str, ...]:
        raw = bytes(insn.bytes)
        prefixes, i = _split(raw)
        if i >= len(raw):
            return ()
        op = raw[i]
        if op in (0xD2, 0xD3):
            return ("cl",)
        if (op & 0xFE) in _STRING and (REP in prefixes or REPNE in prefixes):
            return ("cx",)
        return ()

    def register_cycles(self, insn, values: dict[str, int]) -> int:
        if "cl" in values:
            return 4 * (values["cl"] & 0xFF)            # 4 clocks per bit, the count unmasked
        raw = bytes(insn.bytes)
        _, i = _split(raw)
        # One repetition per entry that finds CX != 0 (the CX = 0 entry just leaves).
        return _STRING[raw[i] & 0xFE][1] if values["cx"] & 0xFFFF else 0

    # --- pricing ----------------------------------------------------------------

    @staticmethod
    def _continues(insn, prev) -> bool:
        """True when this REP instruction re-enters itself (one more repetition)."""
        return prev is not None and prev.address == insn.address and bytes(prev.bytes) == bytes(insn.bytes)

    def _unpriced(self, insn, why: str) -> _Unpriced:
        text = f"{insn.mnemonic} {insn.op_str}".strip()
        return _Unpriced(f"{self.core}: no published 8086 timing for '{text}' "
                         f"(bytes {bytes(insn.bytes).hex()} at {insn.address:#x}): {why}")

    def _muldiv(self, low: int, high: int) -> int:
        if self.muldiv == "max":
            return high
        if self.muldiv == "min":
            return low
        return (low + high + 1) // 2

    def _opcode_cycles(self, insn, op: int, rest: bytes, taken: bool) -> int:
        if op in _FIXED:
            return _FIXED[op]
        if 0x70 <= op <= 0x7F:
            return _JCC[0] if taken else _JCC[1]
        if op in _LOOPS:
            return _LOOPS[op][0] if taken else _LOOPS[op][1]
        if op == 0xCE:                                    # INTO: 53 when it interrupts, else 4
            return 53 if taken else 4
        if (op & 0xFE) in _STRING:
            return _STRING[op & 0xFE][0]
        if not rest:
            raise self._unpriced(insn, "not an 8086 instruction")
        modrm = rest[0]
        mod, reg, rm = modrm >> 6, (modrm >> 3) & 7, modrm & 7
        is_reg = mod == 3
        ea = 0 if is_reg else (_EA_NO_DISP[rm] if mod == 0 else _EA_DISP[rm])
        width = 16 if op & 1 else 8

        if op < 0x40 and (op & 7) < 4:                    # ALU r/m,r and r,r/m
            alu = op >> 3
            if is_reg:
                return 3
            if op & 2:                                    # reg, mem
                return 9 + ea
            return (9 if alu == _CMP else 16) + ea        # mem, reg (CMP only reads)
        if op < 0x40 and (op & 7) in (4, 5):              # ALU acc, imm
            return 4
        if 0x80 <= op <= 0x83:                            # ALU r/m, imm
            if is_reg:
                return 4
            return (10 if reg == _CMP else 17) + ea
        if op in (0x84, 0x85):                            # TEST r/m, r
            return 3 if is_reg else 9 + ea
        if op in (0x86, 0x87):                            # XCHG r/m, r
            return 4 if is_reg else 17 + ea
        if op in (0x88, 0x89):                            # MOV r/m, r
            return 2 if is_reg else 9 + ea
        if op in (0x8A, 0x8B):                            # MOV r, r/m
            return 2 if is_reg else 8 + ea
        if op == 0x8C:                                    # MOV r/m16, sreg
            return 2 if is_reg else 9 + ea
        if op == 0x8E:                                    # MOV sreg, r/m16
            return 2 if is_reg else 8 + ea
        if op == 0x8D and not is_reg:                     # LEA
            return 2 + ea
        if op == 0x8F and reg == 0:                       # POP r/m16
            return 8 if is_reg else 17 + ea
        if op in (0xC4, 0xC5) and not is_reg:             # LES, LDS
            return 16 + ea
        if op in (0xC6, 0xC7) and reg == 0:               # MOV r/m, imm
            return 4 if is_reg else 10 + ea
        if op in (0xD0, 0xD1) and reg != 6:               # shift/rotate by 1
            return 2 if is_reg else 15 + ea
        if op in (0xD2, 0xD3) and reg != 6:               # by CL: + 4/bit in register_cycles
            return 8 if is_reg else 20 + ea
        if 0xD8 <= op <= 0xDF:                            # ESC (coprocessor escape)
            return 2 if is_reg else 8 + ea
        if op in (0xF6, 0xF7):
            if reg == 0:                                  # TEST r/m, imm
                return 5 if is_reg else 11 + ea
            if reg in (2, 3):                             # NOT, NEG
                return 3 if is_reg else 16 + ea
            if reg in _MULDIV:
                low, high = _MULDIV[reg][width]
                clocks = self._muldiv(low, high)
                return clocks if is_reg else clocks + MULDIV_MEMORY_EXTRA + ea
        if op == 0xFE and reg in (0, 1):                  # INC/DEC r/m8
            return 3 if is_reg else 15 + ea
        if op == 0xFF:
            if reg in (0, 1):                             # INC/DEC r/m16
                return 2 if is_reg else 15 + ea
            if reg == 2:                                  # CALL near indirect
                return 16 if is_reg else 21 + ea
            if reg == 3 and not is_reg:                   # CALL far indirect
                return 37 + ea
            if reg == 4:                                  # JMP near indirect
                return 11 if is_reg else 18 + ea
            if reg == 5 and not is_reg:                   # JMP far indirect
                return 24 + ea
            if reg == 6:                                  # PUSH r/m16
                return 11 if is_reg else 16 + ea
        raise self._unpriced(insn, "not in the 8086 instruction set tables")


MODELS = {
    "i8086-datasheet": I8086Model("i8086-datasheet", bus_bits=16),
    "i8088-datasheet": I8086Model("i8088-datasheet", bus_bits=8),
}
