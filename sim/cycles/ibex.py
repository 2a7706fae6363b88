"""Cycle model of the lowRISC Ibex core (RV32IMC), default two-stage pipeline.

Sources, all in the lowRISC Ibex documentation (``doc/03_reference/``):

* "Pipeline Details", table "Multi- and Single-Cycle Instructions"
  (``pipeline_details.rst``): the *stall* cycles of each instruction type in
  the ID/EX stage; an instruction that stalls X cycles takes X + 1 cycles;
* "Instruction Decode and Execute", section "Multiplier/Divider Block"
  (``instruction_decode_execute.rst``): the fast multiplier's 3 cycles for
  MUL and 4 for MULH, and the long division's **37 cycles, 2 on a divide by
  zero** (the pipeline table's "1 or 37" stall cycles reads as 38; the RTL
  agrees with the divider section, see below);
* "Load-Store Unit", section "Misaligned Accesses" (``load_store_unit.rst``):
  an access that crosses a word boundary is done as two word-aligned bus
  transactions;
* "Instruction Fetch", section "Misaligned Accesses" (``instruction_fetch.rst``):
  the fetch interface reads aligned words only, so a 32-bit instruction at an
  address ≡ 2 (mod 4) needs two fetches.

=============================  ===================================================
instruction                    as modelled here (cycles)
=============================  ===================================================
integer computational          1
load / store                   2 (single-cycle data memory); 3 when the access
                               crosses a word boundary (``lw``/``sw`` not 4-aligned,
                               ``lh``/``sh`` at 3 mod 4): one more transaction
MUL (fast multiplier)          3
MULH/MULHSU/MULHU (fast)       4
DIV/DIVU/REM/REMU              37; 2 when the divisor is zero
jump (JAL/JALR)                2 (zero-wait instruction memory)
branch not taken               1
branch taken                   3 (no branch-target ALU)
32-bit instruction at 2 mod 4  +1 when reached by a taken branch or jump (or as the
                               first instruction of a run): the second fetch
=============================  ===================================================

Configuration assumed: the documented "small" configuration
(``ibex_configs.yaml``) — two stages (no writeback stage),
``RV32M = RV32MFast`` (the 3-cycle "fast" multiplier), ``BranchTargetALU =
0``, no branch predictor, no instruction cache.  Loads write the register
file in the cycle the data returns, so the 2-stage core has no extra
load-use stall.

Checked against the RTL: these figures reproduce the lowRISC Ibex simple
system's ``mcycle``/``minstret`` deltas in Verilator exactly for every kernel
spec tried (``tests/test_ibex_rtl.py``, ``make test-ibex``); before the
divider, divide-by-zero, misaligned-load and misaligned-fetch rules above the
model followed the pipeline table alone.

Wait states (:class:`sim.cycles.base.WaitStates`): each word the fetch unit
must read costs ``code`` more cycles and each data transaction (two for a
split access) ``data`` more, in full — the prefetch buffer's overlap with
multi-cycle instructions is not modelled, so with code wait states the figure
is an upper bound.

Left out: interrupts, debug, CSR side effects, the instruction cache and
branch predictor of the larger configurations, and PMP.  A misaligned access
is detected from its address (a memory hook), so only the counting of
runs that price the Ibex pays for one.

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
    source = ("lowRISC Ibex documentation: Pipeline Details 'Multi- and Single-Cycle Instructions', "
              "Multiplier/Divider Block (37-cycle divide), Load-Store Unit and Instruction Fetch 'Misaligned "
              "Accesses' (small configuration: 2 stages, fast multiplier, no branch-target ALU); checked against "
              "the Ibex RTL in Verilator")
    omits = ("interrupts, debug, CSR side effects, instruction cache and branch predictor, PMP; wait states are "
             "priced in full (no overlap with the prefetch buffer)")
    needs_memory = True          # a load/store's cost depends on its address's alignment
    supports_wait_states = True

    LOAD_STORE = 2
    MISALIGNED_EXTRA = 1         # one more bus transaction for an access that crosses a word boundary
    MUL = 3
    MULH = 4
    DIV = 37
    DIV_BY_ZERO = 2
    JUMP = 2
    BRANCH_TAKEN = 3
    BRANCH_NOT_TAKEN = 1
    SPLIT_FETCH_EXTRA = 1        # a 32-bit instruction at 2 mod 4 reached by a jump needs a second fetch

    _TABLE = "Ibex Pipeline Details, 'Multi- and Single-Cycle Instructions'"
    published = (
        ("add a0, a0, a1\n", 1, f"{_TABLE}: integer computational, 0 stalls"),
        ("lw a0, 0(zero)\n", 2, f"{_TABLE}: load, 1 stall with single-cycle data memory"),
        ("mul a0, a0, a1\n", 3, f"{_TABLE}: MUL (fast), 2 stalls"),
        ("mulhu a0, a0, a1\n", 4, f"{_TABLE}: MULH* (fast), 3 stalls"),
        ("li a1, 3\ndivu a0, a0, a1\n", 1 + 37, "Ibex Multiplier/Divider Block: long division takes 37 cycles"),
        ("divu a0, a0, a1\n", 2, "Ibex Multiplier/Divider Block: 2 cycles on a divide by 0 (a1 is 0 here)"),
        ("lw a0, 1(zero)\n", 3, "Ibex Load-Store Unit, 'Misaligned Accesses': two word-aligned transactions"),
        ("li a0, 1\nbnez a0, 1f\nnop\n1:\n", 1 + 3, f"{_TABLE}: branch taken, 2 stalls (no branch-target ALU)"),
        ("bnez zero, 1f\nnop\n1:\n", 1 + 1, f"{_TABLE}: branch not taken, 0 stalls"),
        ("jal zero, 1f\nnop\n1:\n", 2, f"{_TABLE}: jump, 1 stall"),
    )

    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        return self._execute_cycles(insn, taken) + (self.SPLIT_FETCH_EXTRA if self._split_fetch(insn, prev) else 0)

    def _execute_cycles(self, insn, taken: bool) -> int:
        m = insn.mnemonic
        if m in LOADS or m in STORES:
            return self.LOAD_STORE
        if m in MUL:
            return self.MUL
        if m in MULH:
            return self.MULH
        if m in DIV:
            return self.DIV_BY_ZERO if _divisor(insn) == "zero" else self.DIV
        if m in JUMPS:
            return self.JUMP
        if m in BRANCHES:
            return self.BRANCH_TAKEN if taken else self.BRANCH_NOT_TAKEN
        return 1

    @staticmethod
    def _split_fetch(insn, prev) -> bool:
        """A 32-bit instruction at 2 mod 4 that the fetch unit starts afresh (after a jump, or first)."""
        arrived_by_jump = prev is None or prev.address + prev.size != insn.address
        return arrived_by_jump and insn.size == 4 and insn.address % 4 == 2

    # --- operand-dependent costs ------------------------------------------------------

    def register_dependent(self, insn) -> tuple[str, ...]:
        if insn.mnemonic in DIV and _divisor(insn) not in (None, "zero"):
            return (_divisor(insn),)
        return ()

    def register_cycles(self, insn, values: dict[str, int]) -> int:
        divisor = _divisor(insn)
        return self.DIV_BY_ZERO - self.DIV if values.get(divisor, 1) == 0 else 0

    def memory_cycles(self, address: int, size: int, write: bool) -> int:
        if address // 4 == (address + size - 1) // 4:
            return 0
        return self.MISALIGNED_EXTRA + self.wait_states.data   # the second transaction, and its wait states

    def data_transfers(self, insn) -> int:
        return 1 if insn.mnemonic in LOADS or insn.mnemonic in STORES else 0


def _divisor(insn) -> str | None:
    """The divisor register (rs2) of a DIV/REM, by name."""
    regs = [insn.reg_name(op.reg) for op in insn.operands if op.type == riscv_const.RISCV_OP_REG]
    return regs[2] if len(regs) == 3 else None


MODELS = {"ibex": IbexModel()}
