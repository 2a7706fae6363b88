"""Cycle model of the SiFive U54 core (RV64IMAC), in-order, single issue.

Source: *SiFive FU540-C000 Manual* v1p0 (2018), chapter 4 "U54 RISC-V
Core" — the U54 application cores as shipped in the FU540 — sections 4.2
"Instruction Fetch Unit", 4.3 "Execution Pipeline" and 4.4 "Data Memory
System".  The figures used:

* five-stage, single-issue, in-order pipeline, peak one instruction per
  cycle, fully bypassed: most instructions have a **1-cycle** result latency;
* loads (data-cache hit): ``LW`` a **2-cycle** result latency, ``LH``,
  ``LHU``, ``LB``, ``LBU`` **3** (4.3); 4.4: "two clock cycles for words and
  doublewords, and three clock cycles for smaller quantities", so ``LD`` and
  ``LWU`` are 2 as well;
* ``MUL``, ``MULH``, ``MULHU``, ``MULHSU``: a **5-cycle** result latency, from
  "a 16-bit per cycle hardware multiply" (4.3).  That multiplier is
  iterative, so the model does not start a multiply or divide until the one
  before it has finished (the E31 manual says so in words: "the multiplier
  can only execute one operation at a time and will block until the previous
  operation completes"; the U54 text gives only the 16-bit-per-cycle
  design).  ``MULW`` is not named: it is priced like ``MUL``;
* ``DIV``, ``DIVU``, ``REM``, ``REMU``: "between a 2-cycle and 65-cycle
  result latency, depending on the operand values" from a 1-bit-per-cycle
  divider: priced at the maximum, 65 (the ``W`` forms, not named, at 33: 32
  quotient bits at one per cycle, plus one); no kernel of this project
  divides;
* branch prediction (4.2): a 30-entry BTB, a 256-entry BHT and a 6-entry
  RAS with one-cycle latency, so "correctly predicted control-flow
  instructions result in no penalty", and "mispredicted control-flow
  instructions incur a **three-cycle** penalty".

Before this model followed the FU540 manual its multiply was 3 cycles and
pipelined (from recollection, never checked): the default kernel's two
multiplies per row were free; at 5 cycles, one at a time, they stall the row
loop (see docs/performance.md for the figures both ways).

What the model assumes about prediction: the predictor is warm and predicts
each conditional branch the way a static backward-taken / forward-not-taken
rule would (loop back-edges taken, forward skips not taken).  A branch that
goes the other way pays the 3-cycle penalty.  ``JAL`` hits the BTB (no
penalty); ``ret`` hits the RAS (no penalty); other ``JALR`` pay 3 cycles.

Interlocks: a scoreboard over each executed block and the instruction
before it.  An instruction issues one cycle after the one before it, and no
earlier than its sources are ready (read-after-write) and than an earlier
write to its destination (write-after-write; 4.3: "the pipeline only
interlocks on read-after-write and write-after-write hazards").  A stall
caused by an instruction two or more blocks back is not seen.

Left out: instruction- and data-cache misses, TLB misses, the fetch bubble
of a taken branch across an I-cache line, the five-cycle penalty of a load
from an address still in the store pipeline (4.4), interrupts, CSR flushes,
and the data-dependent multiply and divide latencies.
"""

from __future__ import annotations

from .base import CycleModel
from .ibex import BRANCHES, DIV, JUMPS, MUL, MULH, riscv_operands

LOAD_LATENCY = {"lw": 2, "ld": 2, "lwu": 2, "c.lw": 2, "c.ld": 2, "c.lwsp": 2, "c.ldsp": 2,
                "lh": 3, "lhu": 3, "lb": 3, "lbu": 3}
MUL_LATENCY = 5          # 4.3: MUL, MULH, MULHU, MULHSU (MULW assumed the same)
DIV_LATENCY = 65         # 4.3: DIV/DIVU/REM/REMU "between 2 and 65", priced at the maximum
DIVW_LATENCY = 33        # assumed: 32 quotient bits at 1 bit per cycle, plus one
MISPREDICT = 3           # 4.2 / 4.3: three-cycle penalty
_DIVW = {"divw", "divuw", "remw", "remuw"}


def _branch_target(insn) -> int | None:
    from capstone import riscv_const
    for op in insn.operands:
        if op.type == riscv_const.RISCV_OP_IMM:
            return insn.address + op.imm
    return None


def _latency(m: str) -> int:
    if m in LOAD_LATENCY:
        return LOAD_LATENCY[m]
    if m in MUL or m in MULH:
        return MUL_LATENCY
    if m in DIV:
        return DIVW_LATENCY if m in _DIVW else DIV_LATENCY
    return 1


class U54Model(CycleModel):
    core = "u54"
    target = "rv64im"
    source = ("SiFive FU540-C000 Manual v1p0, chapter 4 'U54 RISC-V Core': 4.3 'Execution Pipeline' (result "
              "latencies, 16-bit-per-cycle multiplier), 4.2 'Instruction Fetch Unit' (3-cycle mispredict penalty), "
              "4.4 'Data Memory System'")
    omits = ("cache and TLB misses, fetch bubbles, store-pipeline load penalty, interrupts, CSR flushes, "
             "data-dependent multiply/divide latency (priced at 5 and the 65-cycle maximum); prediction "
             "approximated by backward-taken/forward-not-taken on a warm predictor; stalls caused more than one "
             "block back")

    def block_cycles(self, insns, *, taken_last: bool, before) -> int:
        ready: dict[str, int] = {}
        unit_free = 0                  # the iterative multiply/divide unit takes a new operation from here
        seq = list(insns)
        issue = 0
        start = -1
        if before is not None:
            seq = [before] + seq
            start = 0
        for n, insn in enumerate(seq):
            m = insn.mnemonic
            written, read = riscv_operands(insn)
            latency = _latency(m)
            issue = 0 if n == 0 else issue + 1
            issue = max([issue] + [ready.get(r, 0) for r in read]
                        + [ready.get(w, 0) - latency + 1 for w in written])      # RAW, then WAW
            if m in MUL or m in MULH or m in DIV:
                issue = max(issue, unit_free)
                unit_free = issue + latency
            for w in written:
                ready[w] = issue + latency
        penalty = MISPREDICT if insns and self._mispredicted(insns[-1], taken_last) else 0
        return issue - start + penalty

    @staticmethod
    def _mispredicted(insn, taken: bool) -> bool:
        m = insn.mnemonic
        if m in BRANCHES:
            target = _branch_target(insn)
            backward = target is not None and target <= insn.address
            return taken != backward            # predicted taken iff backward
        if m in JUMPS:
            indirect = m in {"jalr", "jr", "c.jr", "c.jalr"}
            return indirect and not _is_ret(insn)   # no RAS prediction for an indirect jump; BTB assumed cold
        return False

    def instruction_cycles(self, insn, *, taken: bool, prev) -> int:
        """One instruction priced on its own after ``prev`` (block_cycles is what the harness uses)."""
        return self.block_cycles([insn], taken_last=taken, before=prev)


def _is_ret(insn) -> bool:
    return insn.mnemonic == "ret" or insn.op_str.replace(" ", "") in {"ra", "zero,0(ra)", "zero,ra,0"}


MODELS = {"u54": U54Model()}
