"""Cycle model of the Arm Cortex-M4 (ARMv7E-M, 3-stage pipeline, zero wait states).

Source: *Cortex-M4 Technical Reference Manual* (Arm DDI 0439B r0p1; the
figures are the same in DDI 0439D, r0p1, 2013), section 3.3 "Instruction set
summary", Table 3-1 "Cortex-M4 instruction set summary", its footnotes, and
the load/store notes of section 3.3.1 ("Load/store timings", 3.3.2 in 0439D;
the same notes as the Cortex-M3 TRM, DDI 0337, 3.3.1).  The figures used:

====================================================  ==================
data processing (MOV, ADD, SUB, logic, shifts, CMP,     1
extend, bit-field, SSAT/USAT), MOV/ADD to PC            1 + P
MUL, MLA, MLS; UMULL, SMULL, UMLAL, SMLAL; all DSP      1
(SIMD add/sub, SEL, USAD8/USADA8, SXTB16, SMLAD, …)
SDIV, UDIV                                              2 to 12 (priced 12)
LDR/LDRB/LDRH/LDRSB/LDRSH/LDREX (single)                2, or 1 pipelined
STR/STRB/STRH (single), immediate offset                1 (3.3.1)
STR/STRB/STRH (single), register offset; STREX          2, or 1 pipelined
LDR into PC                                             5 (3.3.1: "at least five")
LDRD, STRD                                              1 + N = 3
LDM, STM, PUSH, POP                                     1 + N
POP / LDM including PC                                  1 + N + P
B, BL, BX, BLX                                          1 + P
B<cc>, CBZ, CBNZ                                        1 not taken, 1 + P taken
TBB, TBH                                                6 (3.3.1: "at least six")
IT                                                      1
MRS, MSR, CPSID, CPSIE                                  "1 or 2" (priced 2)
DMB, DSB                                                1 + B, B ≥ 0 (priced 1)
ISB                                                     1 + B, B ≥ P (priced 1 + P)
NOP, SEV                                                1
====================================================  ==================

N counts every register in the list, PC and LR included (the table's key to
its Cycles column).  Table 3-1 gives ``2 + P`` for LDR PC and TBB/TBH, while
the notes of 3.3.1 spell the cost out as two load cycles (and one add for a
table branch) plus three for the pipeline reload; the model follows the
notes, which are the more specific.

Pipelining (footnote b of Table 3-1 and the notes of 3.3.1): neighbouring
load/store single instructions overlap their address and data phases; "if
the next instruction is an LDR or STR, and the destination of the first LDR
is not used to compute the address for the next instruction, then one cycle
is removed from the cost of the next instruction".  So a single LDR/STR
costs 1 when the previous instruction was a single LDR whose destination is
not its base or index register.  Nothing pipelines after a store, and
LDRD/STRD/LDM/STM "cannot be pipelined with preceding or following
instructions" (their own elements are, hence 1 + N).  "STR Rx,[Ry,#imm] is
always one cycle" (the data phase overlaps the next instruction through the
write buffer).  "Any load or store that generates an address dependent on
the result of a preceding data processing operation stalls the pipeline for
an additional cycle": +1 on any load/store whose base or index register the
previous (non-memory, non-branch) instruction wrote.

P, the pipeline refill, "ranges from 1 to 3 depending on the alignment and
width of the target instruction, and whether the processor manages to
speculate the address early"; the TRM gives no rule to pick within that
range, so the model uses the mid value ``P = 2`` (a constructor argument).

Wait states (:class:`sim.cycles.base.WaitStates`): each 32-bit I-code
fetch the instruction needs costs ``code`` more cycles (``fetch_bytes`` may
widen the unit to a flash line), and each data transfer — one per single
load/store, two for LDRD/STRD, one per register of LDM/STM/PUSH/POP —
``data`` more, in full: overlap with the prefetch buffer is not modelled.

Left out: the flash accelerator (ART / prefetch buffers),
the bus matrix and contention between the I-code and D-code buses (the
"LDR Rx,[PC,#imm] might add a cycle" note), unaligned-access penalties (the
generated kernels only make aligned accesses), IT folding onto a preceding
16-bit instruction (IT is priced 1, pessimistic by at most one cycle),
early termination of SDIV/UDIV (priced at the maximum, 12), the store
write-buffer stalls, interrupts and the LDM/STM restart cost.
"""

from __future__ import annotations

from capstone import arm_const as A

from .base import CycleModel

_LOAD_SINGLE = {A.ARM_INS_LDR, A.ARM_INS_LDRB, A.ARM_INS_LDRH, A.ARM_INS_LDRSB, A.ARM_INS_LDRSH,
                A.ARM_INS_LDREX, A.ARM_INS_LDREXB, A.ARM_INS_LDREXH, A.ARM_INS_LDRT, A.ARM_INS_LDRBT,
                A.ARM_INS_LDRHT, A.ARM_INS_LDRSBT, A.ARM_INS_LDRSHT}
_STORE_SINGLE = {A.ARM_INS_STR, A.ARM_INS_STRB, A.ARM_INS_STRH, A.ARM_INS_STREX, A.ARM_INS_STREXB,
                 A.ARM_INS_STREXH, A.ARM_INS_STRT, A.ARM_INS_STRBT, A.ARM_INS_STRHT}
_DOUBLE = {A.ARM_INS_LDRD, A.ARM_INS_STRD}
_MULTIPLE = {A.ARM_INS_LDM, A.ARM_INS_LDMDB, A.ARM_INS_STM, A.ARM_INS_STMDB, A.ARM_INS_PUSH, A.ARM_INS_POP}
_DIVIDE = {A.ARM_INS_SDIV, A.ARM_INS_UDIV}
_BRANCH = {A.ARM_INS_B, A.ARM_INS_BL, A.ARM_INS_BX, A.ARM_INS_BLX}
_COMPARE_BRANCH = {A.ARM_INS_CBZ, A.ARM_INS_CBNZ}
_TABLE_BRANCH = {A.ARM_INS_TBB, A.ARM_INS_TBH}

DIVIDE_CYCLES = 12  # Table 3-1: "2 to 12", early termination on operand values; priced at the bound
LDR_PC_CYCLES = 5   # 3.3.1: "at least two cycles for the load, and three cycles for the pipeline reload"
TABLE_BRANCH_CYCLES = 6  # 3.3.1: "two cycles for the load, one cycle for the add, and three ... reload"
SPECIAL_REGISTER_CYCLES = 2  # Table 3-1: MRS, MSR, CPSID, CPSIE "1 or 2"; priced at the bound
_SPECIAL = {A.ARM_INS_MRS, A.ARM_INS_MSR, A.ARM_INS_CPS}


def _writes_pc(insn) -> bool:
    return A.ARM_REG_PC in insn.regs_access()[1]


def _address_regs(insn) -> set[int]:
    regs = set()
    for op in insn.operands:
        if op.type == A.ARM_OP_MEM:
            regs.update(r for r in (op.mem.base, op.mem.index) if r)
    return regs


def _base_regs(insn) -> set[int]:
    """Registers a load/store uses to form its address (LDM/STM: the base; PUSH/POP: SP)."""
    if insn.id in (A.ARM_INS_PUSH, A.ARM_INS_POP):
        return {A.ARM_REG_SP}
    if insn.id in _MULTIPLE:
        return {insn.operands[0].reg}
    return _address_regs(insn)


def _is_memory_or_branch(insn) -> bool:
    ins = insn.id
    return (ins in _LOAD_SINGLE or ins in _STORE_SINGLE or ins in _DOUBLE or ins in _MULTIPLE
            or ins in _BRANCH or ins in _COMPARE_BRANCH or ins in _TABLE_BRANCH)


def _imm_offset(insn) -> bool:
    return all(op.mem.index == 0 for op in insn.operands if op.type == A.ARM_OP_MEM)


def _load_dest(insn) -> int | None:
    op = insn.operands[0] if insn.operands else None
    return op.reg if op is not None and op.type == A.ARM_OP_REG else None


class CortexM4(CycleModel):
    core = "cortex-m4"
    target = "cortex-m4"
    source = "Arm Cortex-M4 TRM (DDI 0439B), 3.3 Table 3-1 'Cortex-M4 instruction set summary' and 3.3.1 notes"
    omits = ("flash accelerator and prefetch overlap (wait states are priced in full), bus matrix/fetch "
             "contention, unaligned penalties, IT folding, pipeline refill P fixed (default 2; the TRM gives 1 to 3), "
             "SDIV/UDIV early termination (priced 12), barrier time beyond its minimum, write-buffer stalls, "
             "interrupts")

    supports_wait_states = True

    def __init__(self, refill: int = 2):
        if not 1 <= refill <= 3:
            raise ValueError("the TRM's pipeline refill P ranges from 1 to 3")
        self.refill = refill

    def pipelines_after(self, prev, insn) -> bool:
        """True when ``insn`` (a single load/store) overlaps the single LDR before it (3.3.1)."""
        if prev is None or prev.id not in _LOAD_SINGLE or _writes_pc(prev):
            return False
        dest = _load_dest(prev)
        return dest is None or dest not in _address_regs(insn)

    def address_stall(self, prev, insn) -> int:
        """1 when ``insn`` (a load/store) needs an address register the ALU op before it wrote (3.3.1)."""
        if prev is None or _is_memory_or_branch(prev):
            return 0
        return 1 if set(prev.regs_access()[1]) & _base_regs(insn) else 0

    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        ins = insn.id
        if ins in _LOAD_SINGLE or ins in _STORE_SINGLE or ins in _DOUBLE or ins in _MULTIPLE:
            return self._memory_cycles(insn, prev) + self.address_stall(prev, insn)
        return self._other_cycles(insn, taken)

    def _memory_cycles(self, insn, prev) -> int:
        ins = insn.id
        p = self.refill
        if ins in _LOAD_SINGLE or ins in _STORE_SINGLE:
            if ins in _LOAD_SINGLE and _writes_pc(insn):
                return LDR_PC_CYCLES                           # LDR PC, [..]: blocking, then reload
            if ins in (A.ARM_INS_STR, A.ARM_INS_STRB, A.ARM_INS_STRH) and _imm_offset(insn):
                return 1                                       # "STR Rx,[Ry,#imm] is always one cycle"
            return 1 if self.pipelines_after(prev, insn) else 2
        if ins in _DOUBLE:
            return 3                                           # 1 + N, N = 2
        if ins in _MULTIPLE:
            regs = [op for op in insn.operands if op.type == A.ARM_OP_REG]
            if ins not in (A.ARM_INS_PUSH, A.ARM_INS_POP):
                regs = regs[1:]                                # the base register is not transferred
            n = len(regs)
            return 1 + n + (p if _writes_pc(insn) else 0)
        raise AssertionError(f"not a memory instruction: {insn.mnemonic}")

    def _other_cycles(self, insn, taken: bool) -> int:
        ins = insn.id
        p = self.refill
        if ins in _BRANCH:
            if insn.cc not in (A.ARM_CC_AL, A.ARM_CC_INVALID) and not taken:
                return 1                                       # conditional, not taken
            return 1 + p
        if ins in _COMPARE_BRANCH:
            return 1 + p if taken else 1
        if ins in _TABLE_BRANCH:
            return TABLE_BRANCH_CYCLES
        if ins in _SPECIAL:
            return SPECIAL_REGISTER_CYCLES
        if ins == A.ARM_INS_ISB:
            return 1 + p                                       # B is at least a pipeline refill
        if ins in _DIVIDE:
            return DIVIDE_CYCLES
        if _writes_pc(insn):
            return 1 + p                                       # MOV/ADD to PC
        return 1                                               # ALU, multiply, MAC, DSP SIMD, IT, NOP

    def data_transfers(self, insn) -> int:
        """Data-bus transfers: one per single load/store, two for LDRD/STRD, one per listed register."""
        ins = insn.id
        if ins in _LOAD_SINGLE or ins in _STORE_SINGLE:
            return 1
        if ins in _DOUBLE:
            return 2
        if ins in _MULTIPLE:
            regs = [op for op in insn.operands if op.type == A.ARM_OP_REG]
            return len(regs) if ins in (A.ARM_INS_PUSH, A.ARM_INS_POP) else len(regs) - 1
        return 0


MODELS = {"cortex-m4": CortexM4()}
