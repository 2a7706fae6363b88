"""Cycle model of the lowRISC Ibex core (RV32IMC), default two-stage pipeline.

Source: lowRISC Ibex documentation, "Pipeline Details", table "Multi- and
Single-Cycle Instructions" (doc/03_reference/pipeline_details.rst), which
gives the *stall* cycles of each instruction type in the ID/EX stage; an
instruction that stalls X cycles takes X + 1 cycles:

=========================  ======  =============================================
instruction type           stall   as modelled here
=========================  ======  =============================================
integer computational      0       1 cycle
load / store               1 - N   2 cycles (N = 1: single-cycle data memory)
MUL (fast multiplier)      2       3 cycles
MULH/MULHSU/MULHU (fast)   3       4 cycles
DIV/DIVU/REM/REMU          1 / 37  38 cycles (37: full long division)
jump (JAL/JALR)            1 - N   2 cycles (zero-wait instruction memory)
branch not taken           0       1 cycle
branch taken               2 - N   3 cycles (no branch-target ALU)
=========================  ======  =============================================

Configuration assumed: the documented "small" configuration — two stages
(no writeback stage), ``RV32M = RV32MFast`` (the 3-cycle "fast" multiplier),
``BranchTargetALU = 0``, no branch predictor, no instruction cache.  Loads
write the register file in the cycle the data returns, so the 2-stage core
has no extra load-use stall.

Left out: instruction-fetch stalls (the prefetch buffer is assumed to keep
up; a 32-bit instruction straddling a fetch word after a jump may cost one
more cycle on real hardware), memory wait states (N > 1 above), the
divide-by-zero fast path (1 stall cycle instead of 37), interrupts, debug
and CSR side effects.

``riscv_operands`` (which registers an instruction writes and reads) is
shared with the U54 model, which needs it for load-use interlocks.
"""

from __future__ import annotations

from capstone import riscv_const

from .base import CycleModel

LOADS = {"lb", "lbu", "lh", "lhu", "lw", "lwu", "ld", "c.lw", "c.lwsp", "c.ld", "c.ldsp"}
STORES = {"sb", "sh", "sw", "sd", "c.sw", "c.swsp", "c.sd", "c.sdsp"}
MUL = {"mul", "mulw"}
MULH = {"mulh", "mulhsu", "mulhu"}
DIV = {"div", "divu", "rem", "remu", "divw", "divuw", "remw", "remuw"}
JUMPS = {"jal", "jalr", "j", "jr", "ret", "call", "tail", "c.j", "c.jal", "c.jr", "c.jalr"}
BRANCHES = {"beq", "bne", "blt", "bge", "bltu", "bgeu", "beqz", "bnez", "blez", "bgez", "bltz", "bgtz",
            "bgt", "ble", "bgtu", "bleu", "c.beqz", "c.bnez"}


def riscv_operands(insn) -> tuple[set[str], set[str]]:
    """(registers written, registers read) of a capstone RISC-V instruction (detail on)."""
    names = []
    for op in insn.operands:
        if op.type == riscv_const.RISCV_OP_REG:
            names.append(("reg", insn.reg_name(op.reg)))
        elif op.type == riscv_const.RISCV_OP_MEM:
            names.append(("mem", insn.reg_name(op.mem.base)))
    regs = [n for kind, n in names if kind == "reg"]
    bases = {n for kind, n in names if kind == "mem"}
    m = insn.mnemonic
    if m in STORES or m in BRANCHES:
        return set(), (set(regs) | bases) - {"zero"}
    if not regs:
        return set(), bases - {"zero"}
    dest, srcs = regs[0], set(regs[1:]) | bases
    if m.startswith("c.") and len(regs) == 2 and m not in {"c.mv", "c.li", "c.lui"}:
        srcs.add(dest)  # two-operand compressed forms read their destination too
    return ({dest} - {"zero"}), srcs - {"zero"}


class IbexModel(CycleModel):
    core = "ibex"
    target = "rv32im"
    source = ("lowRISC Ibex documentation, Pipeline Details: 'Multi- and Single-Cycle Instructions' table "
              "(small configuration: 2 stages, fast multiplier, no branch-target ALU)")
    omits = ("instruction-fetch stalls and misaligned-fetch after jumps, memory wait states, the divide-by-zero "
             "fast path, interrupts and debug")

    LOAD_STORE = 2
    MUL = 3
    MULH = 4
    DIV = 38
    JUMP = 2
    BRANCH_TAKEN = 3
    BRANCH_NOT_TAKEN = 1

    _TABLE = "Ibex Pipeline Details, 'Multi- and Single-Cycle Instructions'"
    published = (
        ("add a0, a0, a1\n", 1, f"{_TABLE}: integer computational, 0 stalls"),
        ("lw a0, 0(zero)\n", 2, f"{_TABLE}: load, 1 stall with single-cycle data memory"),
        ("mul a0, a0, a1\n", 3, f"{_TABLE}: MUL (fast), 2 stalls"),
        ("mulhu a0, a0, a1\n", 4, f"{_TABLE}: MULH* (fast), 3 stalls"),
        ("divu a0, a0, a1\n", 38, f"{_TABLE}: DIV/REM, 37 stalls"),
        ("li a0, 1\nbnez a0, 1f\nnop\n1:\n", 1 + 3, f"{_TABLE}: branch taken, 2 stalls (no branch-target ALU)"),
        ("bnez zero, 1f\nnop\n1:\n", 1 + 1, f"{_TABLE}: branch not taken, 0 stalls"),
        ("jal zero, 1f\nnop\n1:\n", 2, f"{_TABLE}: jump, 1 stall"),
    )

    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        m = insn.mnemonic
        if m in LOADS or m in STORES:
            return self.LOAD_STORE
        if m in MUL:
            return self.MUL
        if m in MULH:
            return self.MULH
        if m in DIV:
            return self.DIV
        if m in JUMPS:
            return self.JUMP
        if m in BRANCHES:
            return self.BRANCH_TAKEN if taken else self.BRANCH_NOT_TAKEN
        return 1


MODELS = {"ibex": IbexModel()}
