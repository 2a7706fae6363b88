"""Cycle model of the Arm Cortex-M0 (ARMv6-M, 3-stage pipeline, zero wait states).

Source: *Cortex-M0 Technical Reference Manual* (Arm DDI 0432C, r0p0),
section 3.3 "Instruction set summary", Table 3-1 "Cortex-M0 instruction
summary".  The figures used:

==========================================================  ===========
data processing: MOVS/MOV, ADDS/ADD/ADCS, SUBS/SBCS/RSBS,       1
CMP/CMN/TST, ANDS/EORS/ORRS/BICS/MVNS, shifts and RORS,
SXTB/SXTH/UXTB/UXTH, REV/REV16/REVSH, ADR, ADD/SUB SP, NOP
MOV PC, Rm / ADD PC, PC, Rm                                     3
MULS                                                            1 or 32
LDR/LDRB/LDRH/LDRSB/LDRSH (any addressing mode, incl. literal)  2
STR/STRB/STRH                                                   2
LDM, STM                                                        1 + N
PUSH                                                            1 + N
POP                                                             1 + N
POP including PC ("pop and return")                             4 + N
B<cc>                                                           1 not taken, 3 taken
B (unconditional)                                               3
BL                                                              4
BX, BLX                                                         3
MRS, MSR, DMB, DSB, ISB                                         4
==========================================================  ===========

N is the number of registers in the list; for "pop and return" the table's
``4 + N`` counts the low registers only (the PC load's extra cycles are the
branch's refill: ``POP {r4, pc}`` is 1 + 2 transfers + 2 refill = 5, in line
with B's 3 = 1 + 2), which the model computes as 3 + the registers
including PC.  MRS, MSR, DMB, DSB and ISB are 4 and BL 4, as printed;
CPSID/CPSIE, SEV, YIELD and NOP 1.

Wait states (:class:`sim.cycles.base.WaitStates`): the M0 has one AHB-Lite
bus for code and data, so each 32-bit fetch costs ``code`` more cycles and
each data transfer (one per register of LDM/STM/PUSH/POP) ``data`` more;
they add up, with no overlap.  The multiplier is a synthesis option of the M0: the fast
single-cycle multiplier or a small 32-cycle iterative one.  The model prices
MULS at ``1`` by default, the common configuration (Cortex-M0 based MCUs such
as NXP LPC11xx and ST STM32F0 ship the fast multiplier); construct
``CortexM0(multiplier_cycles=32)`` for the small-area option.

Left out: bus contention beyond the wait states, the cost of unaligned/faulting accesses (ARMv6-M
faults instead), interrupts and their latency, and WFI/WFE/SVC/BKPT (never
generated).  The M0 has no load-use interlock in the TRM's table, so ``prev``
does not change any price.
"""

from __future__ import annotations

from capstone import arm_const as A

from .base import CycleModel

_LOAD = {A.ARM_INS_LDR, A.ARM_INS_LDRB, A.ARM_INS_LDRH, A.ARM_INS_LDRSB, A.ARM_INS_LDRSH}
_STORE = {A.ARM_INS_STR, A.ARM_INS_STRB, A.ARM_INS_STRH}
_MULTIPLE = {A.ARM_INS_LDM, A.ARM_INS_STM}
_SYSTEM = {A.ARM_INS_MRS, A.ARM_INS_MSR, A.ARM_INS_DMB, A.ARM_INS_DSB, A.ARM_INS_ISB}

BRANCH_TAKEN = 3       # Table 3-1: B<cc> "1 or 3", B "3"
BRANCH_NOT_TAKEN = 1
BL_CYCLES = 4
BX_CYCLES = 3          # BX and BLX
PC_WRITE_CYCLES = 3    # MOV PC, Rm and ADD PC, PC, Rm
SYSTEM_CYCLES = 4      # MRS, MSR, DMB, DSB, ISB


def _reg_list(insn) -> list[int]:
    return [op.reg for op in insn.operands if op.type == A.ARM_OP_REG]


class CortexM0(CycleModel):
    core = "cortex-m0"
    target = "cortex-m0"
    source = "Arm Cortex-M0 TRM (DDI 0432C), 3.3 Table 3-1 'Cortex-M0 instruction summary'"
    omits = "wait states, AHB-Lite bus contention, interrupts and their latency, WFI/WFE/SVC/BKPT"

    supports_wait_states = True

    def __init__(self, multiplier_cycles: int = 1):
        if multiplier_cycles not in (1, 32):
            raise ValueError("the Cortex-M0 multiplier option takes 1 (fast) or 32 (small) cycles")
        self.multiplier_cycles = multiplier_cycles

    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        ins = insn.id
        if ins in _LOAD or ins in _STORE:
            return 2
        if ins in _MULTIPLE:
            return 1 + len(_reg_list(insn)) - 1          # the base register is not transferred
        if ins == A.ARM_INS_PUSH:
            return 1 + len(_reg_list(insn))
        if ins == A.ARM_INS_POP:
            regs = _reg_list(insn)
            return (3 if A.ARM_REG_PC in regs else 1) + len(regs)
        if ins == A.ARM_INS_B:
            return BRANCH_TAKEN if taken else BRANCH_NOT_TAKEN
        if ins == A.ARM_INS_BL:
            return BL_CYCLES
        if ins in (A.ARM_INS_BX, A.ARM_INS_BLX):
            return BX_CYCLES
        if ins == A.ARM_INS_MUL:
            return self.multiplier_cycles
        if ins in _SYSTEM:
            return SYSTEM_CYCLES
        if ins in (A.ARM_INS_MOV, A.ARM_INS_ADD) and A.ARM_REG_PC in insn.regs_access()[1]:
            return PC_WRITE_CYCLES
        return 1

    def data_transfers(self, insn) -> int:
        """One AHB-Lite transfer per register moved (the M0 has one bus for code and data)."""
        ins = insn.id
        if ins in _LOAD or ins in _STORE:
            return 1
        if ins in _MULTIPLE:
            return len(_reg_list(insn)) - 1
        if ins in (A.ARM_INS_PUSH, A.ARM_INS_POP):
            return len(_reg_list(insn))
        return 0


MODELS = {"cortex-m0": CortexM0()}
